"""The body limit of ``incubot serve``, before anything reads or parses a request.

An ASGI middleware wrapping every route: a ``Content-Length`` over the limit gets 413 at
once, without reading a byte of the body; a body without one (chunked) is counted as it
streams and the request is answered 413 as soon as it passes the limit — what was read is
at most the limit plus one chunk, so memory stays flat whatever a client sends, signed or
not. A ``Content-Length`` that is not a number gets 400.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("incubot.server")


class _TooLarge(Exception):
    """Raised from ``receive`` past the limit; never a ValueError (parsers catch those)."""


async def _answer(send: Send, status: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(text)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": text})


class BodyLimit:
    """``app`` with every request body bounded to ``max_body`` bytes (413 beyond, before any parsing)."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope.get("headers", ()) if k.lower() == b"content-length"]
        if declared:
            text = declared[0].strip()
            if not text.isdigit() or len(declared) > 1 and len(set(declared)) > 1:
                await _answer(send, 400, b"invalid Content-Length\n")
                return
            if int(text) > self.max_body:
                log.warning("request body of %s bytes refused on %s (limit %d)", text.decode(), scope.get("path"),
                            self.max_body)
                await _answer(send, 413, b"request body too large\n")
                return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _TooLarge:
            log.warning("streamed request body over %d bytes refused on %s", self.max_body, scope.get("path"))
            if not started:
                await _answer(send, 413, b"request body too large\n")
