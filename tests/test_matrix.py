"""Tchap (Matrix) on a real Synapse: people talk to the bot from their own Matrix clients."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.synapse import MatrixEvent, MatrixPerson, Synapse

pytest.importorskip("mautrix")

PEOPLE = ("lea.dupont", "julien.moreau", "claire.petit", "camille.martin")


class MatrixWorld:
    """The demo world with a Matrix account per person, and the bot syncing with its own account."""

    def __init__(self, synapse: Synapse, engine: Any, clock: Any, folder: Any, store: str | None = None) -> None:
        self.synapse, self.engine, self.clock, self.folder = synapse, engine, clock, folder
        self.store = store or str(folder / "matrix-store.db")  # the bot's key store: a SQLite file or postgres://…
        account = f"incubot-{uuid.uuid4().hex[:8]}"
        self.bot_id, self.bot_token, self.bot_device = synapse.register(account, "bot-password")
        self.people: dict[str, MatrixPerson] = {who: synapse.person(who.split(".")[0]) for who in PEOPLE}
        from storage.db import session_factory, unit_of_work
        from storage.reference import set_account

        with unit_of_work(session_factory(engine)) as session:
            for who, person in self.people.items():
                set_account(session=session, person_id=who, platform="matrix", external_id=person.user_id)
        self.platform: Any = None
        self.start()

    def start(self) -> None:
        from bot.compose import compose
        from bot.config import Settings
        from bot.platforms import matrix

        settings = Settings(database_url=str(self.engine.url), matrix_homeserver_url=self.synapse.base_url,
                            matrix_user_id=self.bot_id, matrix_access_token=self.bot_token,
                            matrix_device_id=self.bot_device, matrix_store=self.store,
                            matrix_pickle_key="test")
        # As `incubot serve` composes it with Matrix on (the outbox goes out in the background).
        self.incubot = compose(settings, clock=self.clock, engine=self.engine, migrate=False, plugs=[matrix.PLUG])
        self.runtime = self.incubot.runtime
        self.platform = self.incubot.platform("matrix")
        self.incubot.start()

    def stop(self) -> None:
        self.incubot.stop(10)

    def close(self) -> None:
        self.stop()
        for person in self.people.values():
            person.close()

    def dm(self, who: str) -> str:
        """``who`` opens a direct room with the bot, which joins it."""
        person = self.people[who]
        room = person.create_dm(self.bot_id)
        person.wait_for_join(room, self.bot_id, deadline=30)
        return room

    def answer_to(self, who: str, room: str, event_id: str) -> MatrixEvent:
        return self.people[who].wait_for(
            lambda e: e.room_id == room and e.sender == self.bot_id and e.type == "m.room.message"
            and (e.relates_to.get("m.in_reply_to") or {}).get("event_id") == event_id,
            deadline=30, what="the bot's answer")

    def from_bot(self, who: str, predicate: Callable[[MatrixEvent], bool], what: str) -> MatrixEvent:
        return self.people[who].wait_for(lambda e: e.sender == self.bot_id and predicate(e), deadline=30, what=what)


@pytest.fixture
def matrix(synapse: Synapse, engine: Any, world: Any, clock: Any, tmp_path: Any,
           request: pytest.FixtureRequest) -> Iterator[MatrixWorld]:
    """The world on Matrix; ``indirect`` parameter ``"postgresql"``: the bot's key store in a PostgreSQL database."""
    with contextlib.ExitStack() as stack:
        store = None
        if getattr(request, "param", "sqlite") == "postgresql":
            from tests.conftest import throwaway_pg_database

            url = stack.enter_context(throwaway_pg_database("incubot_keys"))
            store = url.replace("postgresql+psycopg://", "postgresql://")
        made = MatrixWorld(synapse, engine, clock, tmp_path, store)
        yield made
        made.close()


def test_budget_in_a_direct_room_is_answered_as_a_reply_with_html(matrix: MatrixWorld) -> None:
    """Léa opens a direct room with the bot and types `budget`: the answer is a reply, HTML and plain text."""
    room = matrix.dm("lea.dupont")
    asked = matrix.people["lea.dupont"].send_text(room, "budget")
    answer = matrix.answer_to("lea.dupont", room, asked)
    assert "Budget 2026" in answer.content["body"] and "<strong>" in answer.content["formatted_body"]
    assert answer.content["m.mentions"] == {}


