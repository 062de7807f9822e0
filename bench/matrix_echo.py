"""The Matrix latency floor: an echo bot written with mautrix, on the test harness's Synapse.

``python bench/matrix_echo.py [--messages N] [--encrypted]`` starts its own homeserver
(``tests/synapse.py``), registers a person and a bot, starts the echo bot as a subprocess,
opens a direct room, and measures, for each of N messages, the time from the person sending
it to the bot's reply arriving in that person's ``/sync``; prints p50/p95 and stops everything.
It is the baseline the Matrix platform's own figure is compared to (same homeserver, same
library, same measurement).

Without ``--encrypted`` the person is the harness's plain client (httpx, ``/sync`` long-poll).
With ``--encrypted`` the direct room is encrypted and the person is a mautrix client with
its own Olm machine: both sides keep their keys in mautrix's SQL crypto store on SQLite.

``python bench/matrix_echo.py bot URL USER_ID TOKEN DEVICE_ID STORE_DIR`` is the bot itself:
log in with an access token and its device id (no password login), sync, join invitations,
and answer each ``m.text`` of a direct room with the same text, as a reply. With ``--floor``
the bot process (``floor-bot``) is the harness's plain httpx client doing the same: the
homeserver's own round trip, without any Matrix library.

The homeserver's folder is in /dev/shm when there is one (see ``tests/synapse.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------------- mautrix side


async def mautrix_client(url: str, user_id: str, token: str, device_id: str, store_dir: Path) -> Any:
    """A mautrix client with an Olm machine; state and crypto stores on SQLite files in ``store_dir``."""
    from mautrix.client import Client
    from mautrix.client.state_store.asyncpg import PgStateStore
    from mautrix.crypto import OlmMachine, PgCryptoStore
    from mautrix.util.async_db import Database

    store_dir.mkdir(parents=True, exist_ok=True)
    # One database for both stores: mautrix keeps the connection of a transaction in a context
    # variable shared by every Database object, so a state query made inside a crypto-store
    # transaction runs on the crypto store's connection (two files: "no such table: mx_user_profile").
    db = Database.create(f"sqlite:///{store_dir / 'matrix.db'}", upgrade_table=PgCryptoStore.upgrade_table)
    await db.start()
    await PgStateStore.upgrade_table.upgrade(db)
    crypto_store = PgCryptoStore(account_id=user_id, pickle_key="incubot-bench", db=db)
    state_store = PgStateStore(db)
    await crypto_store.open()
    client = Client(mxid=user_id, device_id=device_id, base_url=url, token=token,
                    state_store=state_store, sync_store=crypto_store)
    crypto = OlmMachine(client, crypto_store, state_store)  # type: ignore[arg-type]  # duck-typed: it has find_shared_rooms
    client.crypto = crypto
    await crypto.load()
    await crypto.share_keys()
    client.bench_dbs = (db,)  # type: ignore[attr-defined]
    return client


async def close_client(client: Any) -> None:
    """Stop the sync loop and close the HTTP session and the databases (or the process hangs)."""
    client.stop()
    await client.api.session.close()
    for db in client.bench_dbs:
        await db.stop()


async def run_bot(url: str, user_id: str, token: str, device_id: str, store_dir: Path) -> None:
    from mautrix.types import (
        EventType,
        Membership,
        MemberStateEventContent,
        MessageEvent,
        MessageType,
        StateEvent,
        TextMessageEventContent,
    )

    client = await mautrix_client(url, user_id, token, device_id, store_dir)
    direct_rooms: set[str] = set()

    async def on_member(evt: StateEvent) -> None:
        member = evt.content
        if evt.state_key == user_id and isinstance(member, MemberStateEventContent) \
                and member.membership == Membership.INVITE:
            if member.is_direct:
                direct_rooms.add(evt.room_id)
            await client.join_room_by_id(evt.room_id)

    async def on_message(evt: MessageEvent) -> None:
        if evt.sender == user_id or evt.room_id not in direct_rooms or evt.content.msgtype != MessageType.TEXT:
            return
        answer = TextMessageEventContent(msgtype=MessageType.TEXT, body=evt.content.body)
        answer.set_reply(evt)
        await client.send_message(evt.room_id, answer)

    client.add_event_handler(EventType.ROOM_MEMBER, on_member)
    client.add_event_handler(EventType.ROOM_MESSAGE, on_message)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client.start(None)
    await stop.wait()
    await close_client(client)


def httpx_echo(bot: Any, stop: Any) -> None:
    """The same echo without any library: the harness's plain client syncing and replying (the floor)."""
    direct: set[str] = set()
    while not stop.is_set():
        for e in bot.sync(timeout_ms=1000):
            if e.section == "invite" and e.type == "m.room.member" and e.event.get("state_key") == bot.user_id:
                if e.content.get("is_direct"):
                    direct.add(e.room_id)
                bot.join(e.room_id)
            elif (e.section == "join" and e.room_id in direct and e.type == "m.room.message"
                  and e.sender != bot.user_id and e.content.get("msgtype") == "m.text"):
                bot.send_text(e.room_id, e.content["body"], reply_to=e.event_id)
        bot.pending.clear()


def run_floor_bot(url: str, user_id: str, token: str, device_id: str) -> None:
    """``httpx_echo`` in a process of its own (like the mautrix bot), until SIGTERM."""
    import threading

    from tests.synapse import MatrixPerson

    bot = MatrixPerson(url, user_id, token, device_id)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        httpx_echo(bot, stopping)
    finally:
        bot.close()


