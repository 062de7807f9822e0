"""The neutral request and reply: what every platform adapter translates to and from.

A handler never sees a Slack payload or a Mattermost post; it gets a
:class:`Request`, :class:`Action` or :class:`Submission` and returns one type for all
three, a :class:`Reply`. Platforms in ``bot/platforms/`` present it (Block Kit, Mattermost
attachments/dialogs, Matrix HTML, terminal text): to the person who asked only —
ephemeral where the platform can, else a direct message — unless it is ``public``.

A reply never changes a message already posted: a decision updates every copy of its
request through the outbox (``handlers.notify.update_subject``), exactly once.

Text uses a tiny markup that every adapter renders: ``**bold**`` and user-typed
text wrapped by :func:`handlers.markup.user` (escaped by each adapter its own way).

A message may carry files (:class:`Attachment`): a platform sends them with it (a Slack file
upload, a Mattermost file, Matrix media); the terminal names them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Fact:
    """A label/value pair shown as a field (amount, supplier, …)."""

    label: str
    value: str


@dataclass(frozen=True)
class Button:
    """A button that triggers ``action`` on ``value`` (a reference)."""

    label: str
    action: str
    value: str
    style: str = "default"  # "primary" | "danger" | "default"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Input:
    """One field of a form."""

    name: str
    label: str
    kind: str = "text"  # "text" | "textarea" | "select"
    required: bool = True
    choices: tuple[Choice, ...] = ()
    placeholder: str = ""
    initial: str = ""
    max_length: int = 200
    hint: str = ""


@dataclass(frozen=True)
class Form:
    """A form to open (Slack modal, Mattermost dialog, terminal prompts).

    ``callback`` names what handles the submission; ``value`` travels with it
    (for instance the reference being refused).
    """

    callback: str
    title: str
    submit_label: str
    inputs: tuple[Input, ...]
    value: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: its name, MIME type and bytes.

    A handler that would have to render a document inside its transaction (a decision's PV, the
    monthly report) names it instead, ``document`` = (kind, key) of :mod:`handlers.attachments`,
    and leaves ``data`` empty: the courier makes the bytes once, when the message first goes out,
    and every platform and every retry sends those bytes (``storage.outbox``).
    """

    filename: str
    mime: str
    data: bytes = b""
    document: tuple[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"filename": self.filename, "mime": self.mime}
        if self.data:
            out["data"] = base64.b64encode(self.data).decode("ascii")
        if self.document is not None:
            out["document"] = list(self.document)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attachment:
        document = data.get("document")
        return cls(filename=data["filename"], mime=data["mime"],
                   data=base64.b64decode(data["data"]) if data.get("data") else b"",
                   document=(str(document[0]), str(document[1])) if document else None)


@dataclass(frozen=True)
class Reply:
    """What the bot answers a command, a click or a form — and the content of a message it posts.

    ``text`` (with ``facts`` and ``buttons``) is shown to the person who asked, or nothing when
    :attr:`silent`; ``form`` is to be opened for them (a modal, a dialog, questions one by one);
    ``errors`` (field name → French sentence) answer a submitted form whose fields are wrong:
    the form stays open and nothing was stored. ``files`` go with the message the courier posts
    (the answer to a command carries none: Slack's ephemeral answers cannot).
    """

    text: str
    facts: tuple[Fact, ...] = ()
    buttons: tuple[Button, ...] = ()
    form: Form | None = None
    public: bool = False  # False: only the person who asked sees it
    errors: Mapping[str, str] = field(default_factory=dict)
    files: tuple[Attachment, ...] = ()

    @property
    def silent(self) -> bool:
        """Nothing to show (a click that only opens a form, a form with field errors)."""
        return not (self.text or self.facts or self.buttons or self.files)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, files=()))
        data["files"] = [f.to_dict() for f in self.files]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        form = data.get("form")
        return cls(
            text=data["text"],
            facts=tuple(Fact(**f) for f in data.get("facts", ())),
            buttons=tuple(Button(**b) for b in data.get("buttons", ())),
            form=_form_from_dict(form) if form else None,
            public=bool(data.get("public", False)),
            errors=dict(data.get("errors") or {}),
            files=tuple(Attachment.from_dict(f) for f in data.get("files", ())),
        )


def _form_from_dict(data: Mapping[str, Any]) -> Form:
    inputs = tuple(
        Input(**{**i, "choices": tuple(Choice(**c) for c in i.get("choices", ()))}) for i in data["inputs"]
    )
    return Form(
        callback=data["callback"],
        title=data["title"],
        submit_label=data["submit_label"],
        inputs=inputs,
        value=data.get("value", ""),
    )


@dataclass(frozen=True)
class Request:
    """Someone typed something: a slash command, a direct message, a mention."""

    platform: str  # "slack" | "mattermost" | "console"
    user_id: str  # the platform's user id (console: the person id)
    text: str
    channel_id: str | None = None


@dataclass(frozen=True)
class Action:
    """Someone clicked a button."""

    platform: str
    user_id: str
    action: str
    value: str


@dataclass(frozen=True)
class Submission:
    """Someone submitted a form."""

    platform: str
    user_id: str
    callback: str
    value: str
    values: Mapping[str, str] = field(default_factory=dict)