def test_stranger_invitation_is_declined(synapse: Synapse, matrix: MatrixWorld) -> None:
    """Someone the bot does not know invites it: the invitation is declined."""
    stranger = synapse.person("inconnu")
    try:
        room = stranger.create_dm(matrix.bot_id)
        left = stranger.wait_for(lambda e: e.room_id == room and e.type == "m.room.member"
                                 and e.event.get("state_key") == matrix.bot_id
                                 and e.content.get("membership") == "leave", deadline=30, what="the refusal")
        assert left.sender == matrix.bot_id
    finally:
        stranger.close()


def test_quote_reaction_decides_edits_in_place_and_tells_the_coach(matrix: MatrixWorld) -> None:
    """Léa's `devis` reaches Julien as a DM with ✅/❌; his ✅ validates, the request is edited once, Léa is told."""
    lea_room = matrix.dm("lea.dupont")
    asked = matrix.people["lea.dupont"].send_text(lea_room, "devis dedale; 12 500 HT; Scopyleft; Sprint 7")
    said = matrix.answer_to("lea.dupont", lea_room, asked)
    assert "D-2026-0001" in said.content["body"]

    julien = matrix.people["julien.moreau"]
    invite = julien.wait_for_invite(deadline=30)
    julien.join(invite.room_id)
    request = matrix.from_bot("julien.moreau", lambda e: e.type == "m.room.message"
                              and "D-2026-0001" in e.content.get("body", ""), "the request")
    assert "✅ Valider · ❌ Refuser" in request.content["body"]
    marks = {matrix.from_bot("julien.moreau", lambda e: e.type == "m.reaction", "a reaction").relates_to["key"]
             for _ in range(2)}
    assert marks == {"✅", "❌"}

    julien.react(request.room_id, request.event_id, "✅")
    edit = matrix.from_bot("julien.moreau", lambda e: e.relates_to.get("rel_type") == "m.replace", "the edit")
    assert edit.relates_to["event_id"] == request.event_id
    assert "Validé" in edit.content["m.new_content"]["body"]
    told = matrix.from_bot("lea.dupont", lambda e: e.type == "m.room.message" and "validé" in e.content.get("body", ""),
                           "the coach told")
    assert "D-2026-0001" in told.content["body"]

    done = matrix.answer_to("julien.moreau", request.room_id, request.event_id)
    assert "C'est fait" in done.content["body"]
    julien.react(request.room_id, request.event_id, "✅️")  # a second ✅ (emoji variant): already decided
    late = matrix.answer_to("julien.moreau", request.room_id, request.event_id)
    assert "déjà validé" in late.content["body"]
    julien.sync(timeout_ms=0)  # one m.replace per decision: the late ✅ edits nothing
    assert not [e for e in julien.pending if e.relates_to.get("rel_type") == "m.replace"]


def test_refusal_reason_is_asked_in_the_thread(matrix: MatrixWorld) -> None:
    """Julien's ❌ makes the bot ask the reason in the request's thread; his next message there refuses."""
    lea_room = matrix.dm("lea.dupont")
    matrix.people["lea.dupont"].send_text(lea_room, "devis dedale; 3000; Arawa; Audit")
    julien = matrix.people["julien.moreau"]
    invite = julien.wait_for_invite(deadline=30)
    julien.join(invite.room_id)
    request = matrix.from_bot("julien.moreau", lambda e: e.type == "m.room.message"
                              and "D-2026-0001" in e.content.get("body", ""), "the request")
    julien.react(request.room_id, request.event_id, "❌")
    question = matrix.from_bot("julien.moreau", lambda e: e.relates_to.get("rel_type") == "m.thread", "the question")
    assert "Motif du refus" in question.content["body"]
    julien.send(request.room_id, "m.room.message", {"msgtype": "m.text", "body": "trop cher", "m.relates_to": {
        "rel_type": "m.thread", "event_id": request.event_id}})
    done = matrix.from_bot("julien.moreau", lambda e: e.relates_to.get("rel_type") == "m.thread"
                           and "refusé" in e.content.get("body", ""), "the confirmation")
    assert "trop cher" in done.content["body"]
    told = matrix.from_bot("lea.dupont", lambda e: "refusé" in e.content.get("body", ""), "the coach told")
    assert "trop cher" in told.content["body"]


