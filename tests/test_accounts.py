"""Platform accounts and channels as rows: migration 0007 carries today's ids up and down on SQLite and
PostgreSQL, the reference file's platform keys (``slack_id``, ``matrix_id``, ``channel = {matrix=…}``) land in
them, and a malformed id is refused with its key, its line and why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from handlers.importer import ImportFileError, parse_reference
from storage import reference
from storage.db import alembic_config, make_engine, session_factory, unit_of_work, upgrade
from tests.conftest import NOW, throwaway_pg_database

EXAMPLE = (Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml").read_text(encoding="utf-8")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A brand-new empty database, SQLite then PostgreSQL, for migrating by hand."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    with throwaway_pg_database("incubot_0007") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def rows(engine: Engine, query: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.text(query)).all())


def seed_0006(engine: Engine) -> None:
    """What a database before 0007 holds: ids in columns (one person on both platforms, one on Slack only,
    one with an empty id), channels in columns, and a quote that references people and a startup."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO convention (reference, title, delegant, delegataire, operational_unit, starts, ends, "
            "notice_months, managers_channel_slack, managers_channel_mattermost, chorus_axe_ministeriel, "
            "chorus_domaine_fonctionnel, chorus_centre_financier, chorus_activite, chorus_centre_de_cout) "
            "VALUES ('MC-1', 'Convention', 'Culture', 'DINUM', 'U', '2024-11-01', '2026-12-31', 3, 'C0PILOTAGE', "
            "NULL, '', '', '', '', '')"))
        for pid, slack, mattermost in (("lea.dupont", "U01LEA", "leadupontxxxxxxxxxxxxxxxxx"),
                                       ("julien.moreau", "U01JULIEN", None), ("marie.noel", "", None)):
            conn.execute(sa.text("INSERT INTO person (id, name, slack_id, mattermost_id, is_manager, is_admin, "
                                 "active) VALUES (:id, :id, :s, :m, false, false, true)"),
                         {"id": pid, "s": slack, "m": mattermost})
        conn.execute(sa.text("INSERT INTO startup (id, name, phase, channel_slack, channel_mattermost, active) "
                             "VALUES ('dedale', 'Dédale', 'construction', 'C0DEDALE', 'dedale-channel', true)"))
        conn.execute(sa.text("INSERT INTO membership (startup_id, person_id, role) "
                             "VALUES ('dedale', 'julien.moreau', 'intrapreneur')"))
        conn.execute(sa.text(
            "INSERT INTO quote (reference, year, seq, startup_id, submitted_by, platform, amount_cents, supplier, "
            "object, status, created_at, certified_cents) VALUES ('D-2026-0001', 2026, 1, 'dedale', 'lea.dupont', "
            "'slack', 100, 'Arawa', 'Audit', 'pending', '2026-11-05 09:00:00', 0)"))


ACCOUNTS_AFTER = [("mattermost", "leadupontxxxxxxxxxxxxxxxxx", "lea.dupont"), ("slack", "U01JULIEN", "julien.moreau"),
                  ("slack", "U01LEA", "lea.dupont")]
CHANNELS_AFTER = [("mattermost", "dedale-channel", "dedale", None), ("slack", "C0DEDALE", "dedale", None),
                  ("slack", "C0PILOTAGE", None, 1)]


