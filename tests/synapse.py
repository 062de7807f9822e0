"""A real Matrix homeserver for tests and benchmarks: one Synapse per test session, on loopback.

``running_synapse()`` writes a configuration and a signing key in a temporary folder (what a
test needs: one client listener on 127.0.0.1, SQLite, no federation, fast bcrypt, every rate
limit raised, no sync response cache — without ``--generate-config``, a second start of
Synapse), starts the
homeserver, waits for ``GET /_matrix/client/versions`` and stops it afterwards (terminate,
wait, kill): no process is left behind, not even when the test process itself is killed
(the homeserver gets SIGTERM when its parent dies).

On the homeserver: ``Synapse.register`` (shared-secret registration), ``Synapse.override_ratelimit``
(real ``429 M_LIMIT_EXCEEDED`` for one user) and ``Synapse.person`` — a small client for a test
acting as a person (direct rooms, invitations, messages, reactions, edits, ``/sync``).

This module is a pytest plugin (``pytest_plugins`` in ``tests/conftest.py``): fixtures
``synapse`` (session) and ``matrix_people`` (a factory; the clients close after the test).
When Synapse is not installed or does not start, the tests that use them are skipped with the
reason; with ``INCUBOT_REQUIRE_SYNAPSE=1`` they fail instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.servers import free_port, http_client

SERVER_NAME = "localhost"
START_DEADLINE = 90.0  # seconds; a cold start takes a few seconds, more on a loaded machine
STOP_DEADLINE = 10.0

# Every rate limit of Synapse's configuration, raised so tests never meet one by accident.
_FAST = {"per_second": 10_000, "burst_count": 100_000}
RAISED_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _FAST,
    "rc_registration": _FAST,
    "rc_registration_token_validity": _FAST,
    "rc_login": {"address": _FAST, "account": _FAST, "failed_attempts": _FAST},
    "rc_admin_redaction": _FAST,
    "rc_joins": {"local": _FAST, "remote": _FAST},
    "rc_joins_per_room": _FAST,
    "rc_key_requests": _FAST,
    "rc_3pid_validation": _FAST,
    "rc_invites": {"per_room": _FAST, "per_user": _FAST, "per_issuer": _FAST},
    "rc_third_party_invite": _FAST,
    "rc_media_create": _FAST,
    "rc_presence": {"per_user": _FAST},
    "rc_delayed_event_mgmt": _FAST,
    "rc_room_creation": _FAST,
    "rc_reports": _FAST,
    "rc_user_directory": _FAST,
    "rc_profile": _FAST,
    "rc_federation": {"window_size": 1000, "sleep_limit": 10_000, "sleep_delay": 1, "reject_limit": 10_000,
                      "concurrent": 1000},
}


class SynapseUnavailable(RuntimeError):
    """Synapse is not installed, or did not answer in time; the message says why."""


class MatrixError(RuntimeError):
    """A homeserver's error answer: HTTP status, ``errcode``, and ``retry_after_ms`` for a 429."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.errcode: str = str(body.get("errcode", ""))
        self.error: str = str(body.get("error", ""))
        retry = body.get("retry_after_ms")
        self.retry_after_ms: int | None = int(retry) if retry is not None else None
        super().__init__(f"{status} {self.errcode}: {self.error}")


