"""Slack answering 500 to every post: how long until the same messages leave on Mattermost?

One incubot with Slack (the fake Web API of ``tests/fake_slack.py``, answering 500 to every
``chat.postMessage``) and Mattermost (``tests/fake_mattermost.py``) configured, the demo world
on a SQLite file. Léa submits N quotes; each asks Julien to decide, by direct message on both
platforms. The background delivery of ``incubot serve`` is kicked once, Slack's client retries
as in production (its own sleeps), and the bench times the Mattermost direct messages.

    .venv/bin/python bench/platform_outage.py [--quotes 20] [--timeout 30]
    PYTHONPATH=/path/to/older/checkout .venv/bin/python bench/platform_outage.py   # a baseline

Prints one JSON line: seconds to the first and the last Mattermost DM (null: not within the
timeout), and how many Slack posts were tried meanwhile. Loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # after PYTHONPATH: a baseline checkout given there comes first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    from bot.background import BackgroundDelivery
    from bot.compose import compose
    from bot.config import Settings
    from handlers.types import Request
    from storage.db import make_engine, session_factory
    from tests.chat_mattermost import SECRET, mm_id
    from tests.chat_slack import SIGNING_SECRET
    from tests.conftest import Clock, load_world, slack_id
    from tests.fake_mattermost import BOT_TOKEN as MM_TOKEN
    from tests.fake_mattermost import FakeMattermost
    from tests.fake_slack import BOT_TOKEN, FakeSlack

    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as fake_slack:
        fake_mm = FakeMattermost().start()
        url = f"sqlite:///{Path(tmp) / 'outage.db'}"
        engine = make_engine(url)
        settings = Settings(database_url=url, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=fake_slack.api_url, mattermost_url=fake_mm.url,
                            mattermost_bot_token=MM_TOKEN, mattermost_command_tokens=("c",), secret=SECRET,
                            public_url="http://testserver")
        clock = Clock()
        # Slack and Mattermost, as configured; one kick below, after every quote is in.
        runtime = compose(settings, clock=clock, engine=engine, delivery="manual").runtime
        load_world(session_factory(engine), clock())
        background = BackgroundDelivery(runtime.courier.flush_platform, runtime.courier.platforms)
        for i in range(args.quotes):
            runtime.bot.message(Request("slack", slack_id("lea.dupont"),
                                        f"devis dedale; 1 000; Scopyleft; Sprint {i}"))
        fake_slack.fail_next("chat.postMessage", 500, times=1_000_000, retry_after=None, error="internal_error")

        def posted_to_julien() -> int:
            """Posts into Julien's direct channel (counted from the calls: the fake's post ids can collide)."""
            channel = fake_mm.direct_channel_of(mm_id("julien.moreau"))
            return sum(1 for c in fake_mm.calls_to("POST", "/api/v4/posts")
                       if c.status < 300 and isinstance(c.body, dict) and c.body.get("channel_id") == channel)

        started = time.perf_counter()
        background.kick()
        first = last = None
        while time.perf_counter() - started < args.timeout:
            n = posted_to_julien()
            if n and first is None:
                first = time.perf_counter() - started
            if n >= args.quotes:
                last = time.perf_counter() - started
                break
            time.sleep(0.01)
        tried = len(fake_slack.calls_to("chat.postMessage"))
        with contextlib.suppress(TimeoutError):  # Slack's retries may still run: the figures are taken
            background.executor.join(60)
        print(json.dumps({"bench": "platform_outage", "quotes": args.quotes,
                          "first_mattermost_dm_s": None if first is None else round(first, 3),
                          "last_mattermost_dm_s": None if last is None else round(last, 3),
                          "slack_posts_tried_meanwhile": tried,
                          "mattermost_dms": posted_to_julien()}))
        fake_mm.stop()
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
