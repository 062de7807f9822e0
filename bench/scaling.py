"""``budget`` and ``rapport`` as a manager, and a decision (``valider``) as an intrapreneur, with 10²,
10⁴ and 10⁵ quotes — a third of them orders (EJ, BC, paid service done, some closed): the time
must stay flat, the order chain's counters being kept, not summed at read time.

Goal: median time at 10⁵ quotes ≤ 1.2 × the median at 10². The commands go through
:class:`handlers.core.Bot` (what every platform calls), as Camille Martin (manager) and
Julien Moreau (Dédale's intrapreneur, who validates a new quote of Léa's each round; the
clock is held at 15 June so the fin de gestion never refuses it),
on a database filled by ``bot.demo.load_demo`` + ``bot.demo.generate_quotes``
(``incubot demo --quotes N`` does the same), one database per size. The sizes are
measured in interleaved rounds (each command once on each size, then again), after a
few warm-up rounds: on a shared machine a load spike then hits every size alike.

    .venv/bin/python bench/scaling.py                    # SQLite file and PostgreSQL
    .venv/bin/python bench/scaling.py --backend sqlite   # SQLite only

Prints a table, then one JSON line (``{"bench": "scaling", ...}``). Loopback only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database  # noqa: E402

from bot.compose import compose  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.demo import generate_quotes, load_demo  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from handlers.i18n import Translator  # noqa: E402
from handlers.reports import monthly_report, report_markdown  # noqa: E402
from handlers.types import Reply, Request  # noqa: E402
from storage import ledger  # noqa: E402
from storage.db import unit_of_work  # noqa: E402

SIZES = (100, 10_000, 100_000)
# ``rapport.md``: the month's document (what ``incubot report --format md`` writes and the PDF holds): the
# chat's figures plus the chart's months and the quotes waiting at the month's end.
COMMANDS = ("budget", "rapport", "rapport.md", "valider")
MANAGER = "camille.martin"
INTRAPRENEUR = "julien.moreau"
GOAL_RATIO = 1.2


def run(runtime: Runtime, command: str, to_validate: list[str]) -> Reply:
    """``command`` as the manager; ``valider``: the intrapreneur validates the next quote waiting;
    ``rapport.md``: last month's report document."""
    if command == "rapport.md":
        t = Translator("fr", ZoneInfo("Europe/Paris"))
        with unit_of_work(runtime.services.sessions) as session:
            now = runtime.services.clock()
            report = monthly_report(session=session, t=t, year=now.year, month=now.month - 1)
            return Reply(report_markdown(report, t, session=session))
    if command == "valider":
        return runtime.bot.message(Request("console", INTRAPRENEUR, f"valider {to_validate.pop()}"))
    return runtime.bot.message(Request("console", MANAGER, command))


def measure(backend: str, runs: int, warmup: int = 5) -> list[dict[str, object]]:
    """One database per size, then rounds that call each command once on each size in turn:
    a load spike on this shared machine hits every size alike instead of one of them."""
    rows: list[dict[str, object]] = []
    with ExitStack() as stack:
        runtimes, fill = {}, {}
        to_validate: dict[int, list[str]] = {}
        now = datetime(datetime.now(UTC).year, 6, 15, 10, tzinfo=UTC)
        for size in SIZES:
            url = stack.enter_context(database(backend))
            runtime = compose(Settings(database_url=url), plugs=(), clock=lambda: now).runtime
            stack.callback(runtime.engine.dispose)
            load_demo(runtime.services.sessions, now)
            start = time.perf_counter()
            generate_quotes(runtime.services.sessions, now, size)
            fill[size] = time.perf_counter() - start
            runtimes[size] = runtime
            with unit_of_work(runtime.services.sessions) as session:
                to_validate[size] = [ledger.create_quote(
                    session=session, startup_id="dedale", submitted_by="lea.dupont", amount_cents=100_00,
                    amount_ht_cents=None, supplier="Arawa", object="Mesure", platform="bench", now=now,
                    year=now.year).reference for _ in range(warmup + runs + 1)]
            for command in COMMANDS:
                reply = run(runtime, command, to_validate[size])
                assert "erreur" not in reply.text and "C'est fait" in reply.text or command != "valider", reply.text
        samples: dict[tuple[int, str], list[float]] = {(size, c): [] for size in SIZES for c in COMMANDS}
        for round_ in range(warmup + runs):
            for size in SIZES:
                for command in COMMANDS:
                    start = time.perf_counter()
                    run(runtimes[size], command, to_validate[size])
                    if round_ >= warmup:
                        samples[(size, command)].append((time.perf_counter() - start) * 1000)
    for size in SIZES:
        for command in COMMANDS:
            ms = samples[(size, command)]
            rows.append({"backend": backend, "command": command, "quotes": size,
                         "median_ms": round(statistics.median(ms), 2),
                         "p90_ms": round(statistics.quantiles(ms, n=10)[-1], 2), "fill_s": round(fill[size], 1)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=31, help="measured calls per command and size (median)")
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows: list[dict[str, object]] = []
    for backend in backends:
        rows += measure(backend, args.runs)

    summary = []
    print(f"{'backend':<11} {'command':<10} {'quotes':>8} {'median ms':>10} {'p90 ms':>8}")
    for row in rows:
        print(f"{row['backend']:<11} {row['command']:<10} {row['quotes']:>8} {row['median_ms']:>10} {row['p90_ms']:>8}")
    print()
    print(f"{'backend':<11} {'command':<10} {'10^5 / 10^2':>12}  goal ≤ {GOAL_RATIO}")
    for backend in backends:
        for command in COMMANDS:
            by_size = {r["quotes"]: r["median_ms"] for r in rows if r["backend"] == backend and r["command"] == command}
            ratio = round(float(by_size[SIZES[-1]]) / float(by_size[SIZES[0]]), 2)  # type: ignore[arg-type]
            met = ratio <= GOAL_RATIO
            summary.append({"backend": backend, "command": command, "ratio": ratio, "met": met})
            print(f"{backend:<11} {command:<10} {ratio:>12}  {'met' if met else 'MISSED'}")
    print(json.dumps({"bench": "scaling", "goal_ratio": GOAL_RATIO, "runs": args.runs, "rows": rows,
                      "ratios": summary}))
    return 0 if all(s["met"] for s in summary) else 1


if __name__ == "__main__":
    raise SystemExit(main())
