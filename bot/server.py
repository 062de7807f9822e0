"""``incubot serve``: one ASGI app (Starlette under uvicorn) for every HTTP route.

Routes: ``/healthz`` always; ``/slack/events`` when Slack is configured;
``/mattermost/*`` when Mattermost is; ``/stats`` and ``/stats.json``.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.app import Runtime, build_runtime
from bot.config import Settings
from storage.db import ping

log = logging.getLogger("incubot.server")


def create_app(runtime: Runtime) -> Starlette:
    async def healthz(_request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        if await run_in_threadpool(ping, runtime.engine):
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app


def serve(settings: Settings, *, port: int, host: str = "0.0.0.0", scheduler: bool = True) -> int:
    import uvicorn

    runtime = build_runtime(settings)
    for platform, status in settings.platforms_status().items():
        log.info("platform %s: %s", platform, status)
    app = create_app(runtime)
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0