def test_quote_form_step_by_step_survives_a_restart(matrix: MatrixWorld) -> None:
    """`devis` alone asks field by field; the bot restarts mid-form, the answer sent meanwhile is not lost
    nor answered twice, a field error is asked again, and the quote is submitted."""
    lea = matrix.people["lea.dupont"]
    room = matrix.dm("lea.dupont")

    def say(text: str) -> str:
        asked = lea.send_text(room, text)
        return str(matrix.answer_to("lea.dupont", room, asked).content["body"])

    assert "Nouveau devis" in say("devis")
    assert "annulé" in say("annuler")
    first = say("devis")
    assert "Startup" in first and "2. Dédale" in first
    assert "Montant" in say("dedale")
    matrix.stop()
    asked = lea.send_text(room, "12 500,123")  # while the bot is down
    matrix.start()
    error = matrix.answer_to("lea.dupont", room, asked).content["body"]
    assert "Le montant est" in error
    assert "Fournisseur" in say("HT")
    assert "Objet" in say("Scopyleft")
    refused = say("Sprint 7")
    assert "Montant" in refused and "D-2026" not in refused  # 12 500,123 is not an amount: asked again
    done = say("12 500")
    assert "D-2026-0001" in done and "15 000,00 € TTC" in done
    answers = [e for e in lea.pending if e.sender == matrix.bot_id and e.type == "m.room.message"
               and (e.relates_to.get("m.in_reply_to") or {}).get("event_id") == asked]
    assert answers == []  # the message sent while the bot was down was answered once


def test_a_real_429_is_waited_out(synapse: Synapse, matrix: MatrixWorld, caplog: pytest.LogCaptureFixture) -> None:
    """With the bot's rate limit lowered, its answers meet 429 M_LIMIT_EXCEEDED, wait what Synapse asks (a
    fraction of a second at four messages a second, read off the response) and still all arrive."""
    lea = matrix.people["lea.dupont"]
    room = matrix.dm("lea.dupont")
    synapse.override_ratelimit(matrix.bot_id, messages_per_second=4, burst_count=1)
    try:
        with caplog.at_level("INFO", logger="incubot.matrix"):
            asked = [lea.send_text(room, "comite") for _ in range(3)]
            for event_id in asked:
                assert "Prochain comité" in matrix.answer_to("lea.dupont", room, event_id).content["body"]
        waits = [float(m.group(1)) for r in caplog.records
                 if (m := re.search(r"429 M_LIMIT_EXCEEDED, waiting ([\d.]+) s", r.getMessage()))]
        assert waits and all(0 < wait < 1 for wait in waits)  # not mautrix's lost body and our 1, 2, 4 s
    finally:
        synapse.clear_ratelimit_override(matrix.bot_id)


