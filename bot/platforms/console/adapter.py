"""The bot in a terminal: the same handlers as in chat, rendered as text.

Buttons become numbered choices (type the number), forms become questions, and
``:as PERSON`` switches who is talking, so one person can play the coach, then
the intrapreneur who receives the request. :func:`plug` makes the console a platform of
the composition (``incubot shell``): the conversation is also the courier's sender.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import itertools
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url
from sqlmodel import Session
from starlette.routing import BaseRoute

from bot.delivery import Posted
from bot.port import Plug
from bot.runtime import Runtime
from handlers.core import Bot
from handlers.i18n import N_, Translator
from handlers.markup import render
from handlers.types import Action, Button, Form, Input, Reply, Request, Submission
from storage import reference
from storage.db import SessionFactory, unit_of_work
from storage.models import Person, Startup
from storage.platforms import PlatformName

PLATFORM = PlatformName.CONSOLE


_CODE = re.compile(r"`([^`\n]+)`")


def render_reply(reply: Reply, *, bold: Callable[[str], str] = lambda s: s, t: Translator | None = None) -> str:
    """A reply as terminal text (user text is shown as typed: a terminal interprets no markup).

    Our own ``**bold**`` is bold where the terminal has colours; a ``code`` span (a command to
    type) loses its backticks and is shown bold too.
    """

    def terminal(text: str) -> str:
        return _CODE.sub(lambda m: bold(m.group(1)), render(text, escape=str, bold=bold))

    lines = [terminal(reply.text)]
    t = t or Translator()
    if reply.facts:
        lines += ["  " + t("{label} : {value}", label=terminal(f.label), value=terminal(f.value)) for f in reply.facts]
    # A terminal shows no file: it names each one (the CLI writes it: ``incubot pv``, ``incubot report``).
    lines += ["  " + t("📎 {name} ({size} Ko)", name=f.filename, size=max(1, round(len(f.data) / 1024)))
              for f in reply.files]
    return "\n".join(lines)


def history_file(database_url: str) -> Path:
    """Where the shell keeps the lines typed against this database (one history per database)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(f"{url.database}.history")
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "incubot"
    key = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return state / f"history-{key}"


def enable_line_editing(history: Path) -> None:
    """Arrows, Ctrl-A / Ctrl-E, Ctrl-R and a history kept across sessions, for ``input()``.

    The stdlib's ``readline`` (GNU readline or libedit) is enough for a line prompt and
    needs no dependency; where Python has none (Windows), the prompt stays plain.
    """
    try:
        import readline
    except ImportError:  # pragma: no cover - Python built without readline
        return
    readline.set_history_length(1000)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)

    def save() -> None:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)

    atexit.register(save)


