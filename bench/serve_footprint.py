"""Memory and cold start of ``incubot serve``, side by side with a bare Bolt app on the same stack.

Both run in their own process on a loopback port, Slack configured against the fake Web
API (``tests/fake_slack.py``, in this process): incubot with its own CLI
(``python -m bot serve``, scheduler on, SQLite file holding the demo), the bare app as a
Bolt ``App`` whose only listener acks ``/incubot``, under Starlette + uvicorn.

- cold start: from process spawn to the first 200 on ``GET /healthz`` (median of 5,
  the two processes started in alternation);
- RSS idle: 1 s after the first 200;
- RSS after load: after 600 signed slash commands (``aide`` and ``budget`` as a manager,
  10 clients) and 200 ``/healthz``; peak = the kernel's high-water mark (VmHWM).

Goals: RSS ≤ 120 MB, start < 2 s.

A third row runs ``incubot serve`` with Slack, Mattermost and Tchap (Matrix) all on: Slack and
Mattermost against their loopback fakes (``tests/fake_slack.py``, ``tests/fake_mattermost.py``),
Matrix against a real Synapse on loopback (``tests/synapse.py``); its load is the same 600 Slack
commands, 200 Mattermost slash commands and 30 ``budget`` typed in a direct room on Matrix (each
answer waited for in the person's ``/sync``). Goal: RSS ≤ 150 MB. Without Synapse (``pip install
-e '.[test]'``) the row is left out, with the reason; ``--skip-matrix`` leaves it out.

    .venv/bin/python bench/serve_footprint.py

Prints a table, then one JSON line (``{"bench": "serve_footprint", ...}``). Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import bare_bolt_argv, free_port, slack_headers, wait_healthy  # noqa: E402

from tests.fake_slack import BOT_TOKEN, FakeSlack  # noqa: E402

SECRET = "bench-footprint-signing-secret-42"
MANAGER_SLACK_ID = "UCAMILLEMAR"
GOAL_RSS_MB = 120
GOAL_ALL_PLATFORMS_RSS_MB = 150
GOAL_START_S = 2.0
MM_COMMAND_TOKEN = "bench-footprint-mattermost-command-token"
MANAGER_MM_ID = "camillemartinxxxxxxxxxxxxx"

def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return round(values["VmRSS"], 1), round(values["VmHWM"], 1)


def prepare_database(directory: Path, matrix_id: str | None = None) -> str:
    """A migrated SQLite file with the demo, where Camille Martin (manager) has a Slack id, a Mattermost id
    and, given ``matrix_id``, that Matrix account (the demo's Matrix rooms, on another homeserver, removed)."""
    import sqlalchemy as sa

    from bot.compose import compose
    from bot.config import Settings
    from bot.demo import load_demo
    from handlers.services import system_clock
    from storage import reference
    from storage.db import unit_of_work

    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{directory / 'incubot.db'}"
    runtime = compose(Settings(database_url=url), plugs=()).runtime
    load_demo(runtime.services.sessions, system_clock())
    with unit_of_work(runtime.services.sessions) as session:
        reference.set_account(session=session, person_id="camille.martin", platform="slack",
                              external_id=MANAGER_SLACK_ID)
        reference.set_account(session=session, person_id="camille.martin", platform="mattermost",
                              external_id=MANAGER_MM_ID)
        if matrix_id:
            reference.set_account(session=session, person_id="camille.martin", platform="matrix",
                                  external_id=matrix_id)
            session.execute(sa.text("DELETE FROM channel WHERE platform = 'matrix'"))
    runtime.engine.dispose()
    return url


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(self.url, self.proc)
        self.start_s = time.perf_counter() - self.started  # from spawn to the first 200

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def slash_command(text: str, response_url: str) -> tuple[bytes, dict[str, str]]:
    body = urlencode({"token": "legacy", "team_id": "T0INCUBOT", "team_domain": "incubateur",
                      "channel_id": "C0GENERAL", "channel_name": "general", "user_id": MANAGER_SLACK_ID,
                      "user_name": "camille", "command": "/incubot", "text": text, "api_app_id": "A0INCUBOT",
                      "response_url": response_url, "trigger_id": "t.1"}).encode()
    return body, slack_headers(SECRET, body)


def load(url: str, fake: FakeSlack, commands: int, clients: int) -> int:
    """Signed slash commands (aide, budget) and /healthz; returns how many answered 200."""
    def one(i: int) -> int:
        with httpx.Client() as client:
            body, headers = slash_command("budget" if i % 2 else "aide", fake.new_response_url())
            ok = client.post(f"{url}/slack/events", content=body, headers=headers, timeout=30).status_code == 200
            health = client.get(f"{url}/healthz", timeout=30).status_code == 200 if i % 3 == 0 else True
            return int(ok and health)

    with ThreadPoolExecutor(clients) as pool:
        return sum(pool.map(one, range(commands)))


def mattermost_load(url: str, fake: Any, commands: int, clients: int) -> int:
    """Mattermost slash commands (aide, budget) as the Mattermost server posts them; how many answered 200."""
    def one(i: int) -> int:
        data = {"channel_id": "townsquarexxxxxxxxxxxxxxxx", "channel_name": "town-square", "command": "/incubot",
                "response_url": fake.command_hook(MANAGER_MM_ID, "townsquarexxxxxxxxxxxxxxxx"),
                "team_domain": "incubateur", "team_id": "teamincubateurxxxxxxxxxxxx",
                "text": "budget" if i % 2 else "aide", "trigger_id": f"trigger-{i}", "user_id": MANAGER_MM_ID,
                "user_name": "camille", "token": MM_COMMAND_TOKEN}
        with httpx.Client() as client:
            response = client.post(f"{url}/mattermost/command", data=data, timeout=30,
                                   headers={"Authorization": f"Token {MM_COMMAND_TOKEN}"})
            return int(response.status_code == 200)

    with ThreadPoolExecutor(clients) as pool:
        return sum(pool.map(one, range(commands)))


def matrix_load(person: Any, room: str, bot_id: str, messages: int) -> int:
    """``budget`` typed in the direct room, each answer waited for in the person's sync; how many came."""
    answered = 0
    for _ in range(messages):
        asked = person.send_text(room, "budget")
        person.wait_for(lambda e, asked=asked: e.sender == bot_id and e.room_id == room  # type: ignore[misc]
                        and (e.content.get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id") == asked,
                        deadline=60.0, what="the answer")
        person.pending.clear()
        answered += 1
    return answered


def all_platforms_row(tmp: Path, fake_slack: FakeSlack, args: argparse.Namespace,
                      keep: dict[str, str]) -> dict[str, Any]:
    """``incubot serve`` with Slack, Mattermost and Matrix on: its start, RSS idle, after load and peak."""
    from tests.fake_mattermost import BOT_TOKEN as MM_BOT_TOKEN
    from tests.fake_mattermost import FakeMattermost
    from tests.synapse import running_synapse

    fake_mm = FakeMattermost().start()
    try:
        with running_synapse() as synapse:
            person = synapse.person("camille")
            bot_id, token, device = synapse.register("incubot", "incubot-password")
            url = prepare_database(tmp / "all", matrix_id=person.user_id)
            env = {**keep, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "INCUBOT_LANGUAGE": "fr",
                   "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake_slack.api_url,
                   "MATTERMOST_URL": fake_mm.url, "MATTERMOST_BOT_TOKEN": MM_BOT_TOKEN,
                   "MATTERMOST_COMMAND_TOKENS": MM_COMMAND_TOKEN, "INCUBOT_SECRET": "bench-footprint-secret-0123456789",
                   "MATRIX_HOMESERVER_URL": synapse.base_url, "MATRIX_USER_ID": bot_id, "MATRIX_ACCESS_TOKEN": token,
                   "MATRIX_DEVICE_ID": device, "MATRIX_STORE": str(tmp / "all" / "matrix-store.db")}
            port = free_port()
            p = Process("incubot serve, 3 platforms", [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
                                                       "--port", str(port)], {**env, "INCUBOT_PUBLIC_URL":
                                                                               f"http://127.0.0.1:{port}"}, port)
            try:
                room = person.create_dm(bot_id)
                person.wait_for_join(room, bot_id, deadline=60)
                time.sleep(1.0)  # idle: let start-up work (first sync, scheduler catch-up) settle
                idle, _ = rss_mb(p.proc.pid)
                ok = load(p.url, fake_slack, args.commands, args.clients)
                ok += mattermost_load(p.url, fake_mm, args.mattermost_commands, args.clients)
                ok += matrix_load(person, room, bot_id, args.matrix_messages)
                time.sleep(0.5)  # background deliveries of the last answers
                after, peak = rss_mb(p.proc.pid)
            finally:
                p.stop()
                person.close()
    finally:
        fake_mm.stop()
    total = args.commands + args.mattermost_commands + args.matrix_messages
    return {"process": p.name, "start_median_s": round(p.start_s, 2), "start_min_s": round(p.start_s, 2),
            "start_max_s": round(p.start_s, 2), "rss_idle_mb": idle, "rss_after_load_mb": after,
            "rss_peak_mb": peak, "requests_ok": ok, "requests": total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=5, help="cold starts per process (median)")
    parser.add_argument("--commands", type=int, default=600)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--mattermost-commands", type=int, default=200)
    parser.add_argument("--matrix-messages", type=int, default=30)
    parser.add_argument("--skip-matrix", action="store_true", help="leave out the three-platform row")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(prefix="incubot-footprint-") as tmp, FakeSlack() as fake:
        url = prepare_database(Path(tmp))
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
        env = {**keep, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url, "INCUBOT_LANGUAGE": "fr"}

        def incubot() -> Process:
            port = free_port()
            return Process("incubot serve", [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
                                             "--port", str(port)], env, port)

        def bare() -> Process:
            port = free_port()
            return Process("bare Bolt app", bare_bolt_argv(port, fake.api_url, SECRET, BOT_TOKEN), env, port)

        factories = (("bare Bolt app", bare), ("incubot serve", incubot))
        starts: dict[str, list[float]] = {name: [] for name, _ in factories}
        for _ in range(args.starts - 1):  # alternated: a load spike on this shared machine hits both alike
            for name, factory in factories:
                p = factory()
                starts[name].append(p.start_s)
                p.stop()
        for name, factory in factories:
            p = factory()
            starts[name].append(p.start_s)
            try:
                time.sleep(1.0)  # idle: let start-up work (scheduler catch-up, first delivery) settle
                idle, _ = rss_mb(p.proc.pid)
                ok = load(p.url, fake, args.commands, args.clients)
                time.sleep(0.5)  # background deliveries of the last answers
                after, peak = rss_mb(p.proc.pid)
            finally:
                p.stop()
            rows.append({"process": name, "start_median_s": round(statistics.median(starts[name]), 2),
                         "start_min_s": round(min(starts[name]), 2), "start_max_s": round(max(starts[name]), 2),
                         "rss_idle_mb": idle, "rss_after_load_mb": after, "rss_peak_mb": peak,
                         "requests_ok": ok, "requests": args.commands})
        left_out = "--skip-matrix" if args.skip_matrix else None
        if not args.skip_matrix:
            from tests.synapse import SynapseUnavailable

            try:
                rows.append(all_platforms_row(Path(tmp), fake, args, keep))
            except SynapseUnavailable as exc:
                left_out = str(exc)

    bare_row, incubot_row = rows[:2]
    goals = {
        "rss_le_120_mb": incubot_row["rss_peak_mb"] <= GOAL_RSS_MB,
        "start_lt_2_s": incubot_row["start_median_s"] < GOAL_START_S,
    }
    if len(rows) == 3:
        goals["all_platforms_rss_le_150_mb"] = rows[2]["rss_peak_mb"] <= GOAL_ALL_PLATFORMS_RSS_MB
    print(f"{'process':<27} {'start s (median, min-max)':>26} {'RSS idle MB':>12} {'after load':>11} {'peak':>7}"
          f" {'200s':>9}")
    for r in rows:
        print(f"{r['process']:<27} {r['start_median_s']:>10} ({r['start_min_s']}-{r['start_max_s']}){'':>5}"
              f" {r['rss_idle_mb']:>12} {r['rss_after_load_mb']:>11} {r['rss_peak_mb']:>7}"
              f" {r['requests_ok']:>4}/{r['requests']}")
    print(f"incubot / bare: start ×{incubot_row['start_median_s'] / bare_row['start_median_s']:.2f}, "
          f"peak RSS ×{incubot_row['rss_peak_mb'] / bare_row['rss_peak_mb']:.2f}")
    print(f"goals: RSS ≤ {GOAL_RSS_MB} MB {'met' if goals['rss_le_120_mb'] else 'MISSED'}; "
          f"start < {GOAL_START_S} s {'met' if goals['start_lt_2_s'] else 'MISSED'}")
    if len(rows) == 3:
        print(f"Slack + Mattermost + Matrix: peak RSS {rows[2]['rss_peak_mb']} MB, "
              f"goal ≤ {GOAL_ALL_PLATFORMS_RSS_MB} MB {'met' if goals['all_platforms_rss_le_150_mb'] else 'MISSED'}")
    else:
        print(f"Slack + Mattermost + Matrix: left out ({left_out})")
    load_avg = [round(x, 1) for x in os.getloadavg()]
    print(f"machine load average (1, 5, 15 min): {load_avg} on {os.cpu_count()} CPUs")
    print(json.dumps({"bench": "serve_footprint", "rows": rows, "goals": goals, "load_avg": load_avg}))
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