def test_migration_0007_moves_ids_to_rows_and_back(empty_engine: Engine) -> None:
    """Up: every Slack/Mattermost id and channel becomes a row (empty ids are nobody), people are found by them and
    quotes still point at their people; down: the columns hold them again (a Matrix account, which has no column,
    is dropped) and stay unique; up again: the same rows."""
    from alembic import command

    engine = empty_engine
    upgrade(engine, "0006")
    seed_0006(engine)
    upgrade(engine, "0007")
    assert rows(engine, "SELECT platform, external_id, person_id FROM platform_account") == ACCOUNTS_AFTER
    assert rows(engine, "SELECT platform, external_id, startup_id, convention_id FROM channel") == CHANNELS_AFTER
    for table, gone in (("person", "slack_id"), ("startup", "channel_slack"), ("convention", "managers_channel_slack")):
        assert gone not in {c["name"] for c in sa.inspect(engine).get_columns(table)}
    assert rows(engine, "SELECT reference, submitted_by FROM quote") == [("D-2026-0001", "lea.dupont")]

    upgrade(engine)  # the models are the head's: the later migrations add columns they read
    sessions = session_factory(engine)
    with unit_of_work(sessions) as session:
        found = reference.find_actor(session=session, platform="slack", user_id="U01JULIEN")
        assert found is not None and found[0].id == "julien.moreau" and found[1] == {"dedale": {"intrapreneur"}}
        assert reference.find_actor(session=session, platform="mattermost", user_id="U01JULIEN") is None
        assert reference.person_address(session=session, platform="mattermost", person_id="lea.dupont") == \
            "leadupontxxxxxxxxxxxxxxxxx"
        assert reference.channel_address(session=session, platform="slack", startup_id=None) == "C0PILOTAGE"
        assert reference.channel_address(session=session, platform="mattermost", startup_id="dedale") == \
            "dedale-channel"
        reference.set_account(session=session, person_id="julien.moreau", platform="matrix",
                              external_id="@julien.moreau:localhost")
    with pytest.raises(IntegrityError), engine.begin() as conn:  # foreign keys are enforced again after the copy
        conn.execute(sa.text("INSERT INTO platform_account (platform, external_id, person_id) "
                             "VALUES ('slack', 'U0GHOST', 'nobody')"))

    command.downgrade(alembic_config(engine), "0006")
    assert not {"platform_account", "channel"} & set(sa.inspect(engine).get_table_names())
    assert rows(engine, "SELECT id, slack_id, mattermost_id FROM person") == [
        ("julien.moreau", "U01JULIEN", None), ("lea.dupont", "U01LEA", "leadupontxxxxxxxxxxxxxxxxx"),
        ("marie.noel", None, None)]
    assert rows(engine, "SELECT id, channel_slack, channel_mattermost FROM startup") == [
        ("dedale", "C0DEDALE", "dedale-channel")]
    assert rows(engine, "SELECT managers_channel_slack, managers_channel_mattermost FROM convention") == [
        ("C0PILOTAGE", None)]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("UPDATE person SET slack_id = 'U01LEA' WHERE id = 'marie.noel'"))

    upgrade(engine)
    assert rows(engine, "SELECT platform, external_id, person_id FROM platform_account") == ACCOUNTS_AFTER
    assert rows(engine, "SELECT platform, external_id, startup_id, convention_id FROM channel") == CHANNELS_AFTER


