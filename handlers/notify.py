"""Putting messages in the outbox, in the transaction of the change that causes them.

Targets are neutral: ``person:<id>``, ``managers``, ``startup:<id>`` and
``subject:<reference>`` (every message already posted about a reference, to be
updated in place). ``bot.delivery`` turns them into platform addresses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from handlers.core import Context
from handlers.types import Reply
from storage import convention, outbox, reference

_TOGETHER = "incubot.notify.together"  # key of Session.info: the messages of an open together()


@contextmanager
def together(ctx: Context) -> Iterator[None]:
    """The messages enqueued inside the block are written when it ends, in one INSERT
    (a decision's in-place update and direct message: one statement, not four each)."""
    gathered: list[outbox.NewMessage] = []
    outer = ctx.session.info.get(_TOGETHER)
    ctx.session.info[_TOGETHER] = gathered
    try:
        yield
    finally:
        if outer is None:
            del ctx.session.info[_TOGETHER]
        else:
            ctx.session.info[_TOGETHER] = outer
    outbox.enqueue_many(session=ctx.session, messages=gathered)


def _reply_dict(reply: Reply) -> dict[str, Any]:
    """``reply.to_dict()`` without ``dataclasses.asdict``'s deep copy of every field (a third of
    the cost of enqueueing a card); a reply with a form or files goes through ``to_dict``."""
    if reply.form is not None or reply.files:
        return reply.to_dict()
    return {"text": reply.text, "facts": tuple({"label": f.label, "value": f.value} for f in reply.facts),
            "buttons": tuple({"label": b.label, "action": b.action, "value": b.value, "style": b.style}
                             for b in reply.buttons),
            "form": None, "public": reply.public, "errors": dict(reply.errors), "files": []}


def _enqueue(ctx: Context, kind: str, target: str, occurrence: str, reply: Reply,
             subject: str | None, due_at: datetime | None = None) -> None:
    gathered = ctx.session.info.get(_TOGETHER)
    if gathered is not None:
        gathered.append(outbox.NewMessage(kind, target, occurrence, {"reply": _reply_dict(reply), "subject": subject},
                                          due_at or ctx.services.clock()))
        return
    outbox.enqueue(
        session=ctx.session,
        kind=kind,
        target=target,
        occurrence=occurrence,
        payload={"reply": _reply_dict(reply), "subject": subject},
        due_at=due_at or ctx.services.clock(),
    )


def to_person(ctx: Context, person_id: str, *, kind: str, occurrence: str, reply: Reply,
              subject: str | None = None) -> None:
    """A direct message to one person; with ``subject``, remembered for in-place updates."""
    _enqueue(ctx, kind, f"person:{person_id}", occurrence, reply, subject)


def to_intrapreneurs(ctx: Context, startup_id: str, *, kind: str, subject: str, reply: Reply) -> list[str]:
    """A request to decide, sent to every intrapreneur of the startup; returns their names."""
    deciders = reference.intrapreneurs(session=ctx.session, startup_id=startup_id)
    for person in deciders:
        to_person(ctx, person.id, kind=kind, occurrence=subject, reply=reply, subject=subject)
    return [person.name for person in deciders]


def to_managers(ctx: Context, *, kind: str, occurrence: str, reply: Reply, subject: str | None = None) -> None:
    """A message to the managers' channel (and, without one, to each manager); with ``subject``,
    remembered for in-place updates."""
    _enqueue(ctx, kind, "managers", occurrence, reply, subject)


def alert_managers_grouped(ctx: Context, *, kind: str, occurrence: str, reply: Reply, summary: Reply,
                           summary_due: datetime, subject: str | None = None) -> None:
    """An alert to the managers at once, once per ``occurrence`` (a period): a repeat within it is
    counted, not posted again; when there was more than one, ``summary`` goes at ``summary_due``
    with ``{count}`` in its text replaced by how many there were. One statement for all.

    The managers of the délégant (``side = "delegant"``) get it too, by direct message (art. 5: the
    délégataire tells the délégant without delay), grouped the same way; the first of the period
    leaves an audit row on ``subject`` (else the convention) saying who was told, when."""
    targets = ["managers"]
    delegant = [p.id for p in convention.delegant_managers(session=ctx.session)]
    first_for_delegant = bool(delegant) and not outbox.exists(session=ctx.session, kind=kind,
                                                              target=f"person:{delegant[0]}", occurrence=occurrence)
    targets += [f"person:{pid}" for pid in delegant]
    now = ctx.services.clock()
    messages = []
    for target in targets:
        messages += [
            outbox.NewMessage(kind, target, occurrence, {"reply": reply.to_dict(), "subject": None}, now),
            outbox.NewMessage(f"{kind}.summary", target, occurrence,
                              {"reply": summary.to_dict(), "subject": None, "counted": True, "at_least": 2},
                              summary_due),
        ]
    outbox.enqueue_grouped(session=ctx.session, messages=messages)
    if first_for_delegant:
        _record_told(ctx, delegant, kind=kind, occurrence=occurrence, subject=subject)


def to_delegant(ctx: Context, *, kind: str, occurrence: str, reply: Reply, subject: str | None = None) -> list[str]:
    """A direct message to each manager of the délégant (art. 5), and the audit row saying who was told and
    when (on ``subject``, else the convention); the ids told (none: nobody is on that side)."""
    delegant = [p.id for p in convention.delegant_managers(session=ctx.session)]
    for person_id in delegant:
        _enqueue(ctx, kind, f"person:{person_id}", occurrence, reply, None)
    if delegant:
        _record_told(ctx, delegant, kind=kind, occurrence=occurrence, subject=subject)
    return delegant


def _record_told(ctx: Context, people: list[str], *, kind: str, occurrence: str, subject: str | None) -> None:
    if subject is None:
        current = reference.current_convention(session=ctx.session)
        subject = convention.subject_of(current) if current is not None else "convention"
    convention.record_delegant_informed(session=ctx.session, at=ctx.services.clock(), subject=subject, alert=kind,
                                        occurrence=occurrence, people=people, platform=ctx.platform,
                                        actor_id=ctx.actor.id)


def update_subject(ctx: Context, subject: str, *, occurrence: str, reply: Reply) -> None:
    """Replace, wherever it was posted, every message about ``subject`` by ``reply``."""
    _enqueue(ctx, "update", f"subject:{subject}", occurrence, reply, subject)