def _checked(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text}
    if response.status_code >= 400:
        raise MatrixError(response.status_code, body if isinstance(body, dict) else {"error": str(body)})
    return body if isinstance(body, dict) else {}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the homeserver gets SIGTERM when the process that started it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def write_config(folder: Path, port: int, shared_secret: str) -> Path:
    """Write a loopback test homeserver's configuration and signing key in ``folder``.

    Written here rather than by ``synapse.app.homeserver --generate-config``: that is a whole second
    start of Synapse (its imports), for a file whose every line that matters is overridden below.
    """
    import yaml  # dependencies of Synapse
    from signedjson.key import generate_signing_key, write_signing_keys

    config_path = folder / "hs.yaml"
    key_path = folder / f"{SERVER_NAME}.signing.key"
    with key_path.open("w") as key_file:
        write_signing_keys(key_file, [generate_signing_key("a_" + secrets.token_hex(2))])
    config: dict[str, Any] = {
        "server_name": SERVER_NAME,
        "pid_file": str(folder / "homeserver.pid"),
        "media_store_path": str(folder / "media_store"),
        "signing_key_path": str(key_path),
        "macaroon_secret_key": secrets.token_hex(32),
        "form_secret": secrets.token_hex(32),
    }
    config.update(RAISED_RATE_LIMITS)
    config.update({
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "listeners": [{
            "port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
            "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
        }],
        "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
        "registration_shared_secret": shared_secret,
        "enable_registration": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "bcrypt_rounds": 4,
        "caches": {"sync_response_cache_duration": 0},
        "default_room_version": "10",
        "report_stats": False,
        "enable_metrics": False,
        # What the tests never use and Synapse would work at for every event: sending it over federation
        # (no other server), room statistics, the user directory, push notifications. Together a fifth of
        # the homeserver's CPU on a workload like the suite's (rooms, joins, messages, syncs).
        "federation_sender_instances": [],
        "stats": {"enabled": False},
        "user_directory": {"enabled": False},
        "push": {"enabled": False},
    })
    config_path.write_text(yaml.safe_dump(config))
    return config_path


class Synapse:
    """A running homeserver: its URL, the shared secret, and admin calls."""

    def __init__(self, base_url: str, shared_secret: str, folder: Path, proc: subprocess.Popen[bytes]) -> None:
        self.base_url = base_url
        self.server_name = SERVER_NAME
        self.shared_secret = shared_secret
        self.folder = folder
        self.proc = proc
        self.generate_seconds = 0.0  # writing the configuration and the signing key
        self.start_seconds = 0.0  # process start to the first answer of /_matrix/client/versions
        self.http = http_client(base_url=base_url, timeout=30.0)
        self._admin_token: str | None = None

    # ------------------------------------------------------------------ accounts

    def register(self, user: str, password: str, admin: bool = False) -> tuple[str, str, str]:
        """Create ``@user:localhost`` with the shared secret; its (user_id, access_token, device_id)."""
        nonce = _checked(self.http.get("/_synapse/admin/v1/register"))["nonce"]
        message = b"\x00".join(part.encode() for part in (nonce, user, password, "admin" if admin else "notadmin"))
        mac = hmac.new(self.shared_secret.encode(), message, digestmod=hashlib.sha1).hexdigest()
        body = _checked(self.http.post("/_synapse/admin/v1/register", json={
            "nonce": nonce, "username": user, "password": password, "admin": admin, "mac": mac,
        }))
        return body["user_id"], body["access_token"], body["device_id"]

    def admin_token(self) -> str:
        if self._admin_token is None:
            _, self._admin_token, _ = self.register(f"admin-{uuid.uuid4().hex[:8]}", secrets.token_hex(8), admin=True)
        return self._admin_token

    def override_ratelimit(self, user_id: str, messages_per_second: int, burst_count: int) -> None:
        """Give one user its own message rate limit (integers), so its next sends meet a real 429."""
        _checked(self.http.post(
            f"/_synapse/admin/v1/users/{quote(user_id)}/override_ratelimit",
            json={"messages_per_second": int(messages_per_second), "burst_count": int(burst_count)},
            headers={"Authorization": f"Bearer {self.admin_token()}"},
        ))

    def clear_ratelimit_override(self, user_id: str) -> None:
        """Back to the (raised) configured rate limit for that user."""
        _checked(self.http.delete(
            f"/_synapse/admin/v1/users/{quote(user_id)}/override_ratelimit",
            headers={"Authorization": f"Bearer {self.admin_token()}"},
        ))

    def person(self, name: str, *, unique: bool = True) -> MatrixPerson:
        """A registered account and its client; ``name`` gets a short random suffix unless ``unique=False``."""
        localpart = f"{name}-{uuid.uuid4().hex[:6]}" if unique else name
        user_id, token, device_id = self.register(localpart, secrets.token_hex(8))
        return MatrixPerson(self.base_url, user_id, token, device_id)

    def close(self) -> None:
        self.http.close()


