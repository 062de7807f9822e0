"""The connection to the homeserver: mautrix-python on its own thread and asyncio loop.

mautrix is the only Matrix library here, and only this module imports it: it decrypts and
encrypts (Olm/Megolm, key store in its SQL store, kept across restarts) and can cross-sign
the bot's device with a recovery key, which current Tchap clients need for encrypted rooms
(matrix-nio cannot). The rest of the platform calls :meth:`Link.call` from its threads.

The sync loop is ours, not mautrix's: each ``/sync`` response goes through mautrix's
``handle_sync`` (to-device keys, device lists, the room state store), then its room events —
decrypted when they can be — are handed to ``on_batch`` *with the next sync token*, which
stores both in one transaction (``bot/platforms/matrix/platform.py``). A homeserver that is
down is retried with a growing pause; a ``429 M_LIMIT_EXCEEDED`` is waited out for what the
homeserver asks (``retry_after_ms``, read off the response as it arrives: mautrix's error drops it),
for syncs and sends alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger("incubot.matrix")

T = TypeVar("T")
SYNC_TIMEOUT_MS = 30_000
MAX_PAUSE = 60.0
MAX_RETRY_AFTER = 60.0
SEND_ATTEMPTS = 5
_FILTER = {"presence": {"types": []}, "account_data": {"types": []},
           "room": {"ephemeral": {"types": []}, "timeline": {"limit": 100}}}


@dataclass(frozen=True)
class LinkSettings:
    homeserver: str
    user_id: str
    access_token: str
    device_id: str
    store: str  # where mautrix keeps the keys: a SQLite file path or a postgres:// URL
    pickle_key: str
    recovery_key: str | None = None


# The wait the last 429 of this task asked for (seconds), noted by _note_rate_limit as the response came
# in: mautrix turns the answer into MLimitExceeded(status, message) and drops the body that says it.
_ASKED: contextvars.ContextVar[float | None] = contextvars.ContextVar("incubot_matrix_retry_after", default=None)


async def _note_rate_limit(_session: Any, _context: Any, params: Any) -> None:
    """aiohttp's ``on_request_end``: a 429's ``retry_after_ms`` (or its ``Retry-After`` header) noted for
    :meth:`Link.retrying`, in the task that made the request. The body read here is buffered: mautrix
    reads it again."""
    response = params.response
    if response.status != 429:
        return
    asked: float | None = None
    with contextlib.suppress(Exception):
        asked = float((await response.json(content_type=None))["retry_after_ms"]) / 1000.0
    if asked is None:
        with contextlib.suppress(TypeError, ValueError):
            asked = float(response.headers.get("Retry-After"))
    _ASKED.set(asked)


def retry_after(exc: BaseException, attempt: int = 0, asked: float | None = None) -> float | None:
    """Seconds to wait after a 429 (try ``attempt`` + 1 failed), or None if ``exc`` is not a rate limit.

    What the homeserver asked: ``asked`` (noted off the response), else the error's own ``retry_after_ms``
    when mautrix kept its text; failing both, 1, 2, 4, 8 s — a flat second gave up after four tries
    where a homeserver asking for five would have taken the message."""
    if getattr(exc, "errcode", None) != "M_LIMIT_EXCEEDED" and getattr(exc, "http_status", None) != 429:
        return None
    if asked is None:
        try:
            asked = float(json.loads(getattr(exc, "text", "") or "{}")["retry_after_ms"]) / 1000.0
        except (ValueError, TypeError, AttributeError, KeyError):
            asked = 2.0 ** attempt
    return min(max(asked, 0.0), MAX_RETRY_AFTER)


class Link:
    """mautrix on a thread of its own; ``call`` runs a coroutine there from any thread."""

    def __init__(self, settings: LinkSettings, on_batch: Callable[[list[dict[str, Any]], str, bool], None],
                 load_token: Callable[[], str | None], sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self.on_batch = on_batch
        self.load_token = load_token
        self.sleep = sleep or asyncio.sleep
        self.loop = asyncio.new_event_loop()
        self.client: Any = None
        self.db: Any = None
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._closing: asyncio.Event | None = None
        self._syncing = True  # False once stop() began: no new sync, calls still served
        self._stopping = False  # True once the work that answers through the link is done: calls refused
        self._in_flight: set[Future[Any]] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ life cycle

    def start(self, timeout: float = 60.0) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="incubot-matrix", daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout):
            raise TimeoutError("the Matrix client did not start in time")
        if self.failed is not None:
            raise self.failed

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._open())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self.failed = exc
            self.ready.set()
            return
        self.ready.set()
        self._closing = asyncio.Event()
        self._sync_task = self.loop.create_task(self._sync_forever())
        self.loop.run_until_complete(self._serve())
        self.loop.run_until_complete(self._close())
        self.loop.close()

    async def _serve(self) -> None:
        """Sync until stopped, then go on serving calls until :meth:`stop` closes the link."""
        assert self._sync_task is not None and self._closing is not None
        with contextlib.suppress(asyncio.CancelledError):
            await self._sync_task
        await self._closing.wait()

    def stop(self, timeout: float, drain: Callable[[float], object] | None = None) -> bool:
        """Stop syncing; let ``drain(seconds)`` finish the work that still answers through the link (its
        calls are served meanwhile), wait for the calls in flight, then close the HTTP session and the key
        store (or the process hangs). An answer cut off mid-send would be sent again after a restart."""
        if self._thread is None:
            return True
        deadline = time.monotonic() + max(timeout, 0.0)

        def left() -> float:
            return max(deadline - time.monotonic(), 0.0)

        self._syncing = False
        if self._sync_task is not None:
            self.loop.call_soon_threadsafe(self._sync_task.cancel)
        if drain is not None and self.ready.is_set() and self.failed is None:
            drain(left())
        self._stopping = True
        with self._lock:
            in_flight = list(self._in_flight)
        wait(in_flight, timeout=left())
        if self._closing is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self.loop.call_soon_threadsafe(self._closing.set)
        self._thread.join(left())
        return not self._thread.is_alive()

    def call(self, make: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
        """Run ``make()`` on the Matrix loop and wait for its result (from another thread)."""
        with self._lock:
            if self.loop.is_closed() or self._stopping:
                raise ConnectionError("the Matrix connection is stopped")  # the outbox keeps the message for later
            future: Future[T] = asyncio.run_coroutine_threadsafe(self._awaited(make), self.loop)
            self._in_flight.add(future)
        future.add_done_callback(self._forget)
        return future.result(timeout)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    @staticmethod
    async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
        return await make()

    async def _open(self) -> None:
        import aiohttp
        from mautrix.api import HTTPAPI
        from mautrix.client import Client
        from mautrix.client.encryption_manager import DecryptionDispatcher
        from mautrix.client.state_store.asyncpg import PgStateStore
        from mautrix.crypto import OlmMachine, PgCryptoStore
        from mautrix.util.async_db import Database

        s = self.settings
        url = s.store if "://" in s.store else f"sqlite:///{Path(s.store).resolve()}"
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        # One database for both stores: mautrix shares a transaction's connection between them.
        self.db = Database.create(url, upgrade_table=PgCryptoStore.upgrade_table)
        await self.db.start()
        await PgStateStore.upgrade_table.upgrade(self.db)
        crypto_store = PgCryptoStore(account_id=s.user_id, pickle_key=s.pickle_key, db=self.db)
        state_store = PgStateStore(self.db)
        await crypto_store.open()
        stored_device = await crypto_store.get_device_id()
        if stored_device and stored_device != s.device_id:  # a new login: the old device's keys are useless
            log.warning("matrix: device changed (%s → %s): starting a new key store", stored_device, s.device_id)
            await crypto_store.delete()
        traces = aiohttp.TraceConfig()
        traces.on_request_end.append(_note_rate_limit)
        session = aiohttp.ClientSession(headers={"User-Agent": HTTPAPI.default_ua}, trace_configs=[traces])
        client = Client(mxid=s.user_id, device_id=s.device_id, base_url=s.homeserver, token=s.access_token,
                        state_store=state_store, sync_store=crypto_store, client_session=session)
        crypto = OlmMachine(client, crypto_store, state_store)  # type: ignore[arg-type]
        client.crypto = crypto
        client.remove_dispatcher(DecryptionDispatcher)  # we decrypt ourselves, before storing the event
        from mautrix.types import EventType

        client.remove_event_handler(EventType.ALL, client._update_state)  # the room state, stored before
        client.add_event_handler(EventType.ALL, client._update_state, wait_sync=True)  # events are read: take_sync
        await crypto.load()
        await crypto.share_keys()
        self.client = client
        if s.recovery_key:
            try:
                await crypto.verify_with_recovery_key(s.recovery_key)
                log.info("matrix: device %s cross-signed with the recovery key", s.device_id)
            except Exception:  # noqa: BLE001 - encryption still works; current clients may hide the device
                log.exception("matrix: cross-signing with MATRIX_RECOVERY_KEY failed")

    async def _close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.api.session.close()
        if self.db is not None:
            with contextlib.suppress(Exception):
                await self.db.stop()

    # ------------------------------------------------------------------ sync

    async def _sync_forever(self) -> None:
        loop = asyncio.get_running_loop()
        token = await loop.run_in_executor(None, self.load_token)
        filter_id = None
        pause = 1.0
        while self._syncing:
            _ASKED.set(None)
            try:
                if filter_id is None:
                    from mautrix.types import Filter

                    filter_id = await self.client.create_filter(Filter.deserialize(_FILTER))  # type: ignore[arg-type]
                data = await self.client.sync(since=token, filter_id=filter_id, timeout=SYNC_TIMEOUT_MS)
                events = await self.take_sync(data, token)
                next_batch = str(data["next_batch"])
                await loop.run_in_executor(None, self.on_batch, events, next_batch, token is None)
                token = next_batch
                pause = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the homeserver may be down: Matrix waits, nothing else does
                wait = retry_after(exc, asked=_ASKED.get())
                if wait is None:
                    wait, pause = pause, min(pause * 2, MAX_PAUSE)
                    log.warning("matrix: sync failed (%s: %s); next try in %.0f s", type(exc).__name__, exc, wait)
                await self.sleep(wait)

    async def take_sync(self, data: dict[str, Any], since: str | None) -> list[dict[str, Any]]:
        """One ``/sync`` response through mautrix (keys, device lists, room state), then its room events.

        The room state must be stored before :meth:`_is_direct` reads it: mautrix runs its own state
        handler in the background (``wait_sync=False``), so a room whose members came in this very
        response (the bot just joined it, and the person's first message came with it) was not yet
        direct, and the message was taken for chatter in a group room — never answered. :meth:`_open`
        registers that handler again with ``wait_sync=True``, so the gather below waits for it."""
        await asyncio.gather(*self.client.handle_sync(data))
        return await self._events(data, since)

    async def _events(self, data: dict[str, Any], since: str | None) -> list[dict[str, Any]]:
        """The room events of one sync worth handling, decrypted where possible, oldest first."""
        rooms = data.get("rooms") or {}
        found: list[dict[str, Any]] = []
        for room_id, room in (rooms.get("invite") or {}).items():
            for event in (room.get("invite_state") or {}).get("events", []):
                if event.get("type") == "m.room.member" and event.get("state_key") == self.settings.user_id:
                    found.append({"kind": "invite", "room": room_id, "event": event})
        for room_id, room in (rooms.get("join") or {}).items():
            timeline = room.get("timeline") or {}
            events = list(timeline.get("events") or [])
            if timeline.get("limited") and since and timeline.get("prev_batch"):
                events = await self._backfill(room_id, timeline["prev_batch"], since) + events
            direct = await self._is_direct(room_id)
            for event in events:
                if event.get("sender") == self.settings.user_id:
                    continue
                kind = event.get("type")
                if kind not in ("m.room.message", "m.reaction", "m.room.encrypted"):
                    continue
                entry = {"kind": "event", "room": room_id, "event": event, "direct": direct, "encrypted": False}
                if kind == "m.room.encrypted":
                    entry["encrypted"] = True
                    decrypted = await self.decrypt(room_id, event, wait=2.0)
                    if decrypted is not None:
                        entry["event"] = decrypted
                found.append(entry)
        return found

    async def _backfill(self, room_id: str, prev_batch: str, since: str) -> list[dict[str, Any]]:
        """What a limited timeline left out since the stored token (the bot was down a long time)."""
        from mautrix.api import Method
        from mautrix.api import Path as MxPath

        events: list[dict[str, Any]] = []
        start = prev_batch
        for _ in range(20):
            page = await self.client.api.request(Method.GET, MxPath.v3.rooms[room_id].messages, query_params={
                "from": start, "to": since, "dir": "b", "limit": "100"})
            chunk = page.get("chunk") or []
            events = list(reversed(chunk)) + events
            if not chunk or not page.get("end"):
                break
            start = page["end"]
        return events

    async def _is_direct(self, room_id: str) -> bool:
        """A direct room: exactly two members, the bot and one person (Tchap's rule)."""
        try:
            members = await self.client.state_store.get_members(room_id)
        except Exception:  # noqa: BLE001
            return False
        return len(set(members)) == 2

    async def decrypt(self, room_id: str, raw: dict[str, Any], wait: float = 10.0) -> dict[str, Any] | None:
        """The decrypted event (as JSON), waiting up to ``wait`` s for its room key; None if it cannot be."""
        from mautrix.errors import DecryptionError
        from mautrix.types import EncryptedEvent

        event = EncryptedEvent.deserialize({**raw, "room_id": room_id})  # type: ignore[arg-type]
        for attempt in (0, 1):
            try:
                decrypted = await self.client.crypto.decrypt_megolm_event(event)
                out: dict[str, Any] = decrypted.serialize()
                out["room_id"] = room_id
                return out
            except DecryptionError:
                if attempt or not wait:
                    return None
                session_id = getattr(event.content, "session_id", None)
                if session_id is None:
                    return None
                await self.client.crypto.wait_for_session(room_id, session_id, timeout=wait)
        return None

    # ------------------------------------------------------------------ sending

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str | None = None) -> str:
        """Send one event (encrypted if the room is), waiting out 429s; its event id. The same ``txn_id``
        again (a message the outbox tries again) is the same event: the homeserver sends it once."""
        from mautrix.types import EventType

        kind = EventType.find(event_type, t_class=EventType.Class.MESSAGE)
        return str(await self.retrying(lambda: self.client.send_message_event(room_id, kind, content,
                                                                              txn_id=txn_id)))

    async def upload(self, room_id: str, filename: str, mime: str, data: bytes) -> dict[str, Any]:
        """Put a file in the media repository for ``room_id``; the content of its ``m.file`` event. In an
        encrypted room the file is encrypted first (mautrix's attachment encryption, AES-CTR) and the event
        carries ``file`` (the URL with the key, sent inside the encrypted event) instead of ``url``."""
        from mautrix.crypto.attachments import encrypt_attachment

        content: dict[str, Any] = {"msgtype": "m.file", "body": filename, "filename": filename,
                                   "info": {"mimetype": mime, "size": len(data)}}
        if await self.client.state_store.is_encrypted(room_id):
            ciphertext, file = encrypt_attachment(data)
            file.url = await self.retrying(lambda: self.client.upload_media(
                ciphertext, mime_type="application/octet-stream", filename=filename))
            content["file"] = file.serialize()
        else:
            content["url"] = str(await self.retrying(lambda: self.client.upload_media(
                data, mime_type=mime, filename=filename)))
        return content

    async def retrying(self, make: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(SEND_ATTEMPTS):
            _ASKED.set(None)
            try:
                return await make()
            except Exception as exc:
                wait = retry_after(exc, attempt, _ASKED.get())
                if wait is None or attempt == SEND_ATTEMPTS - 1:
                    raise
                log.info("matrix: 429 M_LIMIT_EXCEEDED, waiting %.2f s", wait)
                await self.sleep(wait)
        raise AssertionError("unreachable")
