"""The child of :func:`handlers.documents.render_apart`: ``python -m handlers.documents.apart``.

It reads ``(document, format, language, time zone, typography)`` pickled on its standard input and
writes ``(True, bytes)`` — or ``(False, the exception)`` — pickled on its standard output, then ends.
It imports the document layer only (no database, no platform).
"""

from __future__ import annotations

import pickle
import sys
from typing import Any
from zoneinfo import ZoneInfo


def main() -> int:
    from handlers.documents import render
    from handlers.i18n import Translator

    document, fmt, language, tz, typography = pickle.load(sys.stdin.buffer)  # noqa: S301 - from our parent
    try:
        result: tuple[bool, Any] = (True, render(document, fmt, Translator(language, ZoneInfo(tz), typography)))
    except Exception as exc:  # noqa: BLE001 - raised again in the parent
        result = (False, exc)
    try:
        data = pickle.dumps(result)
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its words
        data = pickle.dumps((False, RuntimeError(f"{type(result[1]).__name__}: {result[1]}")))
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
