"""What a chat platform keeps across restarts besides the ledger (migration 0008).

- ``platform_state``: one text per (platform, name) — a sync position, a direct room;
- ``posted_choice``: the choices offered on a posted message where the platform has no
  buttons (a reaction key), so a reaction finds its action, even long after;
- ``form_dialogue``: a form filled question by question (``handlers/steps.py``).

Nothing here knows a platform: names and keys are the platform's own strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import FormDialogue, PlatformState, PostedChoice

# --------------------------------------------------------------------------- platform_state


def get_state(*, session: Session | sa.Connection, platform: str, name: str) -> str | None:
    table = PlatformState.__table__  # type: ignore[attr-defined]
    row = session.execute(sa.select(table.c.value).where(table.c.platform == platform,
                                                         table.c.name == name[:300])).first()
    return None if row is None else str(row[0])


def put_state(*, session: Session | sa.Connection, platform: str, name: str, value: str, now: datetime) -> None:
    """Set (platform, name) to ``value``: an UPDATE, or an INSERT when there was none."""
    table = PlatformState.__table__  # type: ignore[attr-defined]
    where = (table.c.platform == platform, table.c.name == name[:300])
    done = session.execute(sa.update(table).where(*where).values(value=value, at=now))
    if not done.rowcount:  # type: ignore[attr-defined]
        session.execute(sa.insert(table).values(platform=platform, name=name[:300], value=value, at=now))


def delete_state(*, session: Session, platform: str, name: str) -> None:
    session.execute(sa.delete(PlatformState).where(col(PlatformState.platform) == platform,
                                                   col(PlatformState.name) == name[:300]))


# --------------------------------------------------------------------------- posted_choice


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    action: str
    value: str


def record_choices(*, session: Session, platform: str, channel: str, message_id: str,
                   choices: Sequence[Choice], now: datetime) -> None:
    for choice in choices:  # merged: a message sent again (the same event, deduplicated) records them again
        session.merge(PostedChoice(platform=platform, channel=channel, message_id=message_id, key=choice.key,
                                   label=choice.label[:200], action=choice.action, value=choice.value, at=now))
    session.flush()


def choice_for(*, session: Session, platform: str, channel: str, message_id: str, key: str) -> PostedChoice | None:
    return session.get(PostedChoice, (platform, channel, message_id, key))


def choices_on(*, session: Session, platform: str, channel: str, message_id: str) -> Sequence[PostedChoice]:
    return session.exec(select(PostedChoice).where(
        PostedChoice.platform == platform, PostedChoice.channel == channel,
        PostedChoice.message_id == message_id)).all()


def set_mark(*, session: Session, platform: str, channel: str, message_id: str, key: str,
             mark_id: str | None) -> None:
    """The bot's own mark for that choice (the reaction it put), or None once it took it back."""
    session.execute(sa.update(PostedChoice).where(
        col(PostedChoice.platform) == platform, col(PostedChoice.channel) == channel,
        col(PostedChoice.message_id) == message_id, col(PostedChoice.key) == key).values(mark_id=mark_id))


# --------------------------------------------------------------------------- form_dialogue


@dataclass
class Dialogue:
    """A form being filled: the form (as a dict), the fields still to ask, the answers so far."""

    form: dict[str, Any]
    queue: list[str]
    answers: dict[str, str]
    updated_at: datetime


def get_dialogue(*, session: Session, platform: str, user_id: str, place: str) -> Dialogue | None:
    row = session.get(FormDialogue, (platform, user_id, place[:600]))
    if row is None:
        return None
    return Dialogue(json.loads(row.form), list(json.loads(row.queue)), dict(json.loads(row.answers)), row.updated_at)


def save_dialogue(*, session: Session, platform: str, user_id: str, place: str, dialogue: Dialogue) -> None:
    row = session.get(FormDialogue, (platform, user_id, place[:600]))
    form, queue = json.dumps(dialogue.form, ensure_ascii=False), json.dumps(dialogue.queue)
    answers = json.dumps(dialogue.answers, ensure_ascii=False)
    if row is None:
        session.add(FormDialogue(platform=platform, user_id=user_id, place=place[:600], form=form, queue=queue,
                                 answers=answers, updated_at=dialogue.updated_at))
    else:
        row.form, row.queue, row.answers, row.updated_at = form, queue, answers, dialogue.updated_at
        session.add(row)
    session.flush()


def end_dialogue(*, session: Session, platform: str, user_id: str, place: str) -> None:
    session.execute(sa.delete(FormDialogue).where(col(FormDialogue.platform) == platform,
                                                  col(FormDialogue.user_id) == user_id,
                                                  col(FormDialogue.place) == place[:600]))
