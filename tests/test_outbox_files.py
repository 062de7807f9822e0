"""Files in the outbox: their bytes beside the payload (migration 0013), so a payload stays small and a courier
started after a restart sends the same bytes; a document is made once for every platform and every try."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from handlers import attachments
from handlers.types import Attachment, Reply
from storage import outbox
from storage.db import alembic_config, session_factory, unit_of_work, upgrade
from storage.models import OutboxMessage
from tests.chat import RecordingSender, runtime_of
from tests.conftest import NOW
from tests.test_accounts import empty_engine, rows  # noqa: F401 - the fixture

PDF = b"%PDF-1.7 " + bytes(range(256)) * 200  # 51 KB, not text


def payload_of(engine: Engine, kind: str) -> str:
    with unit_of_work(session_factory(engine)) as session:
        return next(m.payload for m in outbox.messages(session=session) if m.kind == kind)


def test_bytes_given_with_a_message_wait_beside_it_and_go_out_after_a_restart(engine: Engine, world, clock) -> None:  # type: ignore[no-untyped-def]
    """A 51 KB file enqueued with a message leaves a payload of a few hundred bytes; a courier composed
    afresh (the process restarted) posts the message with the file's very bytes."""
    reply = Reply("Le fichier", files=(Attachment("annexe.pdf", attachments.PDF, PDF),))
    with unit_of_work(session_factory(engine)) as session:
        outbox.enqueue(session=session, kind="test.file", target="managers", occurrence="1",
                       payload={"reply": reply.to_dict(), "subject": None}, due_at=NOW)
    stored = payload_of(engine, "test.file")
    assert len(stored) < 500 and "sha256:" in stored and "data" not in json.loads(stored)["reply"]["files"][0]

    restarted = RecordingSender()
    runtime_of(engine, clock, restarted).courier.flush(now=NOW)
    [posted] = restarted.messages("managers")
    assert posted.text == "Le fichier" and [(f.filename, f.data) for f in posted.files] == [("annexe.pdf", PDF)]


def test_a_document_is_made_once_for_every_platform_and_try(engine: Engine, world, clock) -> None:  # type: ignore[no-untyped-def]
    """October's report named in a message is rendered when it first goes out; the second platform gets the
    same bytes, without rendering it again (two platforms racing may both render it: the first kept wins)."""
    made: list[str] = []
    first, second = RecordingSender("console"), RecordingSender("other")
    runtime = runtime_of(engine, clock, first, second)
    make = runtime.courier.documents

    def counted(session, kind, key):  # type: ignore[no-untyped-def]
        made.append(key)
        return make(session, kind, key)

    runtime.courier.documents = counted
    reply = Reply("Rapport", files=(attachments.monthly_report(2026, 10),))
    with unit_of_work(session_factory(engine)) as session:
        outbox.enqueue(session=session, kind="test.report", target="managers", occurrence="1",
                       payload={"reply": reply.to_dict(), "subject": None}, due_at=NOW)
    assert len(payload_of(engine, "test.report")) < 500
    runtime.courier.flush_platform("console", now=NOW)
    runtime.courier.flush_platform("other", now=NOW)
    [one], [two] = first.messages("managers"), second.messages("managers")
    assert one.files[0].data.startswith(b"%PDF") and one.files[0].data == two.files[0].data
    assert made == ["2026-10"]
    with unit_of_work(session_factory(engine)) as session:
        assert {m.status for m in session.exec(sa.select(OutboxMessage)).scalars()} == {"sent"}


def test_the_outbox_files_migration_goes_up_and_down(empty_engine: Engine) -> None:  # noqa: F811
    """0013 adds ``outbox_file`` and takes it away again; the outbox's messages stay."""
    upgrade(empty_engine, "0012")
    with empty_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO outbox (kind, target, occurrence, due_at, payload, status, attempts, "
                             "repeats) VALUES ('k', 'managers', '1', '2026-11-05 09:00:00', '{}', 'pending', 0, 0)"))
    upgrade(empty_engine, "0013")
    assert "outbox_file" in sa.inspect(empty_engine).get_table_names()
    with unit_of_work(session_factory(empty_engine)) as session:
        assert outbox.keep_file(session=session, key="sha256:x", data=b"%PDF", now=NOW) == b"%PDF"
        assert outbox.keep_file(session=session, key="sha256:x", data=b"other", now=NOW) == b"%PDF"
    command.downgrade(alembic_config(empty_engine), "0012")
    assert "outbox_file" not in sa.inspect(empty_engine).get_table_names()
    assert rows(empty_engine, "SELECT kind FROM outbox") == [("k",)]
    upgrade(empty_engine)


def test_the_bytes_of_sent_files_are_forgotten_after_a_week_those_still_to_go_are_kept(  # type: ignore[no-untyped-def]
        engine: Engine, world, clock) -> None:
    """A sent report's PDF stays a week (then the database no longer grows with every month's PDF); the file of a
    message nobody could receive yet stays as long as the message may still go (`incubot outbox retry`)."""
    from bot.scheduler import sweep

    runtime = runtime_of(engine, clock, RecordingSender())
    other = PDF + b"other"
    with unit_of_work(session_factory(engine)) as session:
        for target, n, text, data in (("managers", "1", "Envoyé", PDF), ("person:nobody", "2", "Personne", other)):
            reply = Reply(text, files=(Attachment(f"{n}.pdf", attachments.PDF, data),))
            outbox.enqueue(session=session, kind="test.file", target=target, occurrence=n, due_at=NOW,
                           payload={"reply": reply.to_dict(), "subject": None})
    runtime.courier.flush(now=NOW)

    def kept() -> set[str]:
        with unit_of_work(session_factory(engine)) as session:
            return {key for (key,) in session.execute(sa.text("SELECT key FROM outbox_file"))}

    sent_key, waiting_key = (f"sha256:{hashlib.sha256(data).hexdigest()}" for data in (PDF, other))
    sweep(runtime, NOW + timedelta(days=6))  # (the sweeps also send what the calendar has due, with its files)
    assert {sent_key, waiting_key} <= kept()
    sweep(runtime, NOW + timedelta(days=8))
    assert sent_key not in kept() and waiting_key in kept()
    with unit_of_work(session_factory(engine)) as session:
        [waiting] = [m for m in outbox.messages(session=session) if m.occurrence == "2"]
        assert waiting.status == "undeliverable"
