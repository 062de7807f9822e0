"""``incubot serve`` (HTTP server and scheduler) and ``incubot clock`` (the scheduler alone)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.wiring import runtime_for
from bot.config import Settings
from bot.scheduler import run_clock
from bot.server import serve
from handlers.i18n import Translator


def add_parsers(sub: Any, t: Translator) -> None:
    server = sub.add_parser(
        "serve", help=t("le serveur HTTP (Slack, Mattermost, /stats, /healthz) et le planificateur"))
    server.add_argument("--port", type=int, help=t("port (sinon PORT, sinon 3000)"))
    server.add_argument("--host", default="0.0.0.0", help=t("adresse d'écoute (0.0.0.0 : toutes)"))
    server.add_argument("--no-scheduler", action="store_true", help=t("sans planificateur (voir « incubot clock »)"))
    server.set_defaults(run=run_serve)

    clock = sub.add_parser("clock", help=t("le planificateur seul, dans son propre processus (avec serve "
                                           "--no-scheduler)"))
    clock.set_defaults(run=run_clock_command)


def run_serve(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    return serve(settings, port=args.port or settings.port, host=args.host, scheduler=not args.no_scheduler)


def run_clock_command(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    return run_clock(runtime_for(settings, sends=True, long_running=True))
