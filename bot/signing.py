"""HMAC seals for what the bot hands to a chat client and gets back unchanged.

Mattermost does not sign button clicks or dialog submissions: the ``context`` of a
button and the ``state`` of a dialog travel through the user's client and come back
as the client sent them. So the bot seals them with ``INCUBOT_SECRET`` and refuses
anything whose seal does not verify. A seal covers every field and a *purpose*
("action", "dialog"), so a button's context cannot be replayed as a dialog state,
and a seal for one reference or action does not verify for another.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

SIG = "sig"


def _digest(secret: str, purpose: str, fields: Mapping[str, str]) -> str:
    canonical = json.dumps({k: fields[k] for k in sorted(fields)}, ensure_ascii=False, separators=(",", ":"))
    message = f"incubot/{purpose}\n{canonical}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def seal(secret: str, purpose: str, fields: Mapping[str, str]) -> dict[str, str]:
    """``fields`` plus a ``sig`` binding them all to ``purpose`` (values are strings: they cross JSON as is)."""
    if not secret:
        raise ValueError("a seal needs a secret")
    clean = {str(k): str(v) for k, v in fields.items() if k != SIG}
    return {**clean, SIG: _digest(secret, purpose, clean)}


def unseal(secret: str, purpose: str, data: object) -> dict[str, str] | None:
    """The sealed fields if ``data`` carries a valid seal for ``purpose``, else None (constant-time compare)."""
    if not secret or not isinstance(data, Mapping):
        return None
    sig = data.get(SIG)
    if not isinstance(sig, str):
        return None
    fields = {k: v for k, v in data.items() if k != SIG}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
        return None
    if not hmac.compare_digest(sig.encode(), _digest(secret, purpose, fields).encode()):
        return None
    return fields


def token_matches(given: str | None, accepted: tuple[str, ...] | list[str]) -> bool:
    """Whether ``given`` is one of ``accepted``, each compared in constant time."""
    if not given:
        return False
    found = False
    for token in accepted:
        # Every token is compared (no early exit): timing says nothing about which one matched.
        found |= hmac.compare_digest(given.encode(), token.encode())
    return found
