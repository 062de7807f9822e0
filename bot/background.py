"""Background threads shared by the platform adapters.

:class:`TrackedExecutor` is a thread pool that can be waited on until idle (tests, a
graceful stop); :class:`BackgroundDelivery` runs the outbox courier in background
threads, one pass per platform at a time, so a request never waits for a chat
platform's Web API and a platform that is down never delays another.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

log = logging.getLogger("incubot.delivery")


def _lower_priority(niceness: int) -> None:
    """Make the calling thread yield the CPU to the others (Linux: each thread has its own nice value).

    The answers after the acks run niced, so when the machine is busy the kernel runs the
    threads that ack first. Elsewhere ``setpriority`` would renice the whole process: skipped.
    """
    if niceness <= 0 or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):  # not permitted in some containers: a latency tweak, never a failure
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


class TrackedExecutor(ThreadPoolExecutor):
    """A thread pool that knows what it still runs, so a caller can wait until it is idle."""

    def __init__(self, max_workers: int, name: str, *, niceness: int = 0) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=name,
                         initializer=_lower_priority, initargs=(niceness,))
        self._lock = threading.Lock()
        self._pending: set[Future[Any]] = set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def join(self, timeout: float = 30.0) -> None:
        """Wait until everything submitted (including what it submits in turn) has run."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("background work still running")
            wait(pending, timeout=remaining)


class BackgroundDelivery:
    """Runs the courier in the background, one pass per platform on its own thread.

    ``kick()`` queues one pass of every platform (``platforms()``, read at each kick); kicks
    while a platform's pass runs make one more pass of that platform, never two at once. A
    slow or down platform holds only its own thread: the others go on.
    """

    def __init__(self, flush_platform: Callable[[str], object], platforms: Callable[[], list[str]], *,
                 niceness: int = 0, max_platforms: int = 4) -> None:
        self._flush_platform = flush_platform
        self._platforms = platforms
        self._lock = threading.Lock()
        self._queued: set[str] = set()
        self._running: dict[str, threading.Lock] = {}
        # Two threads per platform: one pass running, the next one queued behind it.
        self.executor = TrackedExecutor(2 * max_platforms, "incubot-delivery", niceness=niceness)

    def kick(self) -> None:
        for platform in self._platforms():
            with self._lock:
                if platform in self._queued:
                    continue
                self._queued.add(platform)
                running = self._running.setdefault(platform, threading.Lock())
            self.executor.submit(self._run, platform, running)

    def _run(self, platform: str, running: threading.Lock) -> None:
        with running:
            with self._lock:
                self._queued.discard(platform)
            try:
                self._flush_platform(platform)
            except Exception:  # the outbox keeps the message; the next kick or the sweep retries it
                log.exception("delivery on %s failed; the outbox will retry", platform)
