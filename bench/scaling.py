"""``budget`` and ``rapport`` as a manager with 10², 10⁴ and 10⁵ quotes: the time must stay flat.

Goal: median time at 10⁵ quotes ≤ 1.2 × the median at 10². The commands go through
:class:`handlers.core.Bot` (what every platform calls), as Camille Martin (manager),
on a database filled by ``bot.demo.load_demo`` + ``bot.demo.generate_quotes``
(``incubot demo --quotes N`` does the same). The same database grows from 10² to
10⁴ to 10⁵ generated quotes; each size is measured after a few warm-up calls.

    .venv/bin/python bench/scaling.py                    # SQLite file and PostgreSQL
    .venv/bin/python bench/scaling.py --backend sqlite   # SQLite only

Prints a table, then one JSON line (``{"bench": "scaling", ...}``). Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bot.app import build_runtime  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.demo import generate_quotes, load_demo  # noqa: E402
from handlers.types import Request  # noqa: E402

SIZES = (100, 10_000, 100_000)
COMMANDS = ("budget", "rapport")
MANAGER = "camille.martin"
GOAL_RATIO = 1.2
PG_ADMIN_URL = os.environ.get("INCUBOT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A throw-away database URL (SQLite file in a temp dir, or a fresh PostgreSQL database)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="incubot-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    name = f"incubot_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(fn: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def measure(backend: str, runs: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with database(backend) as url:
        runtime = build_runtime(Settings(database_url=url))
        now = datetime.now(UTC)
        load_demo(runtime.services.sessions, now)
        generated = 0
        for size in SIZES:
            start = time.perf_counter()
            generate_quotes(runtime.services.sessions, now, size - generated)
            generated = size
            fill_s = time.perf_counter() - start
            for command in COMMANDS:
                reply = runtime.bot.message(Request("console", MANAGER, command))
                assert "erreur" not in reply.text, reply.text
                samples = timed(lambda c=command: runtime.bot.message(Request("console", MANAGER, c)), runs)
                rows.append({"backend": backend, "command": command, "quotes": size,
                             "median_ms": round(statistics.median(samples), 2),
                             "p90_ms": round(statistics.quantiles(samples, n=10)[-1], 2),
                             "fill_s": round(fill_s, 1)})
        runtime.engine.dispose()
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
    print(f"{'backend':<11} {'command':<8} {'quotes':>8} {'median ms':>10} {'p90 ms':>8}")
    for row in rows:
        print(f"{row['backend']:<11} {row['command']:<8} {row['quotes']:>8} {row['median_ms']:>10} {row['p90_ms']:>8}")
    print()
    print(f"{'backend':<11} {'command':<8} {'10^5 / 10^2':>12}  goal ≤ {GOAL_RATIO}")
    for backend in backends:
        for command in COMMANDS:
            by_size = {r["quotes"]: r["median_ms"] for r in rows if r["backend"] == backend and r["command"] == command}
            ratio = round(float(by_size[SIZES[-1]]) / float(by_size[SIZES[0]]), 2)  # type: ignore[arg-type]
            met = ratio <= GOAL_RATIO
            summary.append({"backend": backend, "command": command, "ratio": ratio, "met": met})
            print(f"{backend:<11} {command:<8} {ratio:>12}  {'met' if met else 'MISSED'}")
    print(json.dumps({"bench": "scaling", "goal_ratio": GOAL_RATIO, "runs": args.runs, "rows": rows,
                      "ratios": summary}))
    return 0 if all(s["met"] for s in summary) else 1


if __name__ == "__main__":
    raise SystemExit(main())
