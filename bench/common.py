"""What the benchmarks share: a free loopback port, waiting for /healthz, throw-away
databases, Slack's request signature, and the bare Bolt app every ack figure is compared to.

``python bench/common.py bare-bolt PORT API_URL SECRET TOKEN [--inline]`` serves that bare
app (the benchmarks start it as a subprocess, like ``incubot serve``). Imports are made where
they are used, so the bare app's process loads nothing of incubot's: its memory and start-up
time are Bolt's alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers import free_port  # noqa: E402, F401 - after the path; the benchmarks import it from here
from tests.servers import wait_healthy as _wait_healthy  # noqa: E402

PG_ADMIN_URL = os.environ.get("INCUBOT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> float:
    """Seconds from now until ``url``/healthz answers 200 (polled every 5 ms: a start-up figure)."""
    return _wait_healthy(url, proc, timeout, interval=0.005)


def slack_headers(secret: str, body: bytes) -> dict[str, str]:
    """Headers of a signed, form-encoded Slack request (signed by the tests' own code, not Bolt's)."""
    from tests.chat_slack import sign

    return {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=secret)}


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A throw-away database URL (SQLite file in a temp dir, or a fresh PostgreSQL database)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="incubot-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    from tests.pg import throwaway_database

    with throwaway_database(PG_ADMIN_URL, "incubot_bench") as url:
        yield url


def bare_bolt_argv(port: int, api_url: str, secret: str, token: str, *, inline: bool = False) -> list[str]:
    """The command that serves the bare Bolt app (see :func:`serve_bare_bolt`)."""
    return [sys.executable, str(Path(__file__).resolve()), "bare-bolt", str(port), api_url, secret, token,
            *(["--inline"] if inline else [])]


def serve_bare_bolt(port: int, api_url: str, secret: str, token: str, *, inline: bool = False) -> None:
    """A Bolt app whose only listener acks /incubot, served exactly like incubot's /slack/events
    (Starlette under uvicorn, Bolt's synchronous dispatch in Starlette's thread pool).

    ``inline``: ``process_before_response=True`` like incubot (the ack leaves when the listener
    returns); otherwise Bolt's default (the listener runs in Bolt's pool, dispatch polls for the ack).
    """
    import uvicorn
    from slack_bolt import App
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from slack_sdk import WebClient
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    app = App(client=WebClient(token=token, base_url=api_url), signing_secret=secret,
              process_before_response=inline)

    @app.command("/incubot")
    def ack_only(ack):  # type: ignore[no-untyped-def]
        ack()

    async def events(request: Request) -> Response:
        body = await request.body()
        return to_starlette_response(await run_in_threadpool(app.dispatch, to_bolt_request(request, body)))

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    web = Starlette(routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)])
    uvicorn.run(web, host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__" and sys.argv[1:2] == ["bare-bolt"]:
    _port, _api, _secret, _token = sys.argv[2:6]
    serve_bare_bolt(int(_port), _api, _secret, _token, inline="--inline" in sys.argv[6:])