@contextlib.contextmanager
def running_synapse(folder: Path | None = None) -> Iterator[Synapse]:
    """Start a homeserver (in ``folder``, or a temporary one), yield it once it answers, stop it afterwards."""
    import importlib.util

    if importlib.util.find_spec("synapse") is None:
        raise SynapseUnavailable("matrix-synapse is not installed (pip install -e '.[test]')")
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="synapse-", dir=_scratch_root())))
        shared_secret = secrets.token_hex(16)
        port = free_port()
        started = time.perf_counter()
        config = write_config(folder, port, shared_secret)
        generated = time.perf_counter()
        output = (folder / "synapse.out").open("wb")
        stack.callback(output.close)
        proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(config)],
            cwd=folder, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        stack.callback(_stop, proc)
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(base_url, proc, folder)
        server = Synapse(base_url, shared_secret, folder, proc)
        stack.callback(server.close)
        server.generate_seconds = generated - started
        server.start_seconds = time.perf_counter() - generated
        yield server


def _scratch_root() -> str | None:
    """Memory-backed storage when there is some: Synapse's SQLite syncs each event to disk, which
    doubles a message's round trip on a disk (measured with bench/matrix_echo.py)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _wait_until_up(base_url: str, proc: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE
    with http_client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SynapseUnavailable(f"the homeserver exited with {proc.returncode}: {_log_tail(folder)}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{base_url}/_matrix/client/versions").status_code == 200:
                    return
            time.sleep(0.05)  # polling interval while the homeserver starts, not a wait for an outcome
    raise SynapseUnavailable(f"no answer from {base_url} within {START_DEADLINE:.0f} s: {_log_tail(folder)}")


def _log_tail(folder: Path) -> str:
    texts = []
    for name in ("synapse.out", "homeserver.log"):
        path = folder / name
        if path.exists():
            texts.append(path.read_text(errors="replace")[-800:])
    return " | ".join(texts) or "no log"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_DEADLINE)


# ---------------------------------------------------------------------- a person's client


@dataclass(frozen=True)
class MatrixEvent:
    """One event seen in ``/sync``: its room, where it was (``join``, ``invite``, ``leave``) and the event."""

    room_id: str
    section: str
    event: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.event.get("type", ""))

    @property
    def sender(self) -> str:
        return str(self.event.get("sender", ""))

    @property
    def content(self) -> dict[str, Any]:
        return dict(self.event.get("content") or {})

    @property
    def event_id(self) -> str:
        return str(self.event.get("event_id", ""))

    @property
    def relates_to(self) -> dict[str, Any]:
        return dict(self.content.get("m.relates_to") or {})


_SYNC_FILTER = json.dumps({"presence": {"not_types": ["*"]}, "room": {"timeline": {"limit": 100}}})


@dataclass
class MatrixPerson:
    """A test acting as a person on the homeserver, over the client-server API (httpx, synchronous)."""

    base_url: str
    user_id: str
    access_token: str
    device_id: str
    since: str | None = None
    pending: list[MatrixEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http = http_client(base_url=self.base_url, timeout=60.0,
                                 headers={"Authorization": f"Bearer {self.access_token}"})

    def close(self) -> None:
        self.http.close()

    def _txn(self) -> str:
        return uuid.uuid4().hex

    # ------------------------------------------------------------------ rooms

    def create_dm(self, other: str, *, encrypted: bool = False) -> str:
        """A direct room with ``other`` invited (``is_direct``), recorded in this person's ``m.direct``."""
        body: dict[str, Any] = {"is_direct": True, "invite": [other], "preset": "trusted_private_chat"}
        if encrypted:
            body["initial_state"] = [{"type": "m.room.encryption", "state_key": "",
                                      "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
        room_id = str(_checked(self.http.post("/_matrix/client/v3/createRoom", json=body))["room_id"])
        self.mark_direct(room_id, other)
        return room_id

    def create_room(self, name: str, invite: list[str] | None = None) -> str:
        """A private group room (not direct)."""
        body = {"name": name, "preset": "private_chat", "invite": invite or []}
        return str(_checked(self.http.post("/_matrix/client/v3/createRoom", json=body))["room_id"])

    def mark_direct(self, room_id: str, other: str) -> None:
        url = f"/_matrix/client/v3/user/{quote(self.user_id)}/account_data/m.direct"
        response = self.http.get(url)
        direct: dict[str, list[str]] = response.json() if response.status_code == 200 else {}
        direct.setdefault(other, [])
        if room_id not in direct[other]:
            direct[other].append(room_id)
        _checked(self.http.put(url, json=direct))

    def invite(self, room_id: str, user_id: str) -> None:
        _checked(self.http.post(f"/_matrix/client/v3/rooms/{quote(room_id)}/invite", json={"user_id": user_id}))

    def join(self, room_id: str) -> None:
        _checked(self.http.post(f"/_matrix/client/v3/join/{quote(room_id)}", json={}))

    def leave(self, room_id: str) -> None:
        _checked(self.http.post(f"/_matrix/client/v3/rooms/{quote(room_id)}/leave", json={}))

    # ------------------------------------------------------------------ events

    def send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send one event; its id. A homeserver refusal (a 429 included) raises ``MatrixError``."""
        url = f"/_matrix/client/v3/rooms/{quote(room_id)}/send/{quote(event_type)}/{self._txn()}"
        return str(_checked(self.http.put(url, json=content))["event_id"])

    def send_text(self, room_id: str, body: str, *, reply_to: str | None = None, html: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if html is not None:
            content.update({"format": "org.matrix.custom.html", "formatted_body": html})
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return self.send(room_id, "m.room.message", content)

    def react(self, room_id: str, event_id: str, key: str) -> str:
        """A reaction (``m.reaction``, ``m.annotation``) with ``key`` on ``event_id``."""
        return self.send(room_id, "m.reaction",
                         {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}})

    def edit(self, room_id: str, event_id: str, body: str) -> str:
        """Replace the text of one's own ``event_id`` (``m.replace``)."""
        new = {"msgtype": "m.text", "body": body}
        return self.send(room_id, "m.room.message", {
            "msgtype": "m.text", "body": f"* {body}", "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        })

    def redact(self, room_id: str, event_id: str, reason: str | None = None) -> str:
        url = f"/_matrix/client/v3/rooms/{quote(room_id)}/redact/{quote(event_id)}/{self._txn()}"
        return str(_checked(self.http.put(url, json={"reason": reason} if reason else {}))["event_id"])

    def download(self, mxc: str) -> bytes:
        """The bytes of ``mxc://server/id`` from the media repository (authenticated media, as clients fetch it)."""
        server, _, media_id = mxc.removeprefix("mxc://").partition("/")
        response = self.http.get(f"/_matrix/client/v1/media/download/{quote(server)}/{quote(media_id)}")
        if response.status_code != 200:
            raise MatrixError(response.status_code, response.json())
        return response.content

    def download_file(self, content: dict[str, Any]) -> bytes:
        """The file of an ``m.file`` event: ``url``, or ``file`` (encrypted: fetched, then decrypted with its key)."""
        if "url" in content:
            return self.download(str(content["url"]))
        from mautrix.crypto.attachments import decrypt_attachment

        file = content["file"]
        return decrypt_attachment(self.download(str(file["url"])), file["key"]["k"], file["hashes"]["sha256"],
                                  file["iv"])

    # ------------------------------------------------------------------ sync

    def sync(self, timeout_ms: int = 0) -> list[MatrixEvent]:
        """One ``/sync`` from the last ``since`` token: the events it brought, also kept in ``pending``."""
        params: dict[str, Any] = {"timeout": timeout_ms, "filter": _SYNC_FILTER}
        if self.since:
            params["since"] = self.since
        body = _checked(self.http.get("/_matrix/client/v3/sync", params=params,
                                      timeout=timeout_ms / 1000 + 30.0))
        self.since = body["next_batch"]
        events: list[MatrixEvent] = []
        rooms = body.get("rooms") or {}
        for room_id, room in (rooms.get("invite") or {}).items():
            for event in (room.get("invite_state") or {}).get("events", []):
                events.append(MatrixEvent(room_id, "invite", event))
        for section in ("join", "leave"):
            for room_id, room in (rooms.get(section) or {}).items():
                for event in (room.get("state") or {}).get("events", []):
                    events.append(MatrixEvent(room_id, section, event))
                for event in (room.get("timeline") or {}).get("events", []):
                    events.append(MatrixEvent(room_id, section, event))
        self.pending.extend(events)
        return events

    def wait_for(self, predicate: Callable[[MatrixEvent], bool], *, deadline: float = 15.0,
                 what: str = "an event") -> MatrixEvent:
        """The first event seen in ``/sync`` (long-polled) that matches; raises after ``deadline`` seconds.

        Matching events are taken out of ``pending``; the others stay for a later ``wait_for``.
        """
        end = time.monotonic() + deadline
        while True:
            for index, seen in enumerate(self.pending):
                if predicate(seen):
                    del self.pending[index]
                    return seen
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.user_id} did not see {what} within {deadline} s")
            self.sync(timeout_ms=int(min(remaining, 10.0) * 1000))

    def wait_for_invite(self, room_id: str | None = None, *, deadline: float = 15.0) -> MatrixEvent:
        """This person's own invitation (its ``m.room.member`` in an invited room)."""
        return self.wait_for(lambda e: e.section == "invite" and e.type == "m.room.member"
                             and e.event.get("state_key") == self.user_id
                             and (room_id is None or e.room_id == room_id),
                             deadline=deadline, what="an invitation")

    def wait_for_join(self, room_id: str, user_id: str, *, deadline: float = 15.0) -> MatrixEvent:
        return self.wait_for(lambda e: e.room_id == room_id and e.type == "m.room.member"
                             and e.event.get("state_key") == user_id and e.content.get("membership") == "join",
                             deadline=deadline, what=f"{user_id} joining")

    def wait_for_message(self, room_id: str, *, sender: str | None = None, body: str | None = None,
                         deadline: float = 15.0) -> MatrixEvent:
        return self.wait_for(lambda e: e.room_id == room_id and e.type == "m.room.message"
                             and (sender is None or e.sender == sender)
                             and (body is None or e.content.get("body") == body),
                             deadline=deadline, what=f"a message {body!r}")


# ---------------------------------------------------------------------- pytest fixtures


@pytest.fixture(scope="session")
def synapse() -> Iterator[Synapse]:
    """One real Synapse for the whole test session (skipped with the reason when it cannot start)."""
    try:
        server_cm = running_synapse()
        server = server_cm.__enter__()
    except SynapseUnavailable as exc:
        if os.environ.get("INCUBOT_REQUIRE_SYNAPSE") == "1":
            raise
        pytest.skip(f"Synapse could not start: {exc}")
    try:
        yield server
    finally:
        server_cm.__exit__(None, None, None)


@pytest.fixture
def matrix_people(synapse: Synapse) -> Iterator[Callable[[str], MatrixPerson]]:
    """``matrix_people("claire")``: a new account on the test homeserver and its client, closed after the test."""
    made: list[MatrixPerson] = []

    def make(name: str) -> MatrixPerson:
        person = synapse.person(name)
        made.append(person)
        return person

    yield make
    for person in made:
        person.close()


class MatrixAccounts:
    """People's accounts and group rooms on the session's homeserver, made once and reused by every test.

    Registering the demo world's eight people for each test would cost more than the test; each test
    has its own bot account instead (``tests/chat_matrix.py``), so what an earlier test's bot sent is
    told apart by its sender.
    """

    def __init__(self, synapse: Synapse) -> None:
        self.synapse = synapse
        self.people: dict[str, MatrixPerson] = {}
        self.rooms: dict[str, str] = {}

    def person(self, who: str) -> MatrixPerson:
        """The account of ``who`` (a person id of the reference, or anyone), registered on first use."""
        if who not in self.people:
            self.people[who] = self.synapse.person(who)
        return self.people[who]

    def room(self, name: str, creator: str, members: tuple[str, ...] = ()) -> str:
        """A private group room ``name`` made by ``creator``, ``members`` joined; made on first use."""
        if name not in self.rooms:
            owner = self.person(creator)
            room = owner.create_room(name, invite=[self.person(m).user_id for m in members])
            for member in members:
                self.person(member).join(room)
            self.rooms[name] = room
        return self.rooms[name]

    def close(self) -> None:
        for person in self.people.values():
            person.close()


@pytest.fixture(scope="session")
def matrix_accounts(synapse: Synapse) -> Iterator[MatrixAccounts]:
    """The session's :class:`MatrixAccounts` on the session's homeserver."""
    accounts = MatrixAccounts(synapse)
    yield accounts
    accounts.close()
