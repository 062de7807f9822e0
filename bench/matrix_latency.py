"""``budget`` in a direct room on Tchap (Matrix): incubot against the mautrix echo bot, same Synapse, same run.

``python bench/matrix_latency.py [--messages N]`` starts one homeserver (``tests/synapse.py``), the
echo bot of ``bench/matrix_echo.py`` (a subprocess) and incubot's Matrix platform (in this
process, on a fresh SQLite database with the demo data, Léa Dupont given a Matrix account),
and measures for each the time from Léa sending a message in her direct room to the bot's
reply arriving in her ``/sync``: p50, p95 and the ratio of the p50s (goal ≤ 1.5×).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from matrix_echo import _stop, percentile  # noqa: E402


def round_trips(person, room: str, bot_id: str, text: str, count: int) -> list[float]:  # type: ignore[no-untyped-def]
    figures = []
    for _ in range(count):
        started = time.perf_counter()
        asked = person.send_text(room, text)
        person.wait_for(lambda e, asked=asked: e.room_id == room and e.sender == bot_id
                        and (e.content.get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id") == asked,
                        deadline=30.0, what="the answer")
        figures.append(time.perf_counter() - started)
        person.pending.clear()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    from bot.compose import compose
    from bot.config import Settings
    from bot.demo import demo_reference_text
    from bot.platforms import matrix
    from handlers.importer import parse_reference
    from storage.db import make_engine, session_factory, unit_of_work, upgrade
    from storage.reference import import_reference, set_account
    from tests.synapse import running_synapse

    with running_synapse() as synapse, tempfile.TemporaryDirectory() as scratch:
        echo_id, echo_token, echo_device = synapse.register("echo-bot", "echo-bot-password")
        echo = subprocess.Popen([sys.executable, str(ROOT / "bench" / "matrix_echo.py"), "bot", synapse.base_url,
                                 echo_id, echo_token, echo_device, str(Path(scratch) / "echo")],
                                stdin=subprocess.DEVNULL)
        person = synapse.person("lea")
        try:
            room = person.create_dm(echo_id)
            person.wait_for_join(room, echo_id, deadline=60)
            echo_figures = round_trips(person, room, echo_id, "budget", args.warmup + args.messages)[args.warmup:]
        finally:
            _stop(echo)

        engine = make_engine(f"sqlite:///{scratch}/incubot.db")
        upgrade(engine)
        data = parse_reference(demo_reference_text(time.gmtime().tm_year))
        with unit_of_work(session_factory(engine)) as session:
            import_reference(session=session, data=data)
            set_account(session=session, person_id="lea.dupont", platform="matrix", external_id=person.user_id)
        bot_id, token, device = synapse.register("incubot", "incubot-password")
        settings = Settings(database_url=str(engine.url), matrix_homeserver_url=synapse.base_url,
                            matrix_user_id=bot_id, matrix_access_token=token, matrix_device_id=device,
                            matrix_store=f"{scratch}/matrix-store.db", matrix_pickle_key="bench")
        incubot = compose(settings, engine=engine, migrate=False, plugs=[matrix.PLUG])
        incubot.start()
        try:
            room = person.create_dm(bot_id)
            person.wait_for_join(room, bot_id, deadline=60)
            ours = round_trips(person, room, bot_id, "budget", args.warmup + args.messages)[args.warmup:]
        finally:
            incubot.stop(10)
            person.close()

    for name, figures in (("echo bot (mautrix)", echo_figures), ("incubot budget", ours)):
        print(f"{name}: p50 {percentile(figures, 0.5) * 1000:.1f} ms, p95 {percentile(figures, 0.95) * 1000:.1f} ms")
    print(f"ratio of the p50s: {percentile(ours, 0.5) / percentile(echo_figures, 0.5):.2f}× (goal ≤ 1.5×)")


if __name__ == "__main__":
    import logging

    logging.getLogger("mau").setLevel(logging.ERROR)
    main()
