"""`incubot import-payments FILE.csv` as a manager runs it with what CHORUS paid: matched, already recorded,
unknown — and a faulty file refused whole, nothing recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage import ledger
from storage.db import make_engine, session_factory, unit_of_work
from tests.test_cli import EXAMPLE, database, dump, empty_database, incubot  # noqa: F401 - the fixture, and the CLI in this process

JUNE = datetime(2022, 6, 1, 9, 0, tzinfo=UTC)
MANAGER, INTRAPRENEUR, STARTUP = "camille.martin", "claire.petit", "archives-ouvertes"
EJ_A, EJ_B = "2100123456", "2100654321"


def order(url: str, *, amount: int, ej: str | None, services_done: list[int], certified: int | None = None
          ) -> list[str]:
    """A quote of `amount` cents validated in June 2022, ordered with `ej`, and its services done (the first
    `certified` of them certified); their references."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    references = []
    with unit_of_work(sessions) as session:
        quote = ledger.create_quote(session=session, startup_id=STARTUP, submitted_by=INTRAPRENEUR,
                                    amount_cents=amount, amount_ht_cents=None, supplier="Scopyleft",
                                    object="Sprints", platform="console", now=JUNE, year=2022)
        ledger.validate_quote(session=session, reference=quote.reference, actor_id=INTRAPRENEUR,
                              platform="console", now=JUNE, year=2022)
        if ej:
            ledger.place_order(session=session, reference=quote.reference, ej=ej, bc=None, actor_id=MANAGER,
                               platform="console", now=JUNE, year=2022)
        for index, cents in enumerate(services_done):
            row, _ = ledger.create_service_done(session=session, quote_reference=quote.reference,
                                                submitted_by=INTRAPRENEUR, amount_cents=cents, period="juin",
                                                platform="console", now=JUNE, year=2022)
            if certified is None or index < certified:
                ledger.certify_service_done(session=session, reference=row.reference, actor_id=INTRAPRENEUR,
                                            platform="console", now=JUNE, year=2022)
            references.append(row.reference)
    engine.dispose()
    return references


