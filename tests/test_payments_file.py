"""The payments file as managers save it from CHORUS or a spreadsheet: read line by line, every fault named."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.i18n import Translator
from handlers.markup import plain
from handlers.payments_file import PaymentLine, PaymentsFileError, parse_payments

T = Translator()
TODAY = date(2026, 12, 3)


def read(text: str, *, bom: bool = False, encoding: str = "utf-8") -> list[PaymentLine]:
    return parse_payments(("\ufeff" if bom else "").encode(encoding) + text.encode(encoding), T, today=TODAY)


def faults(text: str, encoding: str = "utf-8") -> list[tuple[int, str]]:
    with pytest.raises(PaymentsFileError) as refused:
        read(text, encoding=encoding)
    return [(e.line, plain(e.reason)) for e in refused.value.errors]


def test_a_spreadsheets_file_with_bom_french_decimals_and_french_dates_is_read() -> None:
    """A file saved as « CSV UTF-8 » by a French spreadsheet (BOM, CRLF, 1 250,50, 30/11/2026) reads as typed."""
    lines = read("reference;amount;paid_on\r\nSF-2026-0001;1 250,50;30/11/2026\r\n\r\n"
                 "1300012345;24000.00;2026-11-02\r\n", bom=True)
    assert lines == [PaymentLine(2, "SF-2026-0001", 125050, date(2026, 11, 30)),
                     PaymentLine(4, "1300012345", 2400000, date(2026, 11, 2))]
    assert lines[0].is_service_done and not lines[1].is_service_done


def test_columns_may_come_in_any_order_and_case() -> None:
    """`Paid_On;Reference;Amount` is the same file."""
    assert read("Paid_On;Reference;Amount\n2026-11-30;sf-2026-0007;12500\n") == [
        PaymentLine(2, "SF-2026-0007", 1250000, date(2026, 11, 30))]


def test_every_faulty_line_is_named_with_its_reason() -> None:
    """A bad date, a bad amount, an ambiguous amount, an HT amount, a future date, a missing reference, a wrong
    number of cells and a service done paid twice: each line is named, nothing is kept."""
    text = ("reference;amount;paid_on\n"
            "SF-2026-0001;1250;2026-13-01\n"
            "SF-2026-0002;douze;2026-11-30\n"
            "SF-2026-0003;12,500;2026-11-30\n"
            "SF-2026-0004;1000 HT;2026-11-30\n"
            "SF-2026-0005;1000;2026-12-04\n"
            ";1000;2026-11-30\n"
            "SF-2026-0006;1000\n"
            "SF-2026-0007;1000;2026-11-30\n"
            "SF-2026-0007;1000;2026-11-30\n")
    found = dict(faults(text))
    assert sorted(found) == [2, 3, 4, 5, 6, 7, 8, 10]
    assert "« 2026-13-01 » n'est pas une date" in found[2]
    assert "« douze » n'est pas un montant" in found[3]
    assert "peut se lire de deux façons" in found[4]
    assert "TTC" in found[5]
    assert "dans le futur" in found[6]
    assert "il manque la référence" in found[7]
    assert "2 colonnes au lieu de 3" in found[8]
    assert "SF-2026-0007 figure déjà ligne 9" in found[10]


@pytest.mark.parametrize(("header", "reason"), [
    ("reference;amount;paid_on;comment", "colonne inconnue « comment »"),
    ("reference;amount", "il manque la colonne paid_on"),
    ("reference,amount,paid_on", "les colonnes se séparent par « ; »"),
    ("reference;amount;amount", "la colonne « amount » apparaît deux fois"),
])
def test_a_wrong_header_refuses_the_file_at_line_1(header: str, reason: str) -> None:
    """An unknown, missing or repeated column, or commas for separators, is named on line 1."""
    found = faults(header + "\nSF-2026-0001;1000;2026-11-30\n")
    assert len(found) == 1 and found[0][0] == 1 and reason in found[0][1]


def test_an_empty_file_and_a_latin1_file_are_refused() -> None:
    """An empty file asks for the header; a file saved in Latin-1 is named at the line of its first accent."""
    assert "le fichier est vide" in faults("")[0][1]
    assert faults("reference;amount;paid_on\nSF-2026-0001;1000;2026-11-30\nÉJ;1;2026-11-30\n", "latin-1") == [
        (3, "le fichier n'est pas en UTF-8 (enregistrez-le en « CSV UTF-8 »)")]


def test_the_same_ej_twice_is_two_instalments() -> None:
    """Two lines for one EJ number (two instalments of one order) are both kept, its digits however spaced."""
    lines = read("reference;amount;paid_on\n1300012345;1000;2026-11-30\n13 0001 2345;1000;2026-11-30\n")
    assert [line.reference for line in lines] == ["1300012345", "1300012345"]


def test_an_ej_number_is_ten_digits() -> None:
    """A reference that is neither SF-… nor ten digits is named as such."""
    assert faults("reference;amount;paid_on\nEJ-42;1000;2026-11-30\n") == [
        (2, "« EJ-42 » n'est ni une référence de service fait (SF-2026-0001) ni un numéro d'EJ (dix chiffres)")]
