"""The payments file of ``incubot import-payments``, read and checked line by line; nothing stored here.

The file is what a manager saves from CHORUS or a spreadsheet: columns ``reference;amount;paid_on``
(in any order, names case-insensitive), ``;`` separator, UTF-8 with or without BOM, one payment
a line. ``reference`` is a service done (``SF-2026-0001``) or the order's EJ number;
``amount`` is read by the project's one amount parser (:func:`handlers.money.parse_amount`:
``1250``, ``1 250,50``, ``1250.50``; a payment is TTC, so ``HT`` is refused); ``paid_on`` is
``AAAA-MM-JJ`` or ``JJ/MM/AAAA`` (a French spreadsheet's date), never in the future.

Every line is checked before anything is looked up: a faulty file is refused whole, with every
faulty line's number and reason (:class:`PaymentsFileError`). Blank lines are skipped; the same
service done twice in one file is a fault (an SF is paid once), the same EJ twice is not (two
instalments of one order).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime

from handlers.errors import CommandError
from handlers.i18n import Translator
from handlers.markup import user
from handlers.money import parse_amount

COLUMNS = ("reference", "amount", "paid_on")
MAX_BYTES = 10 * 1024 * 1024  # a year of payments is a few hundred lines; 10 MiB is far above it
_SERVICE_DONE = re.compile(r"SF-[0-9]{4}-[0-9]{1,9}", re.IGNORECASE)
# An EJ (engagement juridique) number as CHORUS gives it: letters, digits, dashes, no spaces.
_EJ = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,39}")
_FRENCH_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


@dataclass(frozen=True)
class PaymentLine:
    line: int  # the line of the file, counting the header as line 1
    reference: str  # ``SF-…`` upper-cased, or an EJ number as typed
    amount_cents: int
    paid_on: date

    @property
    def is_service_done(self) -> bool:
        return self.reference.startswith("SF-")


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str  # a sentence for the operator, translated, in the neutral markup (handlers.markup)


class PaymentsFileError(Exception):
    """The file is refused whole: every faulty line with its reason."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(errors)
        self.errors = errors


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(data: bytes, t: Translator) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PaymentsFileError([LineError(_line_of_offset(data, exc.start), t(
            "le fichier n'est pas en UTF-8 (enregistrez-le en « CSV UTF-8 »)"))]) from None


def _header(cells: list[str], t: Translator) -> dict[str, int] | LineError:
    names = [cell.strip().lower() for cell in cells]
    expected = ";".join(COLUMNS)
    if len(names) == 1 and ("," in names[0] or "\t" in names[0]):
        return LineError(1, t("les colonnes se séparent par « ; » : la première ligne doit être {expected}",
                              expected=expected))
    for name in names:
        if name not in COLUMNS:
            return LineError(1, t("colonne inconnue « {name} » (les colonnes sont {expected})",
                                  name=user(name), expected=expected))
        if names.count(name) > 1:
            return LineError(1, t("la colonne « {name} » apparaît deux fois", name=name))
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        return LineError(1, t.plural("il manque la colonne {names} (les colonnes sont {expected})",
                                     "il manque les colonnes {names} (les colonnes sont {expected})",
                                     len(missing), names=", ".join(missing), expected=expected))
    return {name: names.index(name) for name in COLUMNS}


def parse_paid_on(text: str, t: Translator, *, today: date) -> date:
    """``AAAA-MM-JJ`` or ``JJ/MM/AAAA``, not after ``today``; :class:`CommandError` otherwise."""
    raw = text.strip()
    found = _FRENCH_DATE.fullmatch(raw)
    try:
        if found:
            day, month, year = map(int, found.groups())
            value = date(year, month, day)
        elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            value = datetime.strptime(raw, "%Y-%m-%d").date()
        else:
            raise ValueError(raw)
    except ValueError:
        if not raw:
            raise CommandError(t("il manque la date de paiement")) from None
        raise CommandError(t("« {text} » n'est pas une date (AAAA-MM-JJ ou JJ/MM/AAAA, par exemple 2026-11-30)",
                             text=user(raw))) from None
    if value > today:
        raise CommandError(t("la date de paiement {day} est dans le futur", day=t.date(value)))
    return value


def _reference(text: str, t: Translator) -> str:
    raw = text.strip()
    if not raw:
        raise CommandError(t("il manque la référence (SF-2026-0001 ou un numéro d'EJ)"))
    if raw.upper().startswith("SF-"):
        if not _SERVICE_DONE.fullmatch(raw):
            raise CommandError(t("« {text} » n'est pas une référence de service fait (SF-2026-0001)", text=user(raw)))
        return raw.upper()
    if not _EJ.fullmatch(raw):
        raise CommandError(t("« {text} » n'est ni une référence de service fait (SF-2026-0001) ni un numéro d'EJ",
                             text=user(raw)))
    return raw


def _amount(text: str, t: Translator) -> int:
    amount = parse_amount(text, t)
    if amount.tax_free:
        raise CommandError(t("un paiement se donne TTC, sans « HT » ({text})", text=user(text.strip())))
    return amount.cents


def parse_payments(data: bytes, t: Translator, *, today: date) -> list[PaymentLine]:
    """Every payment of the file, in order; :class:`PaymentsFileError` with each faulty line otherwise."""
    if len(data) > MAX_BYTES:
        raise PaymentsFileError([LineError(1, t("le fichier dépasse {size} Mo", size=MAX_BYTES // (1024 * 1024)))])
    text = _decode(data, t)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    errors: list[LineError] = []
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise PaymentsFileError([LineError(1, t("le fichier est vide : la première ligne doit être {expected}",
                                                    expected=";".join(COLUMNS)))])
        columns = _header(header, t)
        if isinstance(columns, LineError):
            raise PaymentsFileError([LineError(reader.line_num, columns.reason)])
        lines: list[PaymentLine] = []
        first_line: dict[str, int] = {}
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(COLUMNS):
                errors.append(LineError(number, t.plural("{n} colonne au lieu de 3 (séparateur « ; »)",
                                                         "{n} colonnes au lieu de 3 (séparateur « ; »)", len(cells))))
                continue
            try:
                reference = _reference(cells[columns["reference"]], t)
                amount = _amount(cells[columns["amount"]], t)
                paid_on = parse_paid_on(cells[columns["paid_on"]], t, today=today)
            except CommandError as exc:
                errors.append(LineError(number, exc.message))
                continue
            if reference.startswith("SF-") and reference in first_line:
                errors.append(LineError(number, t("{reference} figure déjà ligne {line} : un service fait se paie "
                                                  "une fois", reference=reference, line=first_line[reference])))
                continue
            first_line.setdefault(reference, number)
            lines.append(PaymentLine(number, reference, amount, paid_on))
    except csv.Error as exc:
        errors.append(LineError(reader.line_num, t("ligne illisible ({reason})", reason=str(exc))))
    if errors:
        raise PaymentsFileError(errors)
    return lines
