"""The bot in a terminal: the same handlers as in chat, rendered as text.

Buttons become numbered choices (type the number), forms become questions, and
``:as PERSON`` switches who is talking, so one person can play the coach, then
the intrapreneur who receives the request.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from bot.delivery import Posted
from handlers.core import Bot
from handlers.markup import render
from handlers.types import Action, ActionResult, Button, Form, Reply, Request, Submission
from storage import reference
from storage.db import SessionFactory, unit_of_work
from storage.models import Convention, Person, Startup

PLATFORM = "console"


def render_reply(reply: Reply, *, bold: Callable[[str], str] = lambda s: s) -> str:
    """A reply as terminal text (user text is shown as typed: a terminal interprets no markup)."""
    lines = [render(reply.text, escape=lambda s: s, bold=bold)]
    for fact in reply.facts:
        lines.append(f"  {render(fact.label, escape=str, bold=bold)} : {render(fact.value, escape=str, bold=bold)}")
    return "\n".join(lines)


@dataclass
class Console:
    """One terminal conversation; also the courier's sender for the ``console`` platform."""

    bot: Bot
    sessions: SessionFactory
    person_id: str
    out: TextIO = field(default_factory=lambda: sys.stdout)
    ask: Callable[[str], str] = lambda prompt: input(prompt)  # noqa: E731 - looked up when asked (tests patch it)
    color: bool = False
    platform: str = PLATFORM
    choices: dict[int, Button] = field(default_factory=dict)
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ courier sender

    def person_address(self, person: Person) -> str | None:
        return person.id

    def channel_address(self, convention: Convention | None, startup: Startup | None) -> str | None:
        return None  # the terminal has no channels: managers get direct messages

    def post_direct(self, user: str, reply: Reply) -> Posted:
        message_id = str(next(self._message_ids))
        self._show(f"📨 Message direct pour {self._name(user)} (n° {message_id}) :", reply)
        return Posted(f"dm:{user}", message_id)

    def post_channel(self, channel: str, reply: Reply) -> Posted:
        message_id = str(next(self._message_ids))
        self._show(f"📣 Dans {channel} (n° {message_id}) :", reply)
        return Posted(channel, message_id)

    def update(self, channel: str, message_id: str, reply: Reply) -> None:
        self._show(f"✏️  Message n° {message_id} ({channel}) mis à jour :", reply)

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
        self._print(render_reply(reply, bold=self._bold))
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

    def show_result(self, result: ActionResult) -> None:
        if result.reply is not None:
            self._show(None, result.reply)
        if result.form is not None:
            self.fill(result.form)

    def fill(self, form: Form) -> None:
        """Ask each field of ``form`` in turn, then submit; field errors ask again."""
        self._print(f"— {form.title} — (laisser vide un champ facultatif, « :annuler » pour abandonner)")
        values: dict[str, str] = {}
        while True:
            for field_ in form.inputs:
                if field_.name in values:
                    continue
                answer = self._ask_field(field_)
                if answer is None:
                    self._print("Formulaire abandonné : rien n'a été enregistré.\n")
                    return
                values[field_.name] = answer
            result = self.bot.submit(Submission(PLATFORM, self.person_id, form.callback, form.value, values))
            if not result.errors:
                if result.reply is not None:
                    self._show(None, result.reply)
                return
            for name, message in result.errors.items():
                self._print(f"⚠️  {render(message, escape=str, bold=self._bold)}")
                values.pop(name, None)
            if not set(result.errors) & {i.name for i in form.inputs}:  # nothing to ask again: do not loop
                self._print("Formulaire abandonné : rien n'a été enregistré.\n")
                return

    def _ask_field(self, field_: object) -> str | None:
        from handlers.types import Input

        assert isinstance(field_, Input)
        label = field_.label + ("" if field_.required else " (facultatif)")
        if field_.choices:
            for i, choice in enumerate(field_.choices, 1):
                self._print(f"  {i}. {choice.label}")
        try:
            answer = self.ask(f"{label}{' — ' + field_.hint if field_.hint else ''} : ").strip()
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C: the form is given up, the shell goes on
            self._print()
            return None
        if answer == ":annuler":
            return None
        if field_.choices:
            if answer.isdigit() and 1 <= int(answer) <= len(field_.choices):
                return field_.choices[int(answer) - 1].value
            if not answer and field_.initial:
                return field_.initial
        return answer

    def switch(self, person_id: str) -> None:
        with unit_of_work(self.sessions) as session:
            person = reference.get_person(session=session, person_id=person_id.strip())
        if person is None:
            self._print(f"Personne inconnue : « {person_id} ». Tapez :qui pour la liste.\n")
            return
        self.person_id = person.id
        self._print(f"Vous parlez maintenant en tant que {person.name}.\n")

    def who(self) -> None:
        with unit_of_work(self.sessions) as session:
            for person in reference.people(session=session):
                roles = [r for r, on in (("gestionnaire", person.is_manager), ("admin", person.is_admin)) if on]
                for sid, rs in sorted(reference.roles_of(session=session, person_id=person.id).items()):
                    roles += [f"{r} de {sid}" for r in sorted(rs)]
                self._print(f"  {person.id:<16} {person.name} — {', '.join(roles) or 'aucun rôle'}")
        self._print()

    def loop(self) -> None:
        self._print("incubot — tapez « aide », « :qui » pour les personnes, « :as ID » pour changer "
                    "de personne, Ctrl-D ou Ctrl-C pour quitter.\n")
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
                self._print("\nInterrompu. Ce qui était déjà enregistré le reste : vérifiez avec « en-attente ».\n")
