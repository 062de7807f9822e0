"""The Matrix chat driver: people talk to incubot from their own accounts on a real Synapse.

The homeserver is the test session's (``tests/synapse.py``, one per xdist worker); the people
of the demo world have accounts there, made once per session (``matrix_accounts``), and each
test has a bot account of its own, syncing from the test's database as ``incubot serve`` does.
What a person does is what a Matrix client does:

- ``say``: a message in the person's direct room with the bot (opened by the person the first
  time, the bot joins it); someone the bot does not know cannot open one (the invitation is
  declined), so they type ``!incubot …`` in a group room they share with the bot;
- ``click``: the reaction whose legend names the button (« Réagissez : ✅ Valider · ❌ Refuser »),
  on the latest message of the bot that offers it in the person's direct rooms (or, with
  ``channel="managers"``, in the managers' room, where a form's questions come in the message's thread);
- ``fill``: the answers to the step-by-step questions, one message each, where they are asked
  (the direct room, or the request's thread for a refusal's reason); a value left out is « - »
  (keep what is offered, or skip);
- ``inbox``: what the bot sent on its own in the person's direct rooms (requests, notices), as
  it is now (``m.replace`` edits applied); its answers to what the person typed are replies,
  which a Matrix client shows under the message they answer — not the inbox, like Slack's and
  Mattermost's ephemeral answers;
- ``managers_channel``: the bot's messages in the managers' room (a real room of the session,
  which each test's bot is invited to).

Nothing waits by sleeping: the driver waits on the people's ``/sync`` (long-polled, with a
deadline), and before reading an inbox for the bot's own work to be done (its inbox workers and
its background delivery idle, nothing due in the outbox).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.compose import Incubot
from bot.config import Settings
from storage import chat_state, outbox
from storage.db import session_factory, unit_of_work
from storage.models import Person
from storage.reference import set_account
from tests.chat import Seen, SeenFile, composed
from tests.synapse import MatrixAccounts, MatrixEvent, MatrixPerson, Synapse

DEADLINE = 30.0  # seconds for the bot's answer to reach a person's sync (a loaded machine)
MANAGERS_ROOM = "pilotage"
DIRECT_PLACE = "direct"


def _offered_keys() -> set[str]:
    from bot.platforms.matrix import render

    return {render.APPROVE, render.REFUSE, *render.KEYCAPS}


def seen_content(content: Mapping[str, Any]) -> tuple[Seen, dict[str, str]]:
    """A message as a Matrix client shows it (its plain body) and its legend as {button label: reaction}."""
    lines = str(content.get("body") or "").split("\n")
    keys: dict[str, str] = {}
    if lines and ":" in lines[-1]:
        parsed = [part.strip().split(" ", 1) for part in lines[-1].partition(":")[2].split(" · ")]
        offered = _offered_keys()
        if parsed and all(len(p) == 2 and p[0] in offered for p in parsed):
            keys = {label: key for key, label in parsed}
            lines = lines[:-1]
    return Seen("\n".join(lines), list(keys)), keys


def _reply_to(event: MatrixEvent) -> str | None:
    return (event.relates_to.get("m.in_reply_to") or {}).get("event_id")


def _thread_of(event: MatrixEvent) -> str | None:
    return event.relates_to.get("event_id") if event.relates_to.get("rel_type") == "m.thread" else None


class MatrixChat:
    """A :class:`tests.chat.ChatDriver` whose people use the client-server API of a real homeserver."""

    platform = "matrix"

    def __init__(self, incubot: Incubot, accounts: MatrixAccounts, bot_id: str, known: set[str]) -> None:
        self.incubot = incubot
        self.runtime = incubot.runtime
        self.accounts = accounts
        self.bot_id = bot_id
        self.known = known
        self.log: dict[str, list[MatrixEvent]] = {}  # who -> what the bot did that they saw, in order
        self.ids: dict[str, set[str]] = {}
        self.edits: dict[str, dict[str, Any]] = {}  # event id -> its latest m.new_content
        self.direct: dict[str, list[str]] = {}  # who -> their direct rooms with the bot
        self.shared: dict[str, str] = {}  # a stranger -> the group room they share with the bot
        self.forms: dict[str, tuple[str, str | None, str]] = {}  # who -> (room, thread, place) of their questions

    # ------------------------------------------------------------------ what people see

    def person(self, who: str) -> MatrixPerson:
        return self.accounts.person(who)

    def _pull(self, who: str, timeout_ms: int = 0) -> bool:
        """One ``/sync`` of ``who``: the bot's events kept, its invitations accepted; True if one was."""
        person = self.person(who)
        events = person.sync(timeout_ms)
        person.pending.clear()
        log, ids = self.log.setdefault(who, []), self.ids.setdefault(who, set())
        joined = False
        for event in events:
            if event.sender != self.bot_id:
                continue
            if event.section == "invite":
                if event.type == "m.room.member" and event.event.get("state_key") == person.user_id:
                    person.join(event.room_id)
                    if event.content.get("is_direct"):
                        self.direct.setdefault(who, []).append(event.room_id)
                    joined = True
                continue
            if event.event_id in ids:
                continue
            ids.add(event.event_id)
            log.append(event)
            if event.relates_to.get("rel_type") == "m.replace" and "m.new_content" in event.content:
                self.edits[str(event.relates_to.get("event_id"))] = event.content["m.new_content"]
        return joined

    def _wait(self, who: str, mark: int, predicate: Callable[[MatrixEvent], bool], what: str) -> MatrixEvent:
        """The first event of the bot after position ``mark`` of ``who``'s log that matches, within the deadline."""
        end = time.monotonic() + DEADLINE
        while True:
            log = self.log.setdefault(who, [])
            for event in log[mark:]:
                if predicate(event):
                    return event
            mark = len(log)
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{who} did not see {what} within {DEADLINE:.0f} s")
            self._pull(who, int(min(left, 5.0) * 1000))

    def _joined(self, who: str, room: str) -> None:
        """Wait until the bot has joined ``room`` (seen by ``who``)."""
        self._wait(who, 0, lambda e: e.room_id == room and e.type == "m.room.member"
                   and e.event.get("state_key") == self.bot_id and e.content.get("membership") == "join",
                   f"the bot joining {room}")

    def settle(self) -> None:
        """Wait until the bot has done what it was given: inbox handled, outbox sent (what is due)."""
        end = time.monotonic() + DEADLINE
        sessions = self.runtime.services.sessions
        while True:
            left = max(end - time.monotonic(), 0.1)
            self.runtime.inbox.join(left)
            if self.runtime.background is not None:
                self.runtime.background.executor.join(left)
            with unit_of_work(sessions) as session:
                due = outbox.waiting(session=session, now=self.runtime.services.clock())
            if not due:
                return
            if time.monotonic() > end:
                raise TimeoutError(f"the outbox still holds {len(due)} due messages")
            self.runtime.services.deliver()

    def _refresh(self, who: str) -> None:
        self.settle()
        while self._pull(who):  # an invitation accepted: the room's messages come with the next sync
            pass

    def _messages(self, who: str, rooms: list[str], *, replies: bool) -> list[tuple[MatrixEvent, dict[str, Any]]]:
        """The bot's messages in ``rooms`` as they are now; with ``replies``, its answers too."""
        shown = []
        for event in self.log.get(who, []):
            if event.room_id not in rooms or event.type != "m.room.message":
                continue
            if event.relates_to.get("rel_type") == "m.replace":
                continue
            if not replies and (_reply_to(event) or _thread_of(event)):
                continue
            if event.content.get("msgtype") == "m.file":
                continue  # a file of the message before it (_seen)
            shown.append((event, self.edits.get(event.event_id, event.content)))
        return shown

    def _seen(self, who: str, event: MatrixEvent, content: Mapping[str, Any]) -> Seen:
        """A message as ``who`` sees it, with the files the bot sent right after it downloaded (``m.file``)."""
        shown = seen_content(content)[0]
        log = self.log.get(who, [])
        for later in log[log.index(event) + 1:]:
            if later.room_id != event.room_id or later.type != "m.room.message":
                continue
            if later.content.get("msgtype") != "m.file":
                break
            shown.files.append(SeenFile(str(later.content.get("filename") or later.content.get("body")),
                                        self.person(who).download_file(later.content)))
        return shown

    # ------------------------------------------------------------------ rooms

    def room_of(self, who: str) -> str:
        """Where ``who`` types: their direct room with the bot (opened if none), or a shared room for a stranger."""
        if who not in self.known:
            if who not in self.shared:
                room = self.accounts.room(f"general-{who}", "camille.martin", (who,))
                self.person("camille.martin").invite(room, self.bot_id)
                self._joined("camille.martin", room)
                self.shared[who] = room
            return self.shared[who]
        rooms = self.direct.setdefault(who, [])
        if not rooms:
            self._pull(who)  # an invitation of the bot (a request) opens the direct room
        if not rooms:
            room = self.person(who).create_dm(self.bot_id)
            rooms.append(room)
            self._joined(who, room)
        return rooms[0]

    def join_managers_room(self) -> str:
        room = self.accounts.room(MANAGERS_ROOM, "camille.martin", ("hugo.bernard",))
        self.person("camille.martin").invite(room, self.bot_id)
        self._joined("camille.martin", room)
        return room

    # ------------------------------------------------------------------ forms

    def _dialogue(self, who: str, place: str) -> chat_state.Dialogue | None:
        with unit_of_work(self.runtime.services.sessions) as session:
            return chat_state.get_dialogue(session=session, platform="matrix", user_id=self.person(who).user_id,
                                           place=place)

    def _note_form(self, who: str, room: str, thread: str | None, place: str) -> None:
        if self._dialogue(who, place) is not None:
            self.forms[who] = (room, thread, place)
        elif self.forms.get(who, ("", None, ""))[2] == place:
            self.forms.pop(who)

    # ------------------------------------------------------------------ ChatDriver

    def say(self, who: str, text: str) -> Seen:
        if text.startswith("/incubot"):
            text = text[len("/incubot"):].strip()  # in a direct room, the command alone
        room = self.room_of(who)
        body = text if who in self.known else f"!incubot {text}"
        mark = len(self.log.setdefault(who, []))
        asked = self.person(who).send_text(room, body)
        answer = self._wait(who, mark, lambda e: e.type == "m.room.message" and _reply_to(e) == asked,
                            f"the answer to {body!r}")
        if who in self.known:
            self._note_form(who, room, None, DIRECT_PLACE)
        return seen_content(answer.content)[0]

    def rooms_of(self, who: str, channel: str | None) -> list[str]:
        """Where ``who`` reads: their direct rooms with the bot, or ``channel``'s room (``managers``)."""
        if channel is None:
            return self.direct.get(who, [])
        if channel != "managers":
            raise ValueError(f"unknown channel {channel!r}")
        return [self.accounts.rooms[MANAGERS_ROOM]]

    def click(self, who: str, ref: str, label: str, *, channel: str | None = None) -> Seen:
        self._refresh(who)
        offering = [(event, keys) for event, content in self._messages(who, self.rooms_of(who, channel), replies=True)
                    for shown, keys in [seen_content(content)] if ref in shown.text and label in keys]
        if not offering:
            raise AssertionError(f"{who} has no reaction {label!r} for {ref}")
        event, keys = offering[-1]
        mark = len(self.log[who])
        target = event.event_id
        self.person(who).react(event.room_id, target, keys[label])
        answer = self._wait(who, mark, lambda e: e.type == "m.room.message" and e.room_id == event.room_id
                            and target in (_reply_to(e), _thread_of(e)), f"the answer to {keys[label]}")
        if _thread_of(answer) == target:
            self._note_form(who, event.room_id, target, f"{event.room_id}/{target}")
        return seen_content(answer.content)[0]

    def fill(self, who: str, values: Mapping[str, str]) -> Seen:
        room, thread, place = self.forms[who]
        answered: set[str] = set()
        shown = Seen("")
        while True:
            dialogue = self._dialogue(who, place)
            if dialogue is None or not dialogue.queue:
                self.forms.pop(who, None)
                return shown
            name = dialogue.queue[0]
            if name in answered:
                return shown  # asked again: what the bot said is the field's error
            answered.add(name)
            content: dict[str, Any] = {"msgtype": "m.text", "body": values.get(name) or "-"}
            if thread:
                content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread, "is_falling_back": True,
                                           "m.in_reply_to": {"event_id": thread}}
            mark = len(self.log.setdefault(who, []))
            asked = self.person(who).send(room, "m.room.message", content)
            answer = self._wait(who, mark, lambda e, asked=asked: e.type == "m.room.message"  # type: ignore[misc]
                                and _reply_to(e) == asked, f"the answer to {content['body']!r}")
            shown = seen_content(answer.content)[0]

    def inbox(self, who: str) -> list[Seen]:
        self._refresh(who)
        return [self._seen(who, event, content) for event, content in
                self._messages(who, self.direct.get(who, []), replies=False)]

    def managers_channel(self) -> list[Seen]:
        self._refresh("camille.martin")
        return [self._seen("camille.martin", event, content) for event, content in
                self._messages("camille.martin", self.rooms_of("camille.martin", "managers"), replies=False)]


