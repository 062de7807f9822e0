"""Tchap (Matrix): the platform object, its courier sender, and what each event does.

Each sync batch is stored before anything is done with it: every event an inbox row keyed by
its event id, in the same transaction as the next sync token (``platform_state``). So after a
restart the sync resumes from the stored token, an event seen twice is stored once, and what
was stored and not yet handled is resumed by the inbox workers (``bot/inbox.py``).

- invitation: joined when the inviter is a person the bot knows, declined otherwise;
- message: in a direct room every message is a command; elsewhere ``!incubot …`` or a
  mention of the bot followed by the command. A person's message where a step-by-step
  form waits for them (``handlers/steps.py``) is the answer to its question. Answers are
  replies, with an HTML and a plain body;
- reaction on a message of the bot: the choice recorded for that key (``posted_choice``)
  runs as a click; ❌ opens the reason's question in the thread of the request.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from bot.delivery import PlatformAddresses, Posted
from bot.platforms.matrix import render
from bot.platforms.matrix.link import Link, LinkSettings
from bot.port import Plug
from handlers.steps import Steps
from handlers.types import Action, Reply, Request
from storage import chat_state, inbox, reference
from storage.db import unit_of_work

log = logging.getLogger("incubot.matrix")

PLATFORM = "matrix"
TOKEN = "next_batch"
DIRECT_PLACE = "direct"  # the place of a step-by-step form in a person's direct room(s)
PREFIX = "!incubot"


def _dm_key(user_id: str) -> str:
    return f"dm:{user_id}"


def _strip_reply_fallback(body: str) -> str:
    lines = body.split("\n")
    if lines and lines[0].startswith("> "):
        while lines and lines[0].startswith(">"):
            lines.pop(0)
        while lines and not lines[0].strip():
            lines.pop(0)
    return "\n".join(lines)


class MatrixSender(PlatformAddresses):
    """How the courier reaches people and rooms on Matrix (direct rooms made when missing)."""

    platform = PLATFORM

    def __init__(self, owner: MatrixPlatform) -> None:
        self.owner = owner

    def post_direct(self, user: str, reply: Reply, *, key: str | None = None) -> Posted:
        return self.post_channel(self.owner.direct_room(user), reply, key=key)

    def post_channel(self, channel: str, reply: Reply, *, key: str | None = None) -> Posted:
        return Posted(channel, self.owner.post(channel, reply, key=key))

    def update(self, channel: str, message_id: str, reply: Reply, *, key: str | None = None) -> None:
        self.owner.edit(channel, message_id, reply, key=key)


def _txn_id(key: str | None, room: str, part: str) -> str | None:
    """The transaction id of one event (``part``) of what ``key`` names in ``room``: the same at every try,
    so the homeserver sends it once; None (a fresh id) without a key."""
    return None if key is None else f"incubot.{hashlib.sha256(f'{key}|{room}'.encode()).hexdigest()[:32]}.{part}"


@dataclass
class MatrixPlatform:
    """The Matrix platform: ``routes()`` is empty, ``start()`` runs the sync loop on its own thread."""

    runtime: Any
    link_settings: LinkSettings
    encrypt_direct: str = "auto"  # "auto": when the person has devices with keys; "always"; "never"
    name: str = PLATFORM
    link: Link = field(init=False)
    steps: Steps = field(init=False)
    _sender: MatrixSender = field(init=False)

    def __post_init__(self) -> None:
        self.link = Link(self.link_settings, self._store_batch, self._load_token)
        self.steps = Steps(self.runtime.bot)
        self._sender = MatrixSender(self)
        self.inbox = self.runtime.inbox
        self.inbox.register("matrix.invite", self._decide_invite, self._answer)
        self.inbox.register("matrix.event", self._decide_event, self._answer)

    @property
    def sender(self) -> MatrixSender:
        return self._sender

    def routes(self) -> list[Any]:
        return []

    def start(self) -> None:
        self.link.start()

    def stop(self, timeout: float) -> bool:
        """Stop syncing; what was stored and is being answered (inbox rows, outbox passes) still goes out
        through the link, within ``timeout``; then the link closes."""
        def drain(seconds: float) -> None:
            deadline = time.monotonic() + seconds
            with contextlib.suppress(TimeoutError):
                self.runtime.inbox.join(max(deadline - time.monotonic(), 0.0))
                if self.runtime.background is not None:
                    self.runtime.background.executor.join(max(deadline - time.monotonic(), 0.0))

        return self.link.stop(timeout, drain=drain)

    @property
    def t(self) -> Any:
        return self.runtime.services.t

    @property
    def me(self) -> str:
        return self.link_settings.user_id

    # ------------------------------------------------------------------ sync → inbox

    def _load_token(self) -> str | None:
        with self.runtime.engine.begin() as connection:
            return chat_state.get_state(session=connection, platform=PLATFORM, name=TOKEN)

    def _store_batch(self, events: list[dict[str, Any]], next_batch: str, initial: bool) -> None:
        """One transaction: an inbox row per event (a replay stores nothing) and the next token."""
        now = self.runtime.services.clock()
        stored: list[int] = []
        with self.runtime.engine.begin() as connection:
            for entry in events:
                if initial and entry["kind"] != "invite":
                    continue  # the first sync of a new install: old history is not answered
                event = entry["event"]
                key = event.get("event_id") or f"invite:{entry['room']}:{next_batch}"
                item = inbox.put(session=connection, platform=PLATFORM, key=str(key), kind=f"matrix.{entry['kind']}",
                                 payload=entry, now=now)
                if item is not None:
                    stored.append(item)
            chat_state.put_state(session=connection, platform=PLATFORM, name=TOKEN, value=next_batch, now=now)
        for item in stored:
            self.inbox.kick(item)

    # ------------------------------------------------------------------ deciding (in the row's transaction)

    def _decide_invite(self, payload: dict[str, Any]) -> dict[str, Any]:
        event, room = payload["event"], payload["room"]
        inviter = str(event.get("sender") or "")
        with unit_of_work(self.runtime.services.sessions) as session:
            known = reference.find_actor(session=session, platform=PLATFORM, user_id=inviter) is not None
            if known and (event.get("content") or {}).get("is_direct"):
                chat_state.put_state(session=session, platform=PLATFORM, name=_dm_key(inviter), value=room,
                                     now=self.runtime.services.clock())
        log.info("matrix: invitation to %s by %s: %s", room, inviter, "joining" if known else "declining")
        return {"join" if known else "decline": room}

    def _decide_event(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        room, event = payload["room"], payload["event"]
        if event.get("type") == "m.room.encrypted":  # its key came late: try again now
            decrypted = self.link.call(lambda: self.link.decrypt(room, event, wait=10.0))
            if decrypted is None:
                log.warning("matrix: event %s in %s could not be decrypted", event.get("event_id"), room)
                return None
            event = decrypted
        sender = str(event.get("sender") or "")
        if sender == self.me:
            return None
        if event.get("type") == "m.reaction":
            return self._decide_reaction(room, event, sender, payload.get("direct", False))
        if event.get("type") == "m.room.message":
            return self._decide_message(room, event, sender, payload.get("direct", False))
        return None

    def _decide_message(self, room: str, event: dict[str, Any], sender: str, direct: bool) -> dict[str, Any] | None:
        content = event.get("content") or {}
        relates = content.get("m.relates_to") or {}
        if content.get("msgtype") not in ("m.text", None) or "m.new_content" in content \
                or relates.get("rel_type") == "m.replace":
            return None  # notices, images, edits of an earlier message: nothing to answer
        body = _strip_reply_fallback(str(content.get("body") or "")).strip()
        thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        event_id = str(event.get("event_id") or "")
        where = {"room": room, "reply_to": event_id, "thread": thread}
        place = f"{room}/{thread}" if thread else (DIRECT_PLACE if direct else f"{room}/")
        step = self.steps.answer(PLATFORM, sender, place, body)
        if step is not None:
            return {"posts": [{**where, "reply": step.reply.to_dict()}]}
        text = self._command_text(body, content, direct)
        if text is None:
            return None
        reply = self.runtime.bot.message(Request(PLATFORM, sender, text, room))
        if reply.form is None:
            return {"posts": [{**where, "reply": reply.to_dict()}]}
        question = self.steps.start(PLATFORM, sender, DIRECT_PLACE, reply.form, intro=reply.text)
        if direct:
            return {"posts": [{**where, "reply": question.to_dict()}]}
        told = Reply(self.t("Je vous pose les questions en message direct."))
        return {"posts": [{**where, "reply": told.to_dict()}, {"dm": sender, "reply": question.to_dict()}]}

    def _command_text(self, body: str, content: dict[str, Any], direct: bool) -> str | None:
        if direct:
            return body
        if body.lower().startswith(PREFIX) and (len(body) == len(PREFIX) or body[len(PREFIX)].isspace()):
            return body[len(PREFIX):].strip()
        mentions = (content.get("m.mentions") or {}).get("user_ids") or []
        local = self.me.split(":")[0].lstrip("@")
        pattern = re.compile(rf"^\s*@?({re.escape(self.me)}|{re.escape(local)})[:,]?\s+", re.IGNORECASE)
        match = pattern.match(body)
        if match:
            return body[match.end():].strip()
        if self.me in mentions:  # a client that shows the display name: drop the first word
            return body.split(None, 1)[1].strip() if len(body.split(None, 1)) == 2 else ""
        return None

    def _decide_reaction(self, room: str, event: dict[str, Any], sender: str, direct: bool) -> dict[str, Any] | None:
        relates = (event.get("content") or {}).get("m.relates_to") or {}
        target, key = str(relates.get("event_id") or ""), render.normal_key(str(relates.get("key") or ""))
        if relates.get("rel_type") != "m.annotation" or not target:
            return None
        with unit_of_work(self.runtime.services.sessions) as session:
            choice = chat_state.choice_for(session=session, platform=PLATFORM, channel=room, message_id=target,
                                           key=key)
            if choice is None:
                return None  # a 👍 on any message: nothing to do
            action, value = choice.action, choice.value
        reply = self.runtime.bot.action(Action(PLATFORM, sender, action, value))
        where = {"room": room, "reply_to": target, "thread": None}
        if reply.form is not None:
            question = self.steps.start(PLATFORM, sender, f"{room}/{target}", reply.form)
            return {"posts": [{"room": room, "reply_to": None, "thread": target, "reply": question.to_dict()}]}
        if reply.silent:
            return None
        if direct:
            return {"posts": [{**where, "reply": reply.to_dict()}]}
        return {"posts": [{"dm": sender, "reply": reply.to_dict()}]}

    # ------------------------------------------------------------------ answering (after the commit)

    def _answer(self, payload: dict[str, Any], answer: dict[str, Any] | None) -> None:
        if not answer:
            return
        if "join" in answer:
            self.link.call(lambda: self.link.retrying(lambda: self.link.client.join_room_by_id(answer["join"])))
            return
        if "decline" in answer:
            self.link.call(lambda: self.link.retrying(lambda: self.link.client.leave_room(answer["decline"])))
            return
        asked = str((payload.get("event") or {}).get("event_id") or "")
        for n, post in enumerate(answer.get("posts", [])):
            reply = Reply.from_dict(post["reply"])
            room = post.get("room") or self.direct_room(post["dm"])
            # Keyed by the event answered: answered again after a stop between sending and marking the row
            # done, it is the same events, shown once.
            self.post(room, reply, reply_to=post.get("reply_to"), thread=post.get("thread"),
                      key=f"answer:{asked}:{n}" if asked else None)

    # ------------------------------------------------------------------ sending

    def post(self, room: str, reply: Reply, *, reply_to: str | None = None, thread: str | None = None,
             key: str | None = None) -> str:
        """Post ``reply`` in ``room`` (as a reply, in a thread); its choices as the bot's own reactions; its
        files as ``m.file`` events right after it, uploaded before anything is sent, so a failed upload
        leaves nothing in the room. With ``key`` (the outbox's, the same for every try) each event has a
        transaction id made from it: when a try fails after the text went, the next one sends the text
        again under the same id and the homeserver keeps the first — the room shows it once."""
        files = [self.link.call(lambda f=f: self.link.upload(room, f.filename, f.mime, f.data))  # type: ignore[misc]
                 for f in reply.files]
        content = render.content(reply, legend=self.t("Réagissez :"))
        if thread:
            content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread, "is_falling_back": True,
                                       "m.in_reply_to": {"event_id": reply_to or thread}}
        elif reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        event_id = self.link.call(lambda: self.link.send(room, "m.room.message", content, _txn_id(key, room, "text")))
        for n, file in enumerate(files):
            self.link.call(lambda file=file, n=n: self.link.send(  # type: ignore[misc]
                room, "m.room.message", file, _txn_id(key, room, f"file{n}")))
        offered = render.choices(reply)
        if offered:
            now = self.runtime.services.clock()
            with unit_of_work(self.runtime.services.sessions) as session:
                chat_state.record_choices(session=session, platform=PLATFORM, channel=room, message_id=event_id,
                                          choices=offered, now=now)
            for i, choice in enumerate(offered):
                reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": choice.key}}
                mark = self.link.call(lambda reaction=reaction, i=i: self.link.send(  # type: ignore[misc]
                    room, "m.reaction", reaction, _txn_id(key, room, f"mark{i}")))
                with unit_of_work(self.runtime.services.sessions) as session:
                    chat_state.set_mark(session=session, platform=PLATFORM, channel=room, message_id=event_id,
                                        key=choice.key, mark_id=mark)
        return event_id

    def edit(self, room: str, event_id: str, reply: Reply, *, key: str | None = None) -> None:
        """Replace the text of the bot's message (``m.replace``); the reactions it no longer offers go.
        With ``key`` (the outbox's), an edit tried again is the same event (:meth:`post`)."""
        new = render.content(reply, legend=self.t("Réagissez :"))
        content = {**new, "body": "* " + new["body"], "formatted_body": "* " + new["formatted_body"],
                   "m.new_content": new, "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}}
        self.link.call(lambda: self.link.send(room, "m.room.message", content, _txn_id(key, room, "edit")))
        kept = {c.key for c in render.choices(reply)}
        with unit_of_work(self.runtime.services.sessions) as session:
            marks = [(c.key, c.mark_id) for c in chat_state.choices_on(
                session=session, platform=PLATFORM, channel=room, message_id=event_id) if c.mark_id]
        for key, mark in marks:
            if key in kept or mark is None:
                continue
            self.link.call(lambda mark=mark: self.link.retrying(  # type: ignore[misc]
                lambda: self.link.client.redact(room, mark)))
            with unit_of_work(self.runtime.services.sessions) as session:
                chat_state.set_mark(session=session, platform=PLATFORM, channel=room, message_id=event_id,
                                    key=key, mark_id=None)

    def direct_room(self, user_id: str) -> str:
        """The person's direct room with the bot; created (encrypted when they can read it) if none."""
        with unit_of_work(self.runtime.services.sessions) as session:
            room = chat_state.get_state(session=session, platform=PLATFORM, name=_dm_key(user_id))
        if room:
            return room
        room = self.link.call(lambda: self._create_direct(user_id))
        with unit_of_work(self.runtime.services.sessions) as session:
            chat_state.put_state(session=session, platform=PLATFORM, name=_dm_key(user_id), value=room,
                                 now=self.runtime.services.clock())
        return room

    async def _create_direct(self, user_id: str) -> str:
        from mautrix.types import (
            EncryptionAlgorithm,
            EventType,
            Membership,
            RoomCreatePreset,
            RoomEncryptionStateEventContent,
        )

        client = self.link.client
        encrypted = self.encrypt_direct == "always"
        if self.encrypt_direct == "auto":
            keys = await client.query_keys([user_id])
            encrypted = bool((keys.device_keys or {}).get(user_id))
        initial = []
        encryption = RoomEncryptionStateEventContent(algorithm=EncryptionAlgorithm.MEGOLM_V1)
        if encrypted:
            initial = [{"type": "m.room.encryption", "state_key": "", "content": encryption.serialize()}]
        room = await self.link.retrying(lambda: client.create_room(
            preset=RoomCreatePreset.TRUSTED_PRIVATE, is_direct=True, invitees=[user_id], initial_state=initial,
            room_version="10"))
        store = client.state_store
        await store.set_membership(room, self.me, Membership.JOIN)
        await store.set_membership(room, user_id, Membership.INVITE)
        if encrypted:
            await store.set_encryption_info(room, encryption)
            await client.crypto.share_group_session(room, [self.me, user_id])
        direct = {}
        try:
            direct = await client.get_account_data(EventType.DIRECT)
        except Exception:  # noqa: BLE001 - none yet
            direct = {}
        direct.setdefault(user_id, []).append(room)
        await self.link.retrying(lambda: client.set_account_data(EventType.DIRECT, direct))
        return str(room)


def build(runtime: Any) -> MatrixPlatform:
    """The Matrix platform of ``runtime`` from its settings (mautrix is imported when it starts)."""
    s = runtime.settings
    link = LinkSettings(homeserver=s.matrix_homeserver_url, user_id=s.matrix_user_id,
                        access_token=s.matrix_access_token, device_id=s.matrix_device_id or "",
                        store=s.matrix_store, pickle_key=s.matrix_pickle_key or s.secret or "incubot",
                        recovery_key=s.matrix_recovery_key)
    return MatrixPlatform(runtime, link, encrypt_direct=s.matrix_encrypt_direct)


# Events are stored before they are answered (like Slack's acks): the outbox goes out from background
# threads, so a homeserver that is slow or down never holds another platform's messages.
PLUG = Plug("matrix", enabled=lambda settings: settings.matrix_enabled, build=build, deliver_in_background=True)