def test_the_migrated_schema_is_the_models_schema(empty_engine: Engine) -> None:
    """After every migration the tables, columns and constraints of accounts and channels are what the models say."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    touched = [d for d in diff if any(name in repr(d) for name in ("platform_account", "'channel'", "slack_id",
                                                                        "channel_slack", "managers_channel"))]
    assert touched == []


def test_the_reference_file_gives_matrix_ids_and_rooms(engine: Engine) -> None:
    """`matrix_id = "@…:server"` and `channel = { matrix = "!…:server" }` are imported like the Slack keys: the
    bot then knows Claire by her Matrix id and the courier finds the Matrix rooms; a re-import changes nothing."""
    sessions = session_factory(engine)
    data = parse_reference(EXAMPLE)
    with unit_of_work(sessions) as session:
        reference.import_reference(session=session, data=data)
    with unit_of_work(sessions) as session:
        found = reference.find_actor(session=session, platform="matrix",
                                     user_id="@claire.petit-culture.gouv.fr:agent.tchap.example.org")
        assert found is not None and found[0].id == "claire.petit"
        assert reference.accounts_of(session=session, person_id="claire.petit") == {
            "slack": "U01CLAIRE", "matrix": "@claire.petit-culture.gouv.fr:agent.tchap.example.org"}
        assert reference.channel_address(session=session, platform="matrix", startup_id=None) == \
            "!pilotage:agent.tchap.example.org"
        assert reference.channel_address(session=session, platform="matrix", startup_id="archives-ouvertes") == \
            "!archives:agent.tchap.example.org"
        again = reference.import_reference(session=session, data=parse_reference(EXAMPLE))
    assert not again.changed, (again.created, again.updated)


def test_changing_a_platform_id_in_the_file_updates_the_person_and_the_channel(engine: Engine) -> None:
    """A new Matrix id for Léa, a Slack id moved from Claire to Léa, a startup's room removed: one import does it,
    counted as one person and one startup updated, and the old ids find nobody."""
    sessions = session_factory(engine)
    with unit_of_work(sessions) as session:
        reference.import_reference(session=session, data=parse_reference(EXAMPLE))
    changed = (EXAMPLE.replace('slack_id = "U01CLAIRE"\n', "")
               .replace('slack_id = "U01LEA"', 'slack_id = "U01CLAIRE"\nmatrix_id = "@lea:localhost"')
               .replace(', matrix = "!archives:agent.tchap.example.org" }', " }"))
    with unit_of_work(sessions) as session:
        report = reference.import_reference(session=session, data=parse_reference(changed))
        assert report.updated == {"person": 2, "startup": 1}
        assert reference.accounts_of(session=session, person_id="lea.dupont") == {"slack": "U01CLAIRE",
                                                                                  "matrix": "@lea:localhost"}
        assert reference.find_actor(session=session, platform="slack", user_id="U01LEA") is None
        assert reference.channel_address(session=session, platform="matrix", startup_id="archives-ouvertes") is None


MALFORMED = {
    "matrix id without server": ('slack_id = "U01LEA"', 'matrix_id = "@lea.dupont"', "person[3].matrix_id",
                                 "n'est pas un identifiant d'utilisateur Matrix"),
    "matrix id without @": ('slack_id = "U01LEA"', 'matrix_id = "lea.dupont:agent.tchap.example.org"',
                            "person[3].matrix_id", "(il s'écrit comme « @"),
    "slack id in lower case": ('slack_id = "U01LEA"', 'slack_id = "u01lea"', "person[3].slack_id",
                               "n'est pas un identifiant d'utilisateur Slack"),
    "room id as a room alias": ('matrix = "!archives:agent.tchap.example.org"', 'matrix = "#archives:example.org"',
                                "startup[1].channel.matrix", "n'est pas un salon Matrix"),
    "managers room without server": ('matrix = "!pilotage:agent.tchap.example.org"', 'matrix = "!pilotage"',
                                     "convention.managers_channel.matrix", "n'est pas un salon Matrix"),
    "unknown platform key": ('slack_id = "U01LEA"', 'teams_id = "T1"', "person[3].teams_id",
                             "plateforme inconnue : teams (connues : slack, mattermost, matrix)"),
    "matrix id twice": ('slack_id = "U01LEA"', 'matrix_id = "@claire.petit-culture.gouv.fr:agent.tchap.example.org"',
                        "person.matrix_id", "est donné à claire.petit et à lea.dupont"),
    "id too long": ('slack_id = "U01LEA"', f'matrix_id = "@{"l" * 250}:example.org"', "person[3].matrix_id",
                    "255 caractères au plus"),
}


@pytest.mark.parametrize(("old", "new", "key", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_platform_id_is_refused_with_its_key_line_and_reason(old: str, new: str, key: str,
                                                                         reason: str) -> None:
    """Each platform says what its ids look like; an id that does not look like one is refused, naming where
    (key and line of the file: the line that was changed) and why, before anything is written."""
    assert old in EXAMPLE
    line = next(number for number, text in enumerate(EXAMPLE.splitlines(), 1) if old in text)
    with pytest.raises(ImportFileError) as refused:
        parse_reference(EXAMPLE.replace(old, new))
    assert refused.value.key == key
    assert reason in refused.value.reason
    assert refused.value.line == line and refused.value.reason.endswith(f"(ligne {line})")
    assert new in EXAMPLE.replace(old, new).splitlines()[line - 1]


def test_matrix_room_ids_of_room_version_12_have_no_server() -> None:
    """From room version 12 a room id is `!` and 43 characters, with no server: it is accepted as is."""
    room = "!" + "A1b2_C3d-" * 4 + "abcdefg"
    data = parse_reference(EXAMPLE.replace('matrix = "!archives:agent.tchap.example.org"', f'matrix = "{room}"'))
    assert data.channels["archives-ouvertes"]["matrix"] == room


def test_the_demo_world_is_on_matrix_too() -> None:
    """The demo data gives everyone a Matrix id and every startup and the managers a Matrix room."""
    from bot.demo import demo_reference_text

    data = parse_reference(demo_reference_text(NOW.year))
    assert all(data.accounts[p.id]["matrix"].startswith(f"@{p.id}-") for p in data.people)
    assert set(data.channels) == {s.id for s, _i, _c in data.startups}
    assert data.managers_channels["matrix"].startswith("!")
