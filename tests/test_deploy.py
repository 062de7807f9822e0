"""The systemd unit and the container file start incubot the way the README says, and stop it cleanly."""

from __future__ import annotations

import configparser
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "incubot.service"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(UNIT, encoding="utf-8")
    return parser


def test_the_unit_starts_incubot_serve_and_gives_the_drain_time_to_stop() -> None:
    """ExecStart is `incubot serve` from the venv; systemd waits longer than the drain before killing."""
    service = unit()["Service"]
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).name == "incubot" and command[1:] == ["serve"]
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) > 10
    assert service["WorkingDirectory"] in service["ReadWritePaths"]


def test_the_units_command_serves_healthz_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The unit's ExecStart, run with its Environment (port changed), answers /healthz, then exits 0 on SIGTERM."""
    service = unit()["Service"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATTERMOST_", "MATRIX_"))}
    for line in service.get("Environment", "").splitlines() or [service["Environment"]]:
        key, _, value = line.partition("=")
        env[key] = value
    port = free_port()
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'incubot.db'}", INCUBOT_DRAIN_SECONDS="2")
    command = shlex.split(service["ExecStart"])
    command[0] = str(Path(sys.executable).with_name("incubot"))  # this venv's, in place of /srv/incubot/.venv
    proc = subprocess.Popen(command + ["--host", "127.0.0.1"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc, 30)
        except RuntimeError as exc:
            raise AssertionError(f"{exc}: {proc.stderr.read().decode() if proc.stderr else ''}") from None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=int(service["TimeoutStopSec"])) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_container_file_installs_the_package_and_runs_incubot_serve() -> None:
    """The container copies the three packages, installs with the PostgreSQL driver, and runs `incubot serve`."""
    text = CONTAINERFILE.read_text(encoding="utf-8")
    for folder in ("bot", "handlers", "storage"):
        assert f"COPY {folder} ./{folder}" in text
    assert "pip install --no-cache-dir '.[postgres]'" in text
    assert 'CMD ["incubot", "serve"]' in text and "EXPOSE 3000" in text and "ENV PORT=3000" in text
    if not os.environ.get("INCUBOT_TEST_DOCKER"):
        pytest.skip("building the image needs a registry for its base image: "
                    "set INCUBOT_TEST_DOCKER=1 where there is one")
    subprocess.run(["docker", "build", "-f", str(CONTAINERFILE), "-t", "incubot-test", str(ROOT)], check=True)
