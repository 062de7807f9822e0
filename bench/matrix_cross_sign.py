"""Spike: cross-signing the bot's device with mautrix and a recovery key, on the harness's Synapse.

``python bench/matrix_cross_sign.py`` starts its own homeserver, registers the bot, and:
1. on a first device, generates the account's cross-signing keys and a recovery key
   (``generate_recovery_key``: keys kept in secret storage, that device signed);
2. logs in again (a new device, as after a reinstall), and signs that device with the
   recovery key alone (``verify_with_recovery_key``) — what ``MATRIX_RECOVERY_KEY`` will do;
3. checks from another account's ``/keys/query`` that both devices carry the signature of
   the bot's self-signing key. Prints the timings; stops everything.

On Synapse the first upload of cross-signing keys needs no interactive authentication
(MSC3967); an account whose keys already exist (made in a Tchap client) only needs step 2.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from matrix_echo import close_client, mautrix_client  # noqa: E402

from tests.synapse import Synapse, running_synapse  # noqa: E402


async def spike(synapse: Synapse) -> bool:
    import httpx

    bot_id, first_token, first_device = synapse.register("incubot", "incubot-password")
    started = time.perf_counter()
    first = await mautrix_client(synapse.base_url, bot_id, first_token, first_device, synapse.folder / "first")
    recovery_key = await first.crypto.generate_recovery_key()
    print(f"cross-signing keys and recovery key generated in {time.perf_counter() - started:.2f} s")
    await close_client(first)

    login = httpx.post(f"{synapse.base_url}/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "incubot"},
        "password": "incubot-password", "initial_device_display_name": "incubot",
    }).json()
    started = time.perf_counter()
    second = await mautrix_client(synapse.base_url, bot_id, login["access_token"], login["device_id"],
                                  synapse.folder / "second")
    await second.crypto.verify_with_recovery_key(recovery_key)
    print(f"new device {login['device_id']} signed with the recovery key in {time.perf_counter() - started:.2f} s")
    await close_client(second)

    person = synapse.person("claire")
    try:
        keys = person.http.post("/_matrix/client/v3/keys/query", json={"device_keys": {bot_id: []}}).json()
    finally:
        person.close()
    self_signing = next(iter(keys["self_signing_keys"][bot_id]["keys"]))
    signed = {device: self_signing in keys["device_keys"][bot_id][device]["signatures"][bot_id]
              for device in (first_device, login["device_id"])}
    print(f"seen by another account: master key {bot_id in keys['master_keys']}, devices signed {signed}")
    return all(signed.values())


def main() -> None:
    with running_synapse() as synapse:
        ok = asyncio.run(spike(synapse))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
