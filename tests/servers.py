"""What the tests and the benchmarks that start a real server share: a free loopback port, and
waiting until that server answers ``/healthz``."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Any


def http_client(**options: Any) -> Any:
    """An ``httpx.Client`` that shares the process's TLS context: one made without it loads the whole
    root bundle again (30 ms of CPU), and the suite makes hundreds of clients."""
    import httpx

    from bot.platforms.mattermost.client import tls_context

    return httpx.Client(verify=tls_context(), **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 30.0, *,
                 interval: float = 0.05) -> float:
    """Seconds from now until ``url``/healthz answers 200; RuntimeError if ``proc`` exits or time runs out."""
    import httpx

    started = time.perf_counter()
    with http_client() as client:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
            try:
                if client.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(interval)
    raise RuntimeError(f"{url}/healthz did not answer within {timeout} s")