def example_orders(database: str, capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:  # noqa: F811
    """The example convention with two orders in 2022: EJ_A with three services done certified (10 000 €,
    2 500 € and 2 500 €), EJ_B with one of 7 000 € certified and one of 1 000 € still pending."""
    assert incubot(capsys, "import", str(EXAMPLE))[0] == 0
    return {"a": order(database, amount=50_000_00, ej=EJ_A, services_done=[10_000_00, 2_500_00, 2_500_00]),
            "b": order(database, amount=20_000_00, ej=EJ_B, services_done=[7_000_00, 1_000_00], certified=1)}


@pytest.fixture
def world(database: str, capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:  # noqa: F811
    """:func:`example_orders`: the services done of each order, by order."""
    return example_orders(database, capsys)


def payments_file(tmp_path: Path, *lines: str, name: str = "paiements.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + ("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def paid(url: str) -> dict[str, tuple[str, int, str | None]]:
    """Each service done: (status, amount in cents, paid_on)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT reference, status, amount_cents, paid_on FROM service_done")).all()
    engine.dispose()
    return {r.reference: (r.status, r.amount_cents, str(r.paid_on) if r.paid_on else None) for r in rows}


def budget_2022(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, str]]:
    code, out, _ = incubot(capsys, "budget", "--year", "2022", "--json")
    assert code == 0
    return json.loads(out)


def test_a_chorus_file_is_matched_recorded_and_summarised(database: str, world: dict[str, list[str]],  # noqa: F811
                                                          capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A file saved by a French spreadsheet (BOM, CRLF, French decimals, JJ/MM/AAAA) pays an SF by its reference
    and another by its order's EJ (the oldest of that amount), reports an unknown EJ, and the CP move."""
    sf_a1, sf_a2, sf_a3 = world["a"]
    file = payments_file(tmp_path, "reference;amount;paid_on", f"{sf_a1};10 000,00;30/06/2022",
                         f"{EJ_A};2500.00;2022-07-15", "9999999999;12,50;2022-07-15", bom=True)
    code, out, err = incubot(capsys, "import-payments", str(file), "--as", MANAGER)
    assert code == 0, err
    assert "Rapprochés et enregistrés : 2 paiements" in out
    assert f"ligne 2 — {sf_a1} : 10 000,00 € payé le 30 juin 2022" in out
    assert f"ligne 3 — {sf_a2} (EJ {EJ_A}) : 2 500,00 € payé le 15 juillet 2022" in out
    assert "Déjà enregistrés : 0 paiement" in out or "Déjà enregistré : 0 paiement" in out
    assert "Inconnu : 1 paiement" in out and "ligne 4 — 9999999999 : 12,50 € — aucune commande" in out
    assert paid(database)[sf_a1] == ("paid", 10_000_00, "2022-06-30")
    assert paid(database)[sf_a2] == ("paid", 2_500_00, "2022-07-15")
    assert paid(database)[sf_a3][0] == "certified"
    assert budget_2022(capsys)["cp"]["consumed"] == "12500.00"


def test_the_same_file_twice_records_nothing_new(database: str, world: dict[str, list[str]],  # noqa: F811
                                                 capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Run twice, the file says « already recorded » for each line the second time and changes nothing — two
    instalments of the same amount on one EJ paid the same day included."""
    sf_a1, sf_a2, sf_a3 = world["a"]
    file = payments_file(tmp_path, "reference;amount;paid_on", f"{sf_a1};10000;2022-06-30",
                         f"{EJ_A};2 500;2022-07-15", f"{EJ_A};2 500;2022-07-15")
    assert incubot(capsys, "import-payments", str(file))[0] == 0
    assert {paid(database)[r][0] for r in (sf_a1, sf_a2, sf_a3)} == {"paid"}
    before = dump(database)
    code, out, _ = incubot(capsys, "import-payments", str(file))
    assert code == 0
    assert "Rapprochés et enregistrés : 0 paiement" in out or "Rapproché et enregistré : 0 paiement" in out
    assert "Déjà enregistrés : 3 paiements" in out and "déjà enregistré (payé le 15 juillet 2022)" in out
    assert "Rien de nouveau : ce fichier est déjà enregistré." in out
    assert dump(database) == before


def test_a_dry_run_matches_and_records_nothing(database: str, world: dict[str, list[str]],  # noqa: F811
                                               capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`--dry-run` prints what would be recorded and leaves the database as it was."""
    before = dump(database)
    file = payments_file(tmp_path, "reference;amount;paid_on", f"{world['a'][0]};10000;2022-06-30")
    code, out, _ = incubot(capsys, "import-payments", str(file), "--dry-run")
    assert code == 0 and "rien n'a été enregistré (--dry-run)" in out and "À enregistrer : 1 paiement" in out
    assert dump(database) == before


REFUSED = {
    "a bad date": ("{sf};10000;2022-02-30", "ligne 3 : « 2022-02-30 » n'est pas une date"),
    "a bad amount": ("{sf};dix mille;2022-06-30", "ligne 3 : « dix mille » n'est pas un montant"),
    "a date in the future": ("{sf};10000;2099-01-01", "ligne 3 : la date de paiement 1er janvier 2099 est dans "
                                                         "le futur"),
    "an amount that differs from the service done": (
        "{sf};9999,99;2022-06-30", "ligne 3 : {sf} est de 10 000,00 €, le fichier dit 9 999,99 €"),
    "an EJ whose amount matches nothing waiting": (
        f"{EJ_B};1000;2022-06-30", "ligne 3 : la commande D-2022-0002 (EJ 2100654321) n'a aucun service fait certifié "
                                   "de 1 000,00 € à payer ; à payer : SF-2022-0004 (7 000,00 €)"),
    "a service done not certified yet": ("SF-2022-0005;1000;2022-06-30",
                                         "ligne 3 : SF-2022-0005 n'est pas encore certifié"),
}


@pytest.mark.parametrize(("line", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_a_faulty_line_refuses_the_whole_file(database: str, world: dict[str, list[str]],  # noqa: F811
                                              capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              line: str, reason: str) -> None:
    """One faulty line after a good one: the file is refused with the line and its reason, the good line is not
    recorded either, nothing in the database changed."""
    sf = world["a"][0]
    before = dump(database)
    file = payments_file(tmp_path, "reference;amount;paid_on", f"{EJ_A};2500;2022-06-30", line.format(sf=sf))
    code, out, err = incubot(capsys, "import-payments", str(file))
    assert code == 2 and out == ""
    assert f"{file} refusé, aucun paiement n'a été enregistré :" in err
    assert reason.format(sf=sf) in err, err
    assert "ligne 2" not in err and "Traceback" not in err
    assert dump(database) == before


def test_an_unknown_column_refuses_the_file_at_its_header(database: str, world: dict[str, list[str]],  # noqa: F811
                                                          capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A column the file format does not have is named on line 1; nothing recorded."""
    before = dump(database)
    file = payments_file(tmp_path, "reference;amount;paid_on;montant_ht", f"{world['a'][0]};10000;2022-06-30;1")
    code, _, err = incubot(capsys, "import-payments", str(file))
    assert code == 2 and "ligne 1 : colonne inconnue « montant_ht » (les colonnes sont reference;amount;paid_on)" in err
    assert dump(database) == before


def test_a_payment_above_the_years_cp_refuses_the_whole_file(database: str, world: dict[str, list[str]],  # noqa: F811
                                                             capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    """When 2022's CP are lowered to 12 000 €, a file paying 10 000 € then 7 000 € in 2022 is refused at the second
    line with the year's CP, and the first payment is not recorded either."""
    lowered = tmp_path / "lowered.toml"
    lowered.write_text(EXAMPLE.read_text(encoding="utf-8").replace('cp = "1700000"', 'cp = "12000"'), encoding="utf-8")
    assert incubot(capsys, "import", str(lowered))[0] == 0
    before = dump(database)
    file = payments_file(tmp_path, "reference;amount;paid_on", f"{world['a'][0]};10000;2022-06-30",
                         f"{EJ_B};7000;2022-06-30")
    code, out, err = incubot(capsys, "import-payments", str(file))
    assert code == 2 and out == ""
    assert ("ligne 3 : SF-2022-0004 — les CP 2022 ne peuvent pas payer 7 000,00 € : il en reste 2 000,00 €"
            in err), err
    assert "ligne 2" not in err
    assert dump(database) == before
    assert budget_2022(capsys)["cp"]["consumed"] == "0.00"


def test_a_missing_file_and_a_non_manager_are_one_sentence(database: str, world: dict[str, list[str]],  # noqa: F811
                                                           capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    """A file that does not exist, or `--as` someone who is not a manager, is one French sentence, exit code 2."""
    code, _, err = incubot(capsys, "import-payments", "nulle-part.csv")
    assert code == 2 and "impossible de lire nulle-part.csv" in err
    file = payments_file(tmp_path, "reference;amount;paid_on", f"{world['a'][0]};10000;2022-06-30")
    code, _, err = incubot(capsys, "import-payments", str(file), "--as", INTRAPRENEUR)
    assert code == 2 and "Claire Petit n'est pas gestionnaire" in err
    assert paid(database)[world["a"][0]][0] == "certified"


def test_payments_are_exported_with_their_order(database: str, world: dict[str, list[str]],  # noqa: F811
                                                capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """What was imported is what `incubot export --what payments` lists, with the EJ, the date and who recorded it;
    the quotes' export carries the EJ and what is left to pay."""
    file = payments_file(tmp_path, "reference;amount;paid_on", f"{EJ_A};10000;2022-06-30")
    assert incubot(capsys, "import-payments", str(file), "--as", MANAGER)[0] == 0
    code, out, _ = incubot(capsys, "export", "--what", "payments", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["reference"], r["ej"], r["amount"], r["paid_on"], r["payment_year"], r["recorded_by"]) for r in rows] \
        == [(world["a"][0], EJ_A, "10000.00", "2022-06-30", 2022, "Camille Martin")]
    code, out, _ = incubot(capsys, "export", "--format", "json")
    quotes = {q["ej"]: q for q in json.loads(out)}
    assert quotes[EJ_A]["paid"] == "10000.00" and quotes[EJ_A]["restes_a_payer"] == "40000.00"
    assert quotes[EJ_B]["restes_a_payer"] == "20000.00" and quotes[EJ_B]["status"] == "ordered"
