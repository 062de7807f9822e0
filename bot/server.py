"""``incubot serve``: one ASGI app (Starlette under uvicorn) for every HTTP route.

Routes: ``/healthz`` always; ``/stats`` and ``/stats.json`` (``bot/stats.py``); then the
``routes()`` of every platform of the composition (``bot/compose.py``): ``/slack/events``
when Slack is configured over HTTP, ``/mattermost/*`` when Mattermost is. ``serve`` also
starts what listens on its own connection (``Platform.start()``: Slack's Socket Mode) and,
on SIGTERM, drains everything within ``INCUBOT_DRAIN_SECONDS`` (``Incubot.stop``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot import stats
from bot.compose import Incubot, compose
from bot.config import Settings
from bot.delivery import worker_name
from bot.limits import BodyLimit
from bot.scheduler import start_scheduler
from storage import inbox, outbox
from storage.db import unit_of_work

log = logging.getLogger("incubot.server")


def create_app(incubot: Incubot) -> Starlette:
    """The ASGI app: /healthz, /stats, and the routes of every composed platform."""
    runtime = incubot.runtime

    def answers() -> bool:
        """Whether the database answers a read at all (on the DBAPI connection: no write lock asked)."""
        try:
            conn = runtime.engine.raw_connection()
            try:
                cursor = conn.cursor()
                cursor.execute("SELECT 1")
                cursor.close()
            finally:
                conn.close()
            return True
        except Exception:  # noqa: BLE001 - any failure means "down"
            return False

    def health() -> tuple[int, dict[str, object]]:
        """A real write (this process's heartbeat row, in a transaction) and the queues' sizes;
        503 when the database cannot be written: down, read-only, full disk, locked too long."""
        try:
            with unit_of_work(runtime.services.sessions) as session:
                outbox.write_probe(session=session, name=worker_name(), now=runtime.services.clock())
                queued = outbox.counts(session=session)
                waiting = inbox.pending_count(session=session)
        except Exception as exc:  # noqa: BLE001 - any failure to write means "not healthy"
            state = "not writable" if answers() else "down"
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            log.warning("healthz: the database is %s (%s)", state, reason)
            return 503, {"status": "unavailable", "database": state}
        return 200, {"status": "ok", "outbox": queued, "inbox": {"pending": waiting}}

    async def healthz(_request: Request) -> JSONResponse:
        status, body = await run_in_threadpool(health)
        return JSONResponse(body, status_code=status)

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"]), *stats.routes(runtime),
                               *incubot.routes()]
    # Outermost of our layers: a body over INCUBOT_MAX_BODY is refused before any route reads it.
    app = Starlette(routes=routes, middleware=[Middleware(BodyLimit, max_body=runtime.settings.max_body)])
    app.state.incubot = incubot
    return app


def serve(settings: Settings, *, port: int, host: str = "0.0.0.0", scheduler: bool = True) -> int:
    import uvicorn  # the server itself: only `incubot serve` needs it

    incubot = compose(settings, documents_apart=True)  # a long life: the PDF library stays out of it
    hints = {"slack": "set SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)",
             "mattermost": "set MATTERMOST_URL, MATTERMOST_BOT_TOKEN, MATTERMOST_COMMAND_TOKENS, INCUBOT_SECRET",
             "matrix": "set MATRIX_HOMESERVER_URL, MATRIX_USER_ID, MATRIX_ACCESS_TOKEN, MATRIX_DEVICE_ID"}
    for platform, status in settings.platforms_status().items():
        if status == "off":
            log.warning("platform %s: off (%s); /healthz and /stats are served anyway", platform, hints[platform])
        else:
            log.info("platform %s: %s", platform, status)
    app = create_app(incubot)
    clock = None
    if scheduler:
        clock = start_scheduler(incubot.runtime)
    else:
        log.info("scheduler off (--no-scheduler): run `incubot clock` for reminders")
    # What a previous run acknowledged and did not finish (SIGTERM, kill -9), then the listeners
    # (Slack over a WebSocket; HTTP still serves /healthz, /stats, Mattermost).
    incubot.start()
    previous = _quiet_after_uvicorn()
    try:
        # On SIGTERM uvicorn stops accepting and lets the requests in flight finish (bounded).
        uvicorn.run(app, host=host, port=port, log_level="info",
                    timeout_graceful_shutdown=max(1, round(settings.drain_seconds)))
    finally:
        drained = incubot.stop(settings.drain_seconds)
        if clock is not None:
            clock.shutdown(wait=False)
        _restore(previous)
    if not drained:  # still running past the bound: the inbox row and the outbox message stay for the next start
        logging.shutdown()
        os._exit(0)
    return 0


def _quiet_after_uvicorn() -> dict[int, Any]:
    """uvicorn raises the stop signal again once it has stopped: let it find a handler that only
    logs, so the inbox is drained (``serve``'s finally) instead of the process dying there."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}

    def stopping(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, stopping)
    return previous


def _restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
