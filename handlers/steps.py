"""Forms filled step by step: one question per field, for platforms without forms (Matrix).

A reply that carries a :class:`~handlers.types.Form` becomes a dialogue: :meth:`Steps.start`
asks its first field; each message of that person in that place is :meth:`Steps.answer`-ed —
a choice by its number, its value or its label; ``-`` skips an optional field (or keeps the
value offered); ``annuler`` stops. When every field is answered the form is submitted through
:meth:`handlers.core.Bot.submit` like a modal: the same field errors come back, each erroneous
field is asked again (the others are kept), and the outcome of the submission ends the dialogue.

The state (the form, the fields still to ask, the answers) is stored (``form_dialogue``) in
the same transaction as the message's work, so a restart in the middle resumes at the same
question. A ``place`` is the platform's own string (a direct room, a thread); nothing here
knows a platform, so the terminal could use it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from handlers.core import Bot
from handlers.markup import plain, user
from handlers.types import Form, Input, Reply, Submission
from storage import chat_state
from storage.db import unit_of_work
from storage.text import fold

STALE_AFTER = timedelta(days=1)  # a dialogue left this long is forgotten: the next message is a command again
CANCEL_WORDS = frozenset({"annuler", "annule", "cancel", "stop"})
SKIP = "-"


@dataclass(frozen=True)
class Step:
    """What a message in a dialogue gives: the bot's reply, and whether the dialogue is over."""

    reply: Reply
    done: bool


def _form_dict(form: Form) -> dict[str, object]:
    return Reply("", form=form).to_dict()["form"]  # type: ignore[no-any-return]


def _form_of(data: dict[str, object]) -> Form:
    form = Reply.from_dict({"text": "", "form": data}).form
    assert form is not None
    return form


class Steps:
    """The step-by-step engine over :class:`Bot` (its services give the sessions, clock and translator)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @property
    def t(self):  # type: ignore[no-untyped-def]
        return self.bot.services.t

    # ------------------------------------------------------------------ entry points

    def running(self, platform: str, user_id: str, place: str) -> bool:
        with unit_of_work(self.bot.services.sessions) as session:
            return self._load(session, platform, user_id, place) is not None

    def start(self, platform: str, user_id: str, place: str, form: Form, intro: str = "") -> Reply:
        """Begin ``form`` for ``user_id`` in ``place`` (replacing one left there); the first question."""
        now = self.bot.services.now()
        queue = [field.name for field in form.inputs]
        dialogue = chat_state.Dialogue(_form_dict(form), queue, {}, now)
        with unit_of_work(self.bot.services.sessions) as session:
            chat_state.save_dialogue(session=session, platform=platform, user_id=user_id, place=place,
                                     dialogue=dialogue)
        t = self.t
        lines = [line for line in (intro, f"**{form.title}**",
                                   t("Je vous pose les questions une par une ; « annuler » pour arrêter.")) if line]
        return Reply("\n".join(lines + [self._question(form.inputs[0])]))

    def answer(self, platform: str, user_id: str, place: str, text: str) -> Step | None:
        """``text`` as the answer to the question asked in ``place``; None when no dialogue runs there."""
        t = self.t
        with unit_of_work(self.bot.services.sessions) as session:
            dialogue = self._load(session, platform, user_id, place)
            if dialogue is None:
                return None
            form = _form_of(dialogue.form)
            if fold(text.strip()) in CANCEL_WORDS:
                chat_state.end_dialogue(session=session, platform=platform, user_id=user_id, place=place)
                return Step(Reply(t("C'est annulé : rien n'a été enregistré.")), done=True)
            fields = {field.name: field for field in form.inputs}
            field = fields.get(dialogue.queue[0]) if dialogue.queue else None
            if field is None:  # a form whose fields changed under it: start again
                chat_state.end_dialogue(session=session, platform=platform, user_id=user_id, place=place)
                return Step(Reply(t("Ce formulaire n'est plus valable.")), done=True)
            value, problem = self._read(field, text)
            if problem:
                return Step(Reply(problem + "\n" + self._question(field)), done=False)
            dialogue.answers[field.name] = value
            dialogue.queue.pop(0)
            dialogue.updated_at = self.bot.services.now()
            if dialogue.queue:
                chat_state.save_dialogue(session=session, platform=platform, user_id=user_id, place=place,
                                         dialogue=dialogue)
                return Step(Reply(self._question(fields[dialogue.queue[0]])), done=False)
            chat_state.end_dialogue(session=session, platform=platform, user_id=user_id, place=place)
        result = self.bot.submit(Submission(platform, user_id, form.callback, form.value, dialogue.answers))
        if not result.errors:
            return Step(Reply(t("C'est fait.")) if result.silent else result, done=True)
        # The same field errors as a form: ask again what is wrong, keep the rest.
        wrong = [name for name in fields if name in result.errors] or list(fields)
        dialogue.queue = wrong
        for name in wrong:
            dialogue.answers.pop(name, None)
        with unit_of_work(self.bot.services.sessions) as session:
            chat_state.save_dialogue(session=session, platform=platform, user_id=user_id, place=place,
                                     dialogue=dialogue)
        messages = [result.errors[name] for name in wrong if name in result.errors]
        return Step(Reply("\n".join(messages + [self._question(fields[wrong[0]])])), done=False)

    def cancel(self, platform: str, user_id: str, place: str) -> None:
        with unit_of_work(self.bot.services.sessions) as session:
            chat_state.end_dialogue(session=session, platform=platform, user_id=user_id, place=place)

    # ------------------------------------------------------------------ plumbing

    def _load(self, session, platform: str, user_id: str, place: str):  # type: ignore[no-untyped-def]
        dialogue = chat_state.get_dialogue(session=session, platform=platform, user_id=user_id, place=place)
        if dialogue is not None and self.bot.services.now() - dialogue.updated_at > STALE_AFTER:
            chat_state.end_dialogue(session=session, platform=platform, user_id=user_id, place=place)
            return None
        return dialogue

    def _question(self, field: Input) -> str:
        t = self.t
        lines = [f"**{field.label}**"]
        if field.hint:
            lines.append(field.hint)
        if field.kind == "select":
            lines += [f"{n}. {choice.label}" + (f" ({choice.value})" if fold(choice.value) != fold(plain(choice.label))
                                                 else "")
                      for n, choice in enumerate(field.choices, 1)]
            lines.append(t("Répondez par le numéro ou le nom."))
        if field.initial:
            initial = next((c.label for c in field.choices if c.value == field.initial), field.initial)
            lines.append(t("« {skip} » pour garder « {value} ».", skip=SKIP, value=user(plain(initial))))
        elif not field.required:
            lines.append(t("Facultatif : « {skip} » pour passer.", skip=SKIP))
        return "\n".join(lines)

    def _read(self, field: Input, text: str) -> tuple[str, str | None]:
        """The value of ``field`` in ``text``, or the reason it is not one."""
        t = self.t
        typed = text.strip()
        if typed == SKIP:
            if field.initial:
                return field.initial, None
            if not field.required:
                return "", None
            return "", t("Cette réponse est obligatoire.")
        if field.kind == "select":
            wanted = fold(typed)
            for n, choice in enumerate(field.choices, 1):
                if wanted in (str(n), fold(choice.value), fold(plain(choice.label))):
                    return choice.value, None
            return "", t("Je ne trouve pas « {typed} » parmi les réponses proposées (1 à {n}).",
                         typed=user(typed[:80]), n=len(field.choices))
        if len(typed) > field.max_length:
            return "", t("{n} caractères au plus.", n=field.max_length)
        return typed, None
