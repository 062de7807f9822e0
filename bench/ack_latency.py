"""Ack latency of ``/incubot aide`` and ``/incubot budget``: incubot serve vs a bare Bolt app.

Three servers on the same stack, each in its own process on a loopback port: Starlette
under uvicorn, Bolt's synchronous ``dispatch`` in Starlette's thread pool, uvicorn at the
log level ``incubot serve`` uses.

- ``incubot``: started with its own CLI (``python -m bot serve --no-scheduler``) on a
  temporary SQLite database holding the demo (``bot.demo.load_demo``, everyone given a
  Slack id); the requests come from a manager, whose ``budget`` is the heaviest answer.
  It acks, then answers through ``response_url`` (the fake Web API, ``tests/fake_slack.py``,
  in a fourth process).
- ``bolt``: a bare Bolt app whose one listener acks ``/incubot``, Bolt's defaults
  (``process_before_response=False``: the listener runs in Bolt's pool, dispatch polls
  every 10 ms for the ack).
- ``bolt-inline``: the same with ``process_before_response=True``, the mode incubot uses
  (the ack leaves when the listener returns).

Every request is a signed, form-encoded slash command, as Slack sends it; the latency is
the time from sending it to receiving the HTTP answer (the ack). For each command and each
concurrency (closed loop: N clients each sending the next request as soon as the last is
acked) each server gets a warm-up, then rounds of ``--round`` requests, the three servers
taking turns (the machine's other load hits them alike) until ``--requests`` are measured;
before each turn the server's answers after its acks are all out (``answers_done_after_s``).

    .venv/bin/python bench/ack_latency.py              # 500 requests per cell, 1 and 20 clients
    .venv/bin/python bench/ack_latency.py --requests 1000 --json-only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import bare_bolt_argv, free_port, slack_headers, wait_healthy  # noqa: E402

SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-test-token"  # what tests/fake_slack.py accepts
USER_PERSON = "camille.martin"  # a manager: `budget` gets the per-startup breakdown (the heaviest answer)
GOAL = 1.2  # issue 9: the ack of `budget` at most 1.2× a bare Bolt app at p50


# --------------------------------------------------------------------------- set-up


def slack_id(person_id: str) -> str:
    return "U" + person_id.replace(".", "").upper()[:10]


def prepare_database(url: str) -> None:
    """The demo (reference data and sample quotes), with a Slack id for everyone."""
    sys.path.insert(0, str(ROOT))
    from bot.compose import compose
    from bot.config import Settings
    from bot.demo import load_demo
    from storage import reference
    from storage.db import unit_of_work

    runtime = compose(Settings(database_url=url), plugs=()).runtime
    load_demo(runtime.services.sessions, runtime.services.now())
    with unit_of_work(runtime.services.sessions) as session:
        for person in reference.people(session=session):
            reference.set_account(session=session, person_id=person.id, platform="slack",
                                  external_id=slack_id(person.id))
    runtime.engine.dispose()


def start_fake(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_slack"], cwd=ROOT, env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().decode().strip()


def drain(fake_url: str, timeout: float = 300) -> None:
    """Wait until incubot's answers after the ack have all reached the fake Web API."""
    last, stable, deadline = -1, 0, time.monotonic() + timeout
    while time.monotonic() < deadline and stable < 3:
        counts = httpx.get(fake_url + "/counts", timeout=5).json()
        count = counts["calls"] + counts["responses"]
        stable = stable + 1 if count == last else 0
        last = count
        time.sleep(0.2)


# --------------------------------------------------------------------------- load


async def load(client: httpx.AsyncClient, url: str, text: str, requests: int, concurrency: int,
               response_url: str) -> list[float]:
    """``requests`` signed `/incubot text` from ``concurrency`` clients; the latency of each ack (ms)."""
    latencies: list[float] = []
    numbers = iter(range(requests))

    async def one_client() -> None:
        for n in numbers:
            body = urlencode({
                "token": "x", "team_id": "T0INCUBOT", "team_domain": "incubateur", "channel_id": "C0GENERAL",
                "channel_name": "general", "user_id": slack_id(USER_PERSON), "user_name": "camille",
                "command": "/incubot", "text": text, "api_app_id": "A0INCUBOT", "is_enterprise_install": "false",
                "response_url": response_url, "trigger_id": f"bench.{n}",
            }).encode()
            headers = slack_headers(SECRET, body)
            started = time.perf_counter()
            try:
                answer = await client.post(url, content=body, headers=headers)
            except httpx.TransportError:  # a keep-alive connection the server closed while idle: reconnect
                started = time.perf_counter()
                answer = await client.post(url, content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"{url}: HTTP {answer.status_code} {answer.text[:200]}")

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return latencies


def summary(latencies: list[float], seconds: float, backlog: list[float]) -> dict[str, Any]:
    return {"p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
            "max_ms": round(max(latencies), 2), "acks_per_s": round(len(latencies) / seconds),
            "answers_done_after_s_max": round(max(backlog), 1)}