@dataclass
class Console:
    """One terminal conversation; also the courier's sender for the ``console`` platform."""

    bot: Bot
    sessions: SessionFactory
    person_id: str
    out: TextIO = field(default_factory=lambda: sys.stdout)
    ask: Callable[[str], str] = lambda prompt: input(prompt)  # noqa: E731 - looked up when asked (tests patch it)
    color: bool = False
    platform: str = PLATFORM  # the courier's name for it (Sender)
    name: str = PLATFORM  # the composition's name for it (Platform)
    choices: dict[int, Button] = field(default_factory=dict)
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def t(self) -> Translator:
        return self.bot.t

    # ------------------------------------------------------------------ the port

    @property
    def sender(self) -> Console:
        return self  # what the courier sends is shown in the same terminal

    def routes(self) -> list[BaseRoute]:
        return []

    def start(self) -> None:
        """The conversation runs in :meth:`loop`, called by ``incubot shell``."""

    def stop(self, timeout: float) -> bool:
        return True

    # ------------------------------------------------------------------ courier sender

    def person_address(self, session: Session, person: Person) -> str | None:
        return person.id

    def channel_address(self, session: Session, startup: Startup | None) -> str | None:
        return None  # the terminal has no channels: managers get direct messages

    def post_direct(self, user: str, reply: Reply, *, key: str | None = None) -> Posted:
        message_id = str(next(self._message_ids))
        self._show(self.t("📨 Message direct pour {name} (n° {id}) :", name=self._name(user), id=message_id), reply)
        return Posted(f"dm:{user}", message_id)

    def post_channel(self, channel: str, reply: Reply, *, key: str | None = None) -> Posted:
        message_id = str(next(self._message_ids))
        self._show(self.t("📣 Dans {channel} (n° {id}) :", channel=channel, id=message_id), reply)
        return Posted(channel, message_id)

    def update(self, channel: str, message_id: str, reply: Reply, *, key: str | None = None) -> None:
        self._show(self.t("✏️  Message n° {id} ({channel}) mis à jour :", id=message_id, channel=channel), reply)

    # ------------------------------------------------------------------ conversation

    def _bold(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self.color else text

    def _print(self, text: str = "") -> None:
        print(text, file=self.out)

    def _name(self, person_id: str) -> str:
        with unit_of_work(self.sessions) as session:
            person = reference.get_person(session=session, person_id=person_id)
        return person.name if person else person_id

    def _show(self, header: str | None, reply: Reply) -> None:
        if header:
            self._print(header)
        self._print(render_reply(reply, bold=self._bold, t=self.t))
        if reply.buttons:
            numbered = []
            for button in reply.buttons:
                n = next(self._numbers)
                self.choices[n] = button
                numbered.append(f"[{n}] {button.label}")
            self._print("  " + "   ".join(numbered))
        self._print()

    def say(self, text: str) -> None:
        """Handle one line typed at the prompt."""
        text = text.strip()
        if not text:
            return
        if text.startswith((":as ", "/as ")):
            self.switch(text.split(maxsplit=1)[1])
            return
        if text in (":qui", ":who"):
            self.who()
            return
        if text.isdigit() and int(text) in self.choices:
            self.click(int(text))
            return
        reply = self.bot.message(Request(PLATFORM, self.person_id, text))
        self._show(None, reply)
        if reply.form is not None:
            self.fill(reply.form)

    def click(self, number: int) -> None:
        button = self.choices[number]
        result = self.bot.action(Action(PLATFORM, self.person_id, button.action, button.value))
        self.show_result(result)

    def show_result(self, reply: Reply) -> None:
        if not reply.silent:
            self._show(None, reply)
        if reply.form is not None:
            self.fill(reply.form)

    def fill(self, form: Form) -> None:
        """Ask each field of ``form`` in turn, then submit; field errors ask again."""
        self._print(self.t("— {title} — (laisser vide un champ facultatif, « :annuler » pour abandonner)",
                           title=form.title))
        values: dict[str, str] = {}
        while True:
            for field_ in form.inputs:
                if field_.name in values:
                    continue
                answer = self._ask_field(field_)
                if answer is None:
                    self._print(self.t("Formulaire abandonné : rien n'a été enregistré.") + "\n")
                    return
                values[field_.name] = answer
            result = self.bot.submit(Submission(PLATFORM, self.person_id, form.callback, form.value, values))
            if not result.errors:
                if not result.silent:
                    self._show(None, result)
                return
            for name, message in result.errors.items():
                self._print(f"⚠️  {render(message, escape=str, bold=self._bold)}")
                values.pop(name, None)
            if not set(result.errors) & {i.name for i in form.inputs}:  # nothing to ask again: do not loop
                self._print(self.t("Formulaire abandonné : rien n'a été enregistré.") + "\n")
                return

    def _ask_field(self, field_: Input) -> str | None:
        label = field_.label + ("" if field_.required else self.t(" (facultatif)"))
        if field_.choices:
            for i, choice in enumerate(field_.choices, 1):
                self._print(f"  {i}. {choice.label}")
        while True:
            try:
                answer = self.ask(f"{label}{' — ' + field_.hint if field_.hint else ''} : ").strip()
            except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C: the form is given up, the shell goes on
                self._print()
                return None
            if answer == ":annuler":
                return None
            if not field_.choices:
                return answer
            if answer.isdigit() and 1 <= int(answer) <= len(field_.choices):
                return field_.choices[int(answer) - 1].value
            if not answer and field_.initial:
                return field_.initial
            if not answer and not field_.required:
                return answer
            # A choice out of range is refused at once, on this field, not after the whole form.
            self._print("⚠️  " + self.t("Tapez un numéro de 1 à {n}.", n=len(field_.choices)))

    def switch(self, person_id: str) -> None:
        with unit_of_work(self.sessions) as session:
            person = reference.get_person(session=session, person_id=person_id.strip())
        if person is None:
            self._print(self.t("Personne inconnue : « {id} ». Tapez :qui pour la liste.", id=person_id) + "\n")
            return
        self.person_id = person.id
        self._print(self.t("Vous parlez maintenant en tant que {name}.", name=person.name) + "\n")

    def who(self) -> None:
        with unit_of_work(self.sessions) as session:
            for person in reference.people(session=session):
                roles = [self.t(r) for r, on in ((N_("gestionnaire"), person.is_manager),
                                                  (N_("admin"), person.is_admin)) if on]
                for sid, rs in sorted(reference.roles_of(session=session, person_id=person.id).items()):
                    roles += [self.t("{role} de {startup}", role=self.t(r), startup=sid) for r in sorted(rs)]
                self._print(f"  {person.id:<16} {person.name} — {', '.join(roles) or self.t('aucun rôle')}")
        self._print()

    def loop(self) -> None:
        self._print(self.t("incubot — tapez « aide », « :qui » pour les personnes, « :as ID » pour changer "
                           "de personne, Ctrl-D ou Ctrl-C pour quitter.") + "\n")
        while True:
            try:
                line = self.ask(f"{self._name(self.person_id)} > ")
            except (EOFError, KeyboardInterrupt):
                self._print()
                return
            if line.strip() in (":q", ":quit", "quit", "exit"):
                return
            try:
                self.say(line)
            except KeyboardInterrupt:  # Ctrl-C while the bot works: back to the prompt, not a traceback
                self._print("\n" + self.t("Interrompu. Ce qui était déjà enregistré le reste : vérifiez avec "
                                          "« en-attente ».") + "\n")


def plug(person_id: str, *, color: bool = False) -> Plug:
    """The console of ``incubot shell`` as a platform of the composition, talking as ``person_id``."""

    def build(runtime: Runtime) -> Console:
        return Console(runtime.bot, runtime.services.sessions, person_id, color=color)

    return Plug(PLATFORM, enabled=lambda _settings: True, build=build)
