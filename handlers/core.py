"""The platform-neutral bot: parse, check who is asking, run, return a reply.

:class:`Bot` is what every adapter calls. It resolves the person, opens one unit
of work per request, routes to the command / action / form handlers registered
by the modules of this package (:mod:`handlers.registry`), turns refusals into
their French sentence and anything unexpected into a short generic message (the
traceback goes to the log, never to the user). After the unit of work commits, it asks ``services.deliver``
to send what the handler put in the outbox.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session

from handlers.errors import CommandError, FieldErrors
from handlers.i18n import Translator
from handlers.markup import MAX_INPUT_CHARS, clean_input, user
from handlers.permissions import Actor
from handlers.refusals import explain
from handlers.services import Services
from handlers.types import Action, Reply, Request, Submission
from storage import outbox, reference
from storage.db import unit_of_work
from storage.errors import LedgerRefusal
from storage.text import fold


@dataclass
class Context:
    """One request being handled: who, from where, with which session."""

    services: Services
    session: Session
    actor: Actor
    platform: str
    registry: Registry

    @property
    def t(self) -> Translator:
        return self.services.t

    def now(self) -> datetime:
        return self.services.now()

    def today(self) -> date:
        return self.services.today()

    @property
    def year(self) -> int:
        return self.now().year


# Commands, clicks and forms all answer a Reply (handlers/types.py).
CommandFn = Callable[[Context, str], Reply]
ActionFn = Callable[[Context, str], Reply]
SubmitFn = Callable[[Context, str, Mapping[str, str]], Reply]


@dataclass(frozen=True)
class Command:
    name: str  # the French word, shown in help
    aliases: tuple[str, ...]
    run: CommandFn
    usage: str  # French, e.g. "budget [ANNÉE] [STARTUP]"
    summary: str  # French, one line
    allowed: Callable[[Actor], bool] = lambda actor: True
    # Changes nothing and tells nobody else (a figure, a list, the help): a platform that must ack within
    # seconds may answer it in the ack itself, with nothing stored for later (bot.platforms.slack).
    reads_only: bool = False


@dataclass
class Registry:
    commands: list[Command] = field(default_factory=list)
    actions: dict[str, ActionFn] = field(default_factory=dict)
    forms: dict[str, SubmitFn] = field(default_factory=dict)

    def command(self, cmd: Command) -> None:
        self.commands.append(cmd)

    def find(self, word: str) -> Command | None:
        wanted = fold(word)
        for cmd in self.commands:
            if wanted in {fold(cmd.name), *(fold(a) for a in cmd.aliases)}:
                return cmd
        return None

    def lookup(self, text: str) -> tuple[Command | None, str, str]:
        """The command that ``text`` starts with, the word as typed, and its arguments.

        The bot's own words work as typed in a sentence: « en attente », « service fait D-… »
        are ``en-attente`` and ``service-fait``.
        """
        word, args = _first_word(text)
        second, rest = _first_word(args)
        if second:
            joined = self.find(f"{word}-{second}")
            if joined is not None:
                return joined, f"{word} {second}", rest
        return self.find(word), word, args

    def suggestion(self, word: str) -> Command | None:
        """The command a near miss most likely meant (« budjet » → budget), if one is close enough."""
        names = {fold(name): cmd for cmd in self.commands for name in (cmd.name, *cmd.aliases)}
        close = difflib.get_close_matches(fold(word), list(names), n=1, cutoff=0.75)
        return names[close[0]] if close else None


class Bot:
    """Entry point of every platform: ``message``, ``action``, ``submit``.

    ``registry``: what it answers to — :func:`handlers.registry.register_all` for incubot's own
    commands (the core imports no handler module).
    """

    def __init__(self, services: Services, registry: Registry) -> None:
        self.services = services
        self.registry = registry

    @property
    def t(self) -> Translator:
        return self.services.t

    # ------------------------------------------------------------------ entry points

    def _lookup(self, typed: str) -> tuple[Command | None, str, str]:
        """The command ``typed`` asks for, the word that named it and its arguments."""
        text = clean_input(typed).strip()
        word, rest = _first_word(text)  # any whitespace: "devis\ndedale; …", no-break spaces
        if word.startswith("/"):  # "/incubot budget" typed in a DM
            text = rest
        return self.registry.lookup(text)

    def message(self, request: Request) -> Reply:
        cmd, word, args = self._lookup(request.text)

        typed = len(request.text)

        def run(ctx: Context) -> Reply:
            if typed > MAX_INPUT_CHARS:  # refused whole rather than silently cut
                raise CommandError(self.t("Ce message est trop long ({n} caractères ; {max} au plus) : "
                                          "rien n'a été enregistré.", n=self.t.number(typed),
                                          max=self.t.number(MAX_INPUT_CHARS)))
            if not word:
                return self.registry.find("aide").run(ctx, "")  # type: ignore[union-attr]
            if cmd is None:
                typed_word = user(word if len(word) <= 40 else word[:40] + "…")
                near = self.registry.suggestion(word)
                if near is not None:
                    return Reply(self.t("Je ne connais pas la commande « {word} ». Vouliez-vous dire **{name}** ? "
                                        "Tapez **aide** pour la liste.", word=typed_word, name=near.name))
                return Reply(
                    self.t("Je ne connais pas la commande « {word} ». Tapez **aide** pour la liste.", word=typed_word)
                )
            if not cmd.allowed(ctx.actor):
                raise CommandError(self.t("La commande **{name}** est réservée aux gestionnaires.", name=cmd.name))
            return cmd.run(ctx, args)

        return self._run(request.platform, request.user_id, run, Reply)

    def reads_only(self, text: str) -> bool:
        """Whether ``text`` asks for a command that only reads (:attr:`Command.reads_only`): the help for
        an empty text, a near miss's suggestion, ``budget``… — nothing to lose if its answer never leaves."""
        cmd, word, _args = self._lookup(text)
        return not word or cmd is None or cmd.reads_only

    def action(self, action: Action) -> Reply:
        handler = self.registry.actions.get(action.action)
        if handler is None:
            return Reply(self.t("Ce bouton n'est plus valable."))
        return self._run(action.platform, action.user_id, lambda ctx: handler(ctx, action.value), Reply)

    def submit(self, submission: Submission) -> Reply:
        handler = self.registry.forms.get(submission.callback)
        if handler is None:
            return Reply(self.t("Ce formulaire n'est plus valable."))
        values = {k: clean_input(v or "") for k, v in submission.values.items()}
        return self._run(
            submission.platform,
            submission.user_id,
            lambda ctx: handler(ctx, submission.value, values),
            Reply,
            on_fields=lambda errors: Reply("", errors=errors),
        )

    # ------------------------------------------------------------------ plumbing

    def _run(
        self,
        platform: str,
        user_id: str,
        body: Callable[[Context], Reply],
        on_refusal: Callable[[str], Reply],
        on_fields: Callable[[dict[str, str]], Reply] | None = None,
    ) -> Reply:
        try:
            with self.services.admit(), unit_of_work(self.services.sessions) as session:
                found = reference.find_actor(session=session, platform=platform, user_id=user_id)
                if found is None:
                    return on_refusal(self._stranger_message(session))
                actor = Actor(*found)
                result = body(Context(self.services, session, actor, platform, self.registry))
                to_deliver = outbox.enqueued_in(session)
        except FieldErrors as exc:
            return on_fields(exc.errors) if on_fields else on_refusal(exc.message)
        except CommandError as exc:
            return on_refusal(exc.message)
        except LedgerRefusal as exc:
            return on_refusal(explain(self.t, exc))
        except Exception:
            self.services.log.exception("request failed (platform=%s user=%s)", platform, user_id)
            return on_refusal(
                self.t("Désolé, une erreur inattendue s'est produite ; rien n'a été modifié. "
                       "L'équipe technique a été prévenue.")
            )
        if to_deliver:
            self._deliver()
        return result

    def _deliver(self) -> None:
        try:
            self.services.deliver()
        except Exception:  # the outbox keeps it: the sweep will retry
            self.services.log.exception("delivery failed; the outbox will retry")

    def _stranger_message(self, session: Session) -> str:
        admins = [p.name for p in reference.people(session=session) if p.is_admin]
        whom = ", ".join(admins) if admins else self.t("l'équipe de l'incubateur")
        return self.t(
            "Je ne vous connais pas encore : je ne peux rien faire pour vous. "
            "Demandez à {whom} de vous ajouter à incubot.",
            whom=whom,
        )


def _first_word(text: str) -> tuple[str, str]:
    parts = text.split(None, 1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else (text.strip(), "")
