"""A transcript stub platform, on the model of zulip_bots' ``StubBotHandler``.

:class:`StubPlatform` is a :class:`bot.port.Platform` with no wire, composed like any other
(``compose(plugs=[stub.plug()])``). It records, in order, everything the bot said and to whom:

- ``reply``: the answer to what a person typed, clicked or filled in (only they see it);
- ``dm`` / ``channel``: each message the courier posted (a direct message, the managers' or a
  startup's channel);
- ``update``: each message the courier replaced in place.

:class:`StubChat` drives the bot as people do (it is the ``neutral`` :class:`tests.chat.ChatDriver`)
and adds the transcript's checks: :meth:`StubChat.expect` takes the next message said to someone
and checks what it says; :meth:`StubChat.expect_nothing_more` fails on any message no test
expected — a duplicate direct message, a second update of a request, an alert nobody asked for.
The ``stub`` fixture calls it when the test ends. So a dialogue test checks *what* the bot said
to whom once, here; each platform's own tests only check how it presents an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.delivery import Posted
from bot.runtime import Runtime
from handlers.markup import plain
from handlers.types import Action, Form, Reply, Request, Submission
from tests.chat import RecordingSender, Seen, seen

KINDS = ("reply", "dm", "channel", "update")


@dataclass(frozen=True)
class Said:
    """One message of the transcript: to whom (a person id, ``managers``, ``startup:<id>``), how, what."""

    to: str
    kind: str  # one of KINDS
    reply: Reply

    @property
    def seen(self) -> Seen:
        if self.reply.form is not None and self.reply.silent:
            return Seen(f"[form: {self.reply.form.title}]")
        if self.reply.errors:
            return Seen("\n".join(plain(m) for m in self.reply.errors.values()))
        return seen(self.reply)

    def __str__(self) -> str:
        first = self.seen.text.splitlines()[0] if self.seen.text else ""
        return f"{self.kind} to {self.to}: {first[:100]!r}"


def _recipient(channel: str) -> str:
    """Whom a posted message is for: ``dm:lea.dupont`` → ``lea.dupont``; channels keep their name."""
    return channel.removeprefix("dm:")


class StubPlatform(RecordingSender):
    """The platform side: the courier's sender, which writes what it posts and updates in the transcript."""

    def __init__(self) -> None:
        super().__init__("console")
        self.transcript: list[Said] = []

    def post_channel(self, channel: str, reply: Reply, *, key: str | None = None) -> Posted:
        posted = super().post_channel(channel, reply)
        kind = "dm" if channel.startswith("dm:") else "channel"
        self.transcript.append(Said(_recipient(channel), kind, reply))
        return posted

    def update(self, channel: str, message_id: str, reply: Reply, *, key: str | None = None) -> None:
        super().update(channel, message_id, reply)
        self.transcript.append(Said(_recipient(channel), "update", reply))


@dataclass
class StubChat:
    """People talking to the bot through the stub platform, and the checks of the transcript."""

    runtime: Runtime
    stub: StubPlatform
    platform: str = "console"
    forms: dict[str, Form] = field(default_factory=dict)
    checked: set[int] = field(default_factory=set)  # indexes of the transcript already expected

    @property
    def transcript(self) -> list[Said]:
        return self.stub.transcript

    # ------------------------------------------------------------------ people (ChatDriver)

    def say(self, who: str, text: str) -> Seen:
        """``who`` types ``text`` (``/incubot …`` or a direct message); what they see back."""
        if text.startswith("/incubot"):
            text = text[len("/incubot"):].strip()
        return self._answer(who, self.runtime.bot.message(Request(self.platform, who, text)))

    def click(self, who: str, ref: str, label: str, *, channel: str | None = None) -> Seen:
        """``who`` clicks ``label`` on the latest message about ``ref`` they received (or, with
        ``channel``, posted there: ``managers``)."""
        for reply in reversed(self.stub.messages(channel or f"dm:{who}")):
            for button in reply.buttons:
                if button.value == ref and button.label == label:
                    return self._answer(who, self.runtime.bot.action(
                        Action(self.platform, who, button.action, ref)))
        raise AssertionError(f"{who} has no button {label!r} for {ref}")

    def fill(self, who: str, values: Mapping[str, str]) -> Seen:
        """``who`` submits the form last opened for them; what they see (field errors included)."""
        form = self.forms[who]
        reply = self.runtime.bot.submit(Submission(self.platform, who, form.callback, form.value, dict(values)))
        if not reply.errors:
            self.forms.pop(who, None)
        return self._answer(who, reply)

    def inbox(self, who: str) -> list[Seen]:
        """Direct messages ``who`` received, oldest first, as they are now (after updates)."""
        return [seen(r) for r in self.stub.messages(f"dm:{who}")]

    def managers_channel(self) -> list[Seen]:
        return [seen(r) for r in self.stub.messages("managers")]

    def _answer(self, who: str, reply: Reply) -> Seen:
        if reply.form is not None:
            self.forms[who] = reply.form
        said = Said(who, "reply", reply)
        self.transcript.append(said)
        return said.seen

    # ------------------------------------------------------------------ the transcript

    def expect(self, to: str, *contains: str, kind: str | None = None) -> Seen:
        """The next message said to ``to`` (of ``kind`` if given) that no test expected yet; it must say
        each of ``contains``, and is then expected.

        Messages are in order for each person and kind: a click's answer may come after the updates
        its decision sent (delivery inline), as on a platform where both arrive at once.
        """
        assert kind is None or kind in KINDS, kind
        for index, said in enumerate(self.transcript):
            if index in self.checked or said.to != to or kind not in (None, said.kind):
                continue
            for text in contains:
                assert text in said.seen.text, f"{text!r} not in {said}: {said.seen.text!r}"
            self.checked.add(index)
            return said.seen
        raise AssertionError(f"no {kind or 'message'} to {to} left to expect; not expected yet: "
                             f"{self.unexpected() or 'nothing'}")

    def unexpected(self) -> list[str]:
        """What was said and no test expected, one line each."""
        return [str(said) for index, said in enumerate(self.transcript) if index not in self.checked]

    def expect_nothing_more(self) -> None:
        """Fails on any message of the transcript no test expected."""
        left = self.unexpected()
        assert not left, "the bot said more than expected:\n" + "\n".join(left)

    def forget_so_far(self) -> None:
        """What was said until now is the setting of the test, not what it checks."""
        self.checked.update(range(len(self.transcript)))
