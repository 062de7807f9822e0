"""Sub-commands that belong to the scheduler and reports (``reminders``, ``report``, ``clock``)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app import Runtime


def add_parsers(sub: Any) -> None:
    """Register the extra sub-commands on the ``incubot`` parser."""


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    raise SystemExit(f"unknown command {args.command}")
