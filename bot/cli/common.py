"""What the command families share: the operator's error, writing a file or stdout, dates typed as ISO."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from bot.config import Settings
from handlers.i18n import Translator


class CliError(Exception):
    """A problem the operator can fix; printed as is (already in their language), exit code 2."""


def with_database(settings: Settings, url: str) -> Settings:
    return dataclasses.replace(settings, database_url=url)


def emit(text: str, output: Path | None, written: str) -> int:
    """Write ``text`` to ``output`` (saying ``written`` on stderr) or to standard output."""
    if output:
        output.write_text(text, encoding="utf-8")
        print(written, file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def iso_datetime(text: str, t: Translator) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CliError(t("« {text} » n'est pas une date ISO (par exemple 2026-12-01T09:00).", text=text)) from None


def at_moment(text: str | None, now: datetime, tz: ZoneInfo, t: Translator) -> datetime:
    """``--at``: an ISO datetime; without a zone, in the configured one; none: ``now``."""
    if not text:
        return now
    value = iso_datetime(text, t)
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()