@contextlib.asynccontextmanager
async def encrypting_julien(synapse: Synapse, matrix: MatrixWorld, folder: Any) -> AsyncIterator[
        tuple[Any, asyncio.Queue[Any]]]:
    """Julien on a client that encrypts (the benchmark's mautrix client, with its Olm machine), known to the bot
    by this account: it joins the rooms it is invited to; the bot's messages come in the queue, decrypted."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from matrix_echo import close_client, mautrix_client
    from mautrix.types import EventType, Membership, MemberStateEventContent, MessageEvent, StateEvent

    from storage.db import session_factory, unit_of_work
    from storage.reference import set_account

    julien_id, token, device = synapse.register(f"julien-e2e-{uuid.uuid4().hex[:12]}", "julien-password")
    with unit_of_work(session_factory(matrix.engine)) as session:
        set_account(session=session, person_id="julien.moreau", platform="matrix", external_id=julien_id)
    client = await mautrix_client(synapse.base_url, julien_id, token, device, folder / "julien")
    messages: asyncio.Queue[MessageEvent] = asyncio.Queue()

    async def on_member(evt: StateEvent) -> None:
        if evt.state_key == julien_id and isinstance(evt.content, MemberStateEventContent) \
                and evt.content.membership == Membership.INVITE:
            await client.join_room_by_id(evt.room_id)

    async def on_message(evt: MessageEvent) -> None:
        if evt.sender == matrix.bot_id:
            await messages.put(evt)

    client.add_event_handler(EventType.ROOM_MEMBER, on_member)
    client.add_event_handler(EventType.ROOM_MESSAGE, on_message)
    client.start(None)
    try:
        yield client, messages
    finally:
        await close_client(client)


def test_encrypted_direct_room_both_ways(synapse: Synapse, matrix: MatrixWorld, tmp_path: Any) -> None:
    """Julien's client encrypts: the bot opens an encrypted DM for the request, reads his encrypted
    `valider` and answers encrypted."""

    async def play() -> tuple[Any, Any]:
        async with encrypting_julien(synapse, matrix, tmp_path) as (client, messages):
            lea_room = await asyncio.to_thread(matrix.dm, "lea.dupont")
            await asyncio.to_thread(matrix.people["lea.dupont"].send_text, lea_room, "devis dedale; 3000; Arawa; Audit")
            request = await asyncio.wait_for(messages.get(), 60)
            await client.send_text(request.room_id, "valider D-2026-0001")
            while True:
                answer = await asyncio.wait_for(messages.get(), 60)
                if "C'est fait" in answer.content.body:
                    return request, answer

    request, answer = asyncio.run(play())
    assert "D-2026-0001" in request.content.body
    assert request["mautrix"]["was_encrypted"] and answer["mautrix"]["was_encrypted"]


def test_a_file_to_an_encrypting_client_is_encrypted_media(synapse: Synapse, matrix: MatrixWorld,
                                                            tmp_path: Any) -> None:
    """Julien's client encrypts: the bot's message with a PDF opens an encrypted DM, the file goes to the media
    repository encrypted and its event carries ``file`` (with the key) instead of ``url``; Julien decrypts the
    very bytes."""
    from mautrix.crypto.attachments import decrypt_attachment

    from handlers.types import Attachment, Reply
    from storage import outbox
    from storage.db import session_factory, unit_of_work

    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40
    reply = Reply("Le PV à signer", files=(Attachment("PV-SF-2026-0001.pdf", "application/pdf", pdf),))

    async def play() -> tuple[Any, Any, bytes]:
        async with encrypting_julien(synapse, matrix, tmp_path) as (client, messages):
            with unit_of_work(session_factory(matrix.engine)) as session:
                outbox.enqueue(session=session, kind="test.file", target="person:julien.moreau", occurrence="1",
                               payload={"reply": reply.to_dict(), "subject": None}, due_at=matrix.clock())
            await asyncio.to_thread(matrix.runtime.courier.flush)
            seen: dict[str, Any] = {}  # by event id: a client may hand the same event over twice
            while {e.content.msgtype.value == "m.file" for e in seen.values()} != {True, False}:
                event = await asyncio.wait_for(messages.get(), 60)
                seen[str(event.event_id)] = event
            texts = [e for e in seen.values() if e.content.msgtype.value != "m.file"]
            [file] = [e for e in seen.values() if e.content.msgtype.value == "m.file"]
            assert len(texts) == 1, [e.content.body for e in texts]  # the text went once
            text = texts[0]
            encrypted = file.content.file
            data = decrypt_attachment(await client.download_media(encrypted.url), encrypted.key.key,
                                      encrypted.hashes["sha256"], encrypted.iv)
            return text, file, data

    text, file, data = asyncio.run(play())
    assert text.content.body.startswith("Le PV à signer") and text["mautrix"]["was_encrypted"]
    assert file["mautrix"]["was_encrypted"] and file.content.msgtype.value == "m.file"
    assert file.content.url is None and file.content.file is not None
    assert file.content.body == "PV-SF-2026-0001.pdf" and data == pdf


def test_prefix_and_mention_in_a_group_room(matrix: MatrixWorld) -> None:
    """In a group room `!incubot budget` and `incubot: budget` (a mention, as Element sends it) are answered
    as replies; a plain `budget` there is talk between people, not a command."""
    lea, claire = matrix.people["lea.dupont"], matrix.people["claire.petit"]
    room = lea.create_room("Dédale et Collectif Objets", invite=[matrix.bot_id, claire.user_id])
    claire.join(room)
    lea.wait_for_join(room, matrix.bot_id, deadline=30)
    between_people = lea.send_text(room, "budget")
    prefixed = lea.send_text(room, "!incubot budget")
    assert "Budget 2026" in matrix.answer_to("lea.dupont", room, prefixed).content["body"]
    local = matrix.bot_id.split(":")[0].lstrip("@")
    mentioned = lea.send(room, "m.room.message", {
        "msgtype": "m.text", "body": f"{local}: budget 2025", "m.mentions": {"user_ids": [matrix.bot_id]},
        "format": "org.matrix.custom.html",
        "formatted_body": f'<a href="https://matrix.to/#/{matrix.bot_id}">{local}</a>: budget 2025'})
    assert "Budget 2025" in matrix.answer_to("lea.dupont", room, mentioned).content["body"]
    by_name = claire.send(room, "m.room.message", {  # a client showing a display name: the mention says who
        "msgtype": "m.text", "body": "Incubot budget", "m.mentions": {"user_ids": [matrix.bot_id]}})
    assert "Budget 2026" in matrix.answer_to("claire.petit", room, by_name).content["body"]
    matrix.runtime.inbox.join()
    lea.sync()
    assert not [e for e in lea.pending if e.sender == matrix.bot_id
                and (e.relates_to.get("m.in_reply_to") or {}).get("event_id") == between_people]


def test_a_restart_resumes_from_the_stored_sync_token(matrix: MatrixWorld) -> None:
    """The bot stops mid-conversation: what Léa sent meanwhile is answered once when it is back, and
    nothing answered before the stop is answered again."""
    from storage import chat_state

    lea = matrix.people["lea.dupont"]
    room = matrix.dm("lea.dupont")
    before = lea.send_text(room, "comite")
    assert "Prochain comité" in matrix.answer_to("lea.dupont", room, before).content["body"]
    with matrix.engine.connect() as connection:
        token = chat_state.get_state(session=connection, platform="matrix", name="next_batch")
    matrix.stop()
    meanwhile = [lea.send_text(room, text) for text in ("budget", "budget 2025", "aide")]
    matrix.start()
    for asked, expected in zip(meanwhile, ("Budget 2026", "Budget 2025", "Bonjour Léa Dupont"), strict=True):
        assert expected in matrix.answer_to("lea.dupont", room, asked).content["body"]
    after = lea.send_text(room, "comite")
    assert "Prochain comité" in matrix.answer_to("lea.dupont", room, after).content["body"]
    matrix.runtime.inbox.join()
    lea.sync()
    again = [e for e in lea.pending if e.sender == matrix.bot_id and e.type == "m.room.message"]
    assert again == []  # each message answered once: nothing more came
    with matrix.engine.connect() as connection:
        assert chat_state.get_state(session=connection, platform="matrix", name="next_batch") not in (None, token)


@pytest.mark.parametrize("matrix", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_the_key_store_is_kept_across_a_restart(synapse: Synapse, matrix: MatrixWorld, tmp_path: Any) -> None:
    """Julien opens an encrypted direct room; the bot restarts; the message he sent while it was down, in the
    Megolm session the bot received before, is decrypted and answered encrypted, by the same device keys —
    with the key store in a SQLite file and in PostgreSQL."""
    import asyncio
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from matrix_echo import close_client, mautrix_client
    from mautrix.types import EventType, Membership, MessageEvent, RoomCreatePreset, StateEvent

    from storage.db import session_factory, unit_of_work
    from storage.reference import set_account

    julien_id, token, device = synapse.register(f"julien-keys-{uuid.uuid4().hex[:12]}", "julien-password")
    with unit_of_work(session_factory(matrix.engine)) as session:
        set_account(session=session, person_id="julien.moreau", platform="matrix", external_id=julien_id)

    async def bot_keys(client: Any) -> str:
        found = await client.query_keys([matrix.bot_id])
        keys = found.device_keys[matrix.bot_id][matrix.bot_device].keys
        return next(str(value) for key, value in keys.items() if str(key).startswith("curve25519"))

    async def play() -> list[MessageEvent]:
        client = await mautrix_client(synapse.base_url, julien_id, token, device, tmp_path / "julien")
        answers: asyncio.Queue[MessageEvent] = asyncio.Queue()
        joined = asyncio.Event()

        async def on_member(evt: StateEvent) -> None:
            if evt.state_key == matrix.bot_id and evt.content.membership == Membership.JOIN:
                joined.set()

        async def on_message(evt: MessageEvent) -> None:
            if evt.sender == matrix.bot_id:
                await answers.put(evt)

        client.add_event_handler(EventType.ROOM_MEMBER, on_member)
        client.add_event_handler(EventType.ROOM_MESSAGE, on_message)
        client.start(None)
        try:
            room = await client.create_room(preset=RoomCreatePreset.TRUSTED_PRIVATE, is_direct=True,
                                            invitees=[matrix.bot_id], initial_state=[{
                                                "type": "m.room.encryption", "state_key": "",
                                                "content": {"algorithm": "m.megolm.v1.aes-sha2"}}])
            await asyncio.wait_for(joined.wait(), 60)
            keys_before = await bot_keys(client)
            await client.send_text(room, "comite")
            first = await asyncio.wait_for(answers.get(), 60)
            await asyncio.to_thread(matrix.stop)
            await client.send_text(room, "budget")  # same Megolm session, the bot is down
            await asyncio.to_thread(matrix.start)
            second = await asyncio.wait_for(answers.get(), 60)
            assert await bot_keys(client) == keys_before
            return [first, second]
        finally:
            await close_client(client)

    first, second = asyncio.run(play())
    assert "Prochain comité" in first.content.body and "Budget 2026" in second.content.body
    assert first["mautrix"]["was_encrypted"] and second["mautrix"]["was_encrypted"]


def test_a_429_is_waited_out_for_what_the_homeserver_asks_else_longer_each_time() -> None:
    """A 429 waits what the homeserver asked (noted off the response, or in a body mautrix kept); when neither
    says, the waits double (1, 2, 4 s) instead of a flat second that gave up before a five-second limit."""
    from mautrix.errors import MatrixUnknownRequestError, MLimitExceeded

    from bot.platforms.matrix.link import retry_after

    kept = MatrixUnknownRequestError(429, '{"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2500}', "M_LIMIT_EXCEEDED")
    assert retry_after(kept, 3) == 2.5
    assert retry_after(MLimitExceeded(429, "Too Many Requests"), 2, asked=0.25) == 0.25
    assert retry_after(MLimitExceeded(429, "Too Many Requests"), 0, asked=3600) == 60.0  # capped
    assert [retry_after(MLimitExceeded(429, "Too Many Requests"), attempt) for attempt in range(3)] == [1.0, 2.0, 4.0]
    assert retry_after(ValueError("not a rate limit")) is None


def test_a_message_whose_file_failed_after_its_text_is_seen_once_with_its_file(matrix: MatrixWorld) -> None:
    """The text of Léa's message reached her room, then sending its file failed: the outbox tries again later
    with the same transaction ids, the homeserver keeps the text it has — Léa sees the text once, then the file."""
    from handlers.types import Attachment, Reply
    from storage import outbox
    from storage.db import session_factory, unit_of_work

    lea = matrix.people["lea.dupont"]
    room = matrix.dm("lea.dupont")
    link = matrix.platform.link
    send, failed = link.send, []

    async def file_fails_once(room_id: str, event_type: str, content: dict[str, Any], txn_id: str | None = None) -> str:
        if content.get("msgtype") == "m.file" and not failed:
            failed.append(txn_id)
            raise ConnectionError("the homeserver hung up")
        return await send(room_id, event_type, content, txn_id)

    link.send = file_fails_once  # type: ignore[method-assign]
    reply = Reply("Votre relevé du mois", files=(Attachment("releve.pdf", "application/pdf", b"%PDF-1.7\n" * 50),))
    with unit_of_work(session_factory(matrix.engine)) as session:
        outbox.enqueue(session=session, kind="test.file", target="person:lea.dupont", occurrence="1",
                       payload={"reply": reply.to_dict(), "subject": None}, due_at=matrix.clock())
    matrix.runtime.courier.flush()  # the text goes, the file fails: tried again in 30 s
    matrix.clock.advance(minutes=1)
    matrix.runtime.courier.flush()
    file = matrix.from_bot("lea.dupont", lambda e: e.room_id == room and e.content.get("msgtype") == "m.file",
                           "the file")
    history = lea.http.get(f"/_matrix/client/v3/rooms/{room}/messages", params={"dir": "b", "limit": 50}).json()
    texts = [e for e in history["chunk"] if e["sender"] == matrix.bot_id
             and e.get("content", {}).get("body", "").startswith("Votre relevé du mois")]
    assert failed and failed[0] is not None  # the failed try had its transaction id
    assert len(texts) == 1 and file.content["body"] == "releve.pdf"


def test_an_answer_sent_again_after_a_stop_is_shown_once(matrix: MatrixWorld) -> None:
    """Léa's `comite` was answered, then the process stopped before its inbox row was marked done: the next
    start answers the row again, with the same transaction ids — Léa sees one answer."""
    import json

    from storage import inbox
    from storage.db import session_factory, unit_of_work

    lea = matrix.people["lea.dupont"]
    room = matrix.dm("lea.dupont")
    asked = lea.send_text(room, "comite")
    matrix.answer_to("lea.dupont", room, asked)
    matrix.runtime.inbox.join()
    with unit_of_work(session_factory(matrix.engine)) as session:
        [row] = [i for i in inbox.items(session=session) if i.kind == "matrix.event"]
    stored = json.loads(row.payload)
    matrix.platform._answer(stored, stored["answer"])  # noqa: SLF001 - what a resumed row does
    history = lea.http.get(f"/_matrix/client/v3/rooms/{room}/messages", params={"dir": "b", "limit": 50}).json()
    answers = [e for e in history["chunk"] if e["sender"] == matrix.bot_id and e["type"] == "m.room.message"
               and ((e["content"].get("m.relates_to") or {}).get("m.in_reply_to") or {}).get("event_id") == asked]
    assert len(answers) == 1


def test_an_update_tried_again_is_one_edit_and_the_next_update_another(matrix: MatrixWorld) -> None:
    """The request's message is edited once per outbox update: the same update tried again (same key) is the
    same edit, the next update a new one."""
    from handlers.types import Reply

    lea = matrix.people["lea.dupont"]
    matrix.dm("lea.dupont")
    sender = matrix.platform.sender
    posted = sender.post_direct(lea.user_id, Reply("Devis D-2026-0001 : en attente"))
    sender.update(posted.channel, posted.message_id, Reply("Devis D-2026-0001 : validé"), key="update|1")
    sender.update(posted.channel, posted.message_id, Reply("Devis D-2026-0001 : validé"), key="update|1")
    sender.update(posted.channel, posted.message_id, Reply("Devis D-2026-0001 : commandé"), key="update|2")
    history = lea.http.get(f"/_matrix/client/v3/rooms/{posted.channel}/messages",
                           params={"dir": "b", "limit": 50}).json()
    edits = [e["content"]["m.new_content"]["body"] for e in reversed(history["chunk"])
             if (e.get("content", {}).get("m.relates_to") or {}).get("rel_type") == "m.replace"]
    assert edits == ["Devis D-2026-0001 : validé", "Devis D-2026-0001 : commandé"]


def test_a_first_message_that_comes_with_the_rooms_members_is_taken_as_direct(matrix: MatrixWorld) -> None:
    """A loaded homeserver can bring a new room's members and the person's first message in one sync: the
    message is still read as said in a direct room (answered), not as chatter in a group room (ignored)."""
    lea = matrix.people["lea.dupont"].user_id
    room = f"!new{uuid.uuid4().hex[:8]}:{matrix.synapse.server_name}"

    def event(kind: str, sender: str, content: dict[str, Any], state_key: str | None = None) -> dict[str, Any]:
        made = {"type": kind, "sender": sender, "content": content, "origin_server_ts": 1,
                "event_id": f"${uuid.uuid4().hex}"}
        return made if state_key is None else {**made, "state_key": state_key}

    data = {"next_batch": "s2", "rooms": {"join": {room: {
        "state": {"events": [event("m.room.create", lea, {"room_version": "10"}, ""),
                             event("m.room.member", lea, {"membership": "join"}, lea),
                             event("m.room.member", matrix.bot_id, {"membership": "join"}, matrix.bot_id)]},
        "timeline": {"events": [event("m.room.message", lea, {"msgtype": "m.text", "body": "budget"})]}}}}}
    link = matrix.platform.link
    store = link.client.state_store
    stored = store.update_state

    async def slow_store(event: Any) -> None:  # a busy key store: the room's state lands 50 ms later
        await asyncio.sleep(0.05)
        await stored(event)

    store.update_state = slow_store
    try:
        taken = link.call(lambda: link.take_sync(data, "s1"))
    finally:
        del store.update_state
    assert [(entry["event"]["content"]["body"], entry["direct"]) for entry in taken] == [("budget", True)]