# ---------------------------------------------------------------------- measurement


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def plain_round_trips(person: Any, room: str, bot_id: str, count: int) -> list[float]:
    figures = []
    for n in range(count):
        text = f"budget {n} {uuid.uuid4().hex[:6]}"
        started = time.perf_counter()
        person.send_text(room, text)
        person.wait_for(lambda e, text=text: e.room_id == room and e.sender == bot_id
                        and e.type == "m.room.message" and e.content.get("body") == text,
                        deadline=30.0, what="the echo")
        figures.append(time.perf_counter() - started)
    return figures


async def encrypted_round_trips(url: str, person_ids: tuple[str, str, str], bot_id: str, count: int,
                                store_dir: Path) -> tuple[list[float], float]:
    """The person as a mautrix client with encryption: an encrypted DM, N decrypted echoes."""
    from mautrix.types import (
        EncryptionAlgorithm,
        EventType,
        Membership,
        MemberStateEventContent,
        MessageEvent,
        RoomCreatePreset,
        RoomEncryptionStateEventContent,
        StateEvent,
    )

    user_id, token, device_id = person_ids
    client = await mautrix_client(url, user_id, token, device_id, store_dir)
    echoes: asyncio.Queue[MessageEvent] = asyncio.Queue()
    joined = asyncio.Event()

    async def on_message(evt: MessageEvent) -> None:
        if evt.sender == bot_id:
            await echoes.put(evt)

    async def on_member(evt: StateEvent) -> None:
        if evt.state_key == bot_id and isinstance(evt.content, MemberStateEventContent) \
                and evt.content.membership == Membership.JOIN:
            joined.set()

    client.add_event_handler(EventType.ROOM_MESSAGE, on_message)
    client.add_event_handler(EventType.ROOM_MEMBER, on_member)
    client.start(None)
    try:
        started = time.perf_counter()
        room = await client.create_room(
            preset=RoomCreatePreset.TRUSTED_PRIVATE, is_direct=True, invitees=[bot_id],
            initial_state=[{"type": "m.room.encryption", "state_key": "",
                            "content": RoomEncryptionStateEventContent(
                                algorithm=EncryptionAlgorithm.MEGOLM_V1).serialize()}])
        await asyncio.wait_for(joined.wait(), 30)
        figures = []
        first = 0.0
        for n in range(count):
            text = f"budget {n} {uuid.uuid4().hex[:6]}"
            sent = time.perf_counter()
            await client.send_text(room, text)
            while True:
                evt = await asyncio.wait_for(echoes.get(), 30)
                if evt.type == EventType.ROOM_MESSAGE and evt.content.body == text:
                    break
            if n == 0:
                first = time.perf_counter() - started  # room, join, key exchange and the first echo
            figures.append(time.perf_counter() - sent)
            if not _was_encrypted(evt):
                raise RuntimeError("the echo came in clear in an encrypted room")
        return figures, first
    finally:
        await close_client(client)


def _was_encrypted(evt: Any) -> bool:
    try:
        return bool(evt["mautrix"]["was_encrypted"])
    except (KeyError, TypeError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--encrypted", action="store_true")
    parser.add_argument("--floor", action="store_true",
                        help="echo with the harness's plain httpx client instead of mautrix (the homeserver's floor)")
    args = parser.parse_args()
    if args.floor and args.encrypted:
        parser.error("--floor echoes in clear only")

    from tests.synapse import running_synapse

    with running_synapse() as synapse, contextlib.ExitStack() as stack:
        print(f"synapse: config {synapse.generate_seconds:.2f} s, start {synapse.start_seconds:.2f} s")
        bot_id, bot_token, bot_device = synapse.register("echo-bot", "echo-bot-password")
        store = synapse.folder / "stores"
        bot = subprocess.Popen([sys.executable, __file__, "floor-bot" if args.floor else "bot", synapse.base_url,
                                bot_id, bot_token, bot_device, str(store / "bot")], stdin=subprocess.DEVNULL)
        stack.callback(_stop, bot)

        if args.encrypted:
            person_ids = synapse.register("claire", "claire-password")
            figures, first = asyncio.run(encrypted_round_trips(
                synapse.base_url, person_ids, bot_id, args.warmup + args.messages, store / "person"))
            print(f"encrypted DM: first echo {first:.2f} s after creating the room (join, keys, decrypt)")
        else:
            person = synapse.person("claire")
            stack.callback(person.close)
            room = person.create_dm(bot_id)
            person.wait_for_join(room, bot_id, deadline=60.0)
            figures = plain_round_trips(person, room, bot_id, args.warmup + args.messages)
        figures = figures[args.warmup:]
        kind = ("encrypted" if args.encrypted else "plain") + (", httpx floor" if args.floor else ", mautrix")
        print(f"echo round trip ({kind}, {len(figures)} messages): p50 {percentile(figures, 0.5) * 1000:.1f} ms, "
              f"p95 {percentile(figures, 0.95) * 1000:.1f} ms, mean {statistics.mean(figures) * 1000:.1f} ms")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


if __name__ == "__main__":
    import logging

    logging.getLogger("mau").setLevel(logging.ERROR)  # not the warnings about devices that are not cross-signed
    if len(sys.argv) > 1 and sys.argv[1] == "bot":
        url, user_id, token, device_id, store_dir = sys.argv[2:7]
        asyncio.run(run_bot(url, user_id, token, device_id, Path(store_dir)))
    elif len(sys.argv) > 1 and sys.argv[1] == "floor-bot":
        run_floor_bot(*sys.argv[2:6])
    else:
        main()