async def measure_cell(servers: dict[str, str], text: str, concurrency: int, args: argparse.Namespace,
                       fake_url: str) -> dict[str, Any]:
    """Rounds of ``--round`` requests, the servers taking turns (the machine's other load hits
    them alike); each server is idle (its answers all out) before its turn."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    response_url = fake_url + "/response/bench"
    latencies: dict[str, list[float]] = {name: [] for name in servers}
    seconds = dict.fromkeys(servers, 0.0)
    backlog: dict[str, list[float]] = {name: [0.0] for name in servers}
    clients = {name: httpx.AsyncClient(limits=limits, timeout=30) for name in servers}
    try:
        for name, url in servers.items():
            await load(clients[name], url + "/slack/events", text, args.warmup, concurrency, response_url)
            drain(fake_url)
        rounds = max(1, -(-args.requests // args.round))
        for _ in range(rounds):
            for name, url in servers.items():
                started = time.perf_counter()
                latencies[name] += await load(clients[name], url + "/slack/events", text, args.round, concurrency,
                                              response_url)
                acked = time.perf_counter()
                seconds[name] += acked - started
                drain(fake_url)
                # how long the answers after the acks took to be all out (less the ~0.6 s drain needs to see it)
                backlog[name].append(max(0.0, time.perf_counter() - acked - 0.6))
    finally:
        for client in clients.values():
            await client.aclose()
    return {name: summary(latencies[name], seconds[name], backlog[name]) for name in servers}


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


SERVERS = ("bolt", "bolt-inline", "incubot")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="measured requests per cell (≥ 500)")
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--round", type=int, default=100, help="requests per server per turn")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()

    procs: dict[str, subprocess.Popen[bytes]] = {}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    with tempfile.TemporaryDirectory(prefix="incubot-bench-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        try:
            procs["fake"], fake_url = start_fake(env)
            prepare_database(db_url)
            ports = {name: free_port() for name in SERVERS}
            incubot_env = {**env, "DATABASE_URL": db_url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                           "SLACK_API_URL": fake_url + "/api/", "SLACK_APP_TOKEN": "", "MATTERMOST_URL": ""}
            procs["incubot"] = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(ports["incubot"]),
                 "--no-scheduler"], cwd=tmp, env=incubot_env, **quiet)  # type: ignore[call-overload]
            for name, inline in (("bolt", False), ("bolt-inline", True)):
                procs[name] = subprocess.Popen(
                    bare_bolt_argv(ports[name], fake_url + "/api/", SECRET, TOKEN, inline=inline),
                    cwd=tmp, env=env, **quiet)  # type: ignore[call-overload]
            servers = {name: f"http://127.0.0.1:{ports[name]}" for name in SERVERS}
            for name in SERVERS:
                wait_healthy(servers[name], procs[name])
            results = run_all(servers, fake_url, args)
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                proc.wait(timeout=10)
    report(results, args)
    return 0


def run_all(servers: dict[str, str], fake_url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for concurrency in args.concurrency:
        for text in ("aide", "budget"):
            cell: dict[str, Any] = {"command": f"/incubot {text}", "concurrency": concurrency,
                                    "requests": args.requests}
            cell.update(asyncio.run(measure_cell(servers, text, concurrency, args, fake_url)))
            for base in ("bolt", "bolt-inline"):
                for p in ("p50", "p99"):
                    cell[f"ratio_{p}_vs_{base}"] = round(cell["incubot"][f"{p}_ms"] / cell[base][f"{p}_ms"], 2)
            rows.append(cell)
    return rows


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    if not args.json_only:
        head = f"{'command':<16} {'clients':>7}"
        for name in SERVERS:
            head += f" | {name + ' p50':>16} {'p99':>8}"
        print(head + f" | {'incubot ÷ bolt p50':>18} {'p99':>6} | {'÷ bolt-inline p50':>17} {'p99':>6}")
        for r in rows:
            line = f"{r['command']:<16} {r['concurrency']:>7}"
            for name in SERVERS:
                line += f" | {r[name]['p50_ms']:>14.2f}ms {r[name]['p99_ms']:>6.1f}ms"
            line += (f" | {r['ratio_p50_vs_bolt']:>17.2f}x {r['ratio_p99_vs_bolt']:>5.2f}x"
                     f" | {r['ratio_p50_vs_bolt-inline']:>16.2f}x {r['ratio_p99_vs_bolt-inline']:>5.2f}x")
            print(line)
        for base in ("bolt", "bolt-inline"):
            worst = max(max(r[f"ratio_p50_vs_{base}"], r[f"ratio_p99_vs_{base}"]) for r in rows)
            print(f"worst ratio vs {base}: {worst:.2f}x (goal ≤ {GOAL}x): {'met' if worst <= GOAL else 'NOT met'}")
    print(json.dumps({"goal_ratio": GOAL, "cpus": os.cpu_count(), "results": rows}, ensure_ascii=False))


if __name__ == "__main__":
    raise SystemExit(main())