def matrix_incubot(engine: Engine, clock: Any, synapse: Synapse, folder: Any) -> tuple[Incubot, str]:
    """incubot with Matrix on, for a bot account of its own (its key store in ``folder``), not started."""
    from bot.platforms import matrix

    bot_id, token, device = synapse.register(f"incubot-{uuid.uuid4().hex[:8]}", "bot-password")
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                        matrix_homeserver_url=synapse.base_url, matrix_user_id=bot_id, matrix_access_token=token,
                        matrix_device_id=device, matrix_store=str(folder / "matrix-store.db"),
                        matrix_pickle_key="test")
    return composed(engine, clock, settings=settings, plugs=[matrix.PLUG]), bot_id


def matrix_chat(engine: Engine, clock: Any, request: pytest.FixtureRequest) -> MatrixChat:
    """The ``matrix`` chat driver: the world's people on the session's Synapse, a bot of the test's own."""
    pytest.importorskip("mautrix")
    synapse: Synapse = request.getfixturevalue("synapse")
    accounts: MatrixAccounts = request.getfixturevalue("matrix_accounts")
    folder = request.getfixturevalue("tmp_path")
    managers_room = accounts.room(MANAGERS_ROOM, "camille.martin", ("hugo.bernard",))
    with unit_of_work(session_factory(engine)) as session:
        known = {str(p.id) for p in session.exec(sa.select(Person)).scalars()}
        for who in sorted(known):
            set_account(session=session, person_id=who, platform="matrix", external_id=accounts.person(who).user_id)
        # The demo's rooms are on a homeserver that is not this one: the managers get the session's room,
        # the startups none (what goes to a startup's room is not part of these dialogues).
        session.execute(sa.text("DELETE FROM channel WHERE platform = 'matrix' AND startup_id IS NOT NULL"))
        session.execute(sa.text("UPDATE channel SET external_id = :room WHERE platform = 'matrix'"),
                        {"room": managers_room})
    incubot, bot_id = matrix_incubot(engine, clock, synapse, folder)
    incubot.start()
    request.addfinalizer(lambda: incubot.stop(10))
    chat = MatrixChat(incubot, accounts, bot_id, known)
    chat.join_managers_room()
    return chat
