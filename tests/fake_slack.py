"""A fake Slack Web API on loopback: the bot's real WebClient sends real HTTP to it.

It keeps what a workspace would show: messages per channel (updated in place by
``chat.update``), ephemeral messages, what came back through ``response_url``,
opened modals and published App Home views, and files shared with a message (upload v2:
``files.getUploadURLExternal`` gives an upload URL on this fake, the bytes are POSTed
there, ``files.completeUploadExternal`` shares them in a channel). It checks the bot token,
the Block Kit limits that make Slack refuse a message, and can answer the next calls of a
method with an error (``fail_next``: 429 with ``Retry-After``, 500…; method ``"upload"``: the
POST of a file's bytes).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

BOT_TOKEN = "xoxb-test-token"
BOT_USER = "UINCUBOT"
BOT_ID = "BINCUBOT"
TEAM = "T0INCUBOT"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int = 200


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=lambda: {"ok": False, "error": "ratelimited"})


def dm_channel(user: str) -> str:
    """The direct-message channel between the bot and ``user`` (stable, like Slack's)."""
    return "D" + user[1:] if user.startswith(("U", "W")) else user


class FakeSlack:
    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ephemeral: list[dict[str, Any]] = []
        self.responses: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.opened_views: dict[str, dict[str, Any]] = {}  # trigger_id -> view
        self.home: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> {"filename", "length", "data" (None: not POSTed)}
        self.failures: dict[str, list[Failure]] = defaultdict(list)
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._responses = itertools.count(1)
        self._files = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       name="fake-slack", daemon=True)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ test helpers

    def fail_next(self, method: str, status: int = 429, *, times: int = 1, retry_after: int | None = 1,
                  error: str = "ratelimited") -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self.lock:
            self.failures[method] += [Failure(status, headers, {"ok": False, "error": error})] * times

    def new_response_url(self) -> str:
        return f"{self.url}/response/{next(self._responses)}"

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def dm(self, user: str) -> list[dict[str, Any]]:
        return self.channel(dm_channel(user))

    def channel(self, channel: str) -> list[dict[str, Any]]:
        """The messages of ``channel``, oldest first, as they are now."""
        with self.lock:
            return list(self.messages.get(channel, []))

    def responses_to(self, response_url: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.responses.get(response_url.rsplit("/", 1)[-1], []))

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a shared file, as a person downloads them."""
        with self.lock:
            return bytes(self.uploads[file_id]["data"])

    def find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self.lock:
            return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    # ------------------------------------------------------------------ the API

    def handle(self, method: str, args: dict[str, Any], authorization: str) -> tuple[int, dict[str, str], dict]:
        with self.lock:
            if self.failures.get(method):
                failure = self.failures[method].pop(0)
                self.calls.append(Call(method, args, failure.status))
                return failure.status, failure.headers, failure.body
            self.calls.append(Call(method, args))
            if authorization != f"Bearer {self.token}":
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            handler = getattr(self, "api_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {}, {"ok": False, "error": "unknown_method"}
            problem = check_blocks(args.get("blocks"))
            if problem:
                return 200, {}, {"ok": False, "error": "invalid_blocks", "errors": [problem]}
            return 200, {}, handler(args)

    def _next_ts(self) -> str:
        return f"1790000000.{next(self._ts):06d}"

    def api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://incubot-test.slack.com/", "team": "Incubateur", "user": "incubot",
                "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID}

    def api_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users or "," in users:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "channel": {"id": dm_channel(users)}}

    def api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = dm_channel(str(args.get("channel", "")))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        message = {"ts": self._next_ts(), "channel": channel, "text": args.get("text", ""),
                   "blocks": args.get("blocks") or [], "thread_ts": args.get("thread_ts"), "edits": 0}
        self.messages[channel].append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": dict(message)}

    def api_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._files):08d}"
        self.uploads[file_id] = {"filename": filename, "length": int(length), "data": None}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def upload(self, file_id: str, data: bytes) -> tuple[int, bytes]:
        """The POST of a file's bytes to its upload URL."""
        with self.lock:
            if self.failures.get("upload"):
                failure = self.failures["upload"].pop(0)
                self.calls.append(Call("upload", {"file_id": file_id}, failure.status))
                return failure.status, b"upload failed"
            self.calls.append(Call("upload", {"file_id": file_id}))
            pending = self.uploads.get(file_id)
            if pending is None or pending["length"] != len(data):
                return 400, b"bad upload"
            pending["data"] = data
            return 200, b"OK - " + str(len(data)).encode()

    def api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(args.get("files") or "[]")
        if not files or any(self.uploads.get(f.get("id"), {}).get("data") is None for f in files):
            return {"ok": False, "error": "file_not_found"}  # never uploaded
        channel = str(args.get("channel_id") or "")
        shared = [{"id": f["id"], "name": self.uploads[f["id"]]["filename"], "title": f.get("title") or "",
                   "size": self.uploads[f["id"]]["length"]} for f in files]
        if not channel:
            return {"ok": True, "files": shared}  # a private file, in no message
        message = {"ts": self._next_ts(), "channel": channel, "text": args.get("initial_comment") or "",
                   "blocks": [] if args.get("initial_comment") else args.get("blocks") or [],
                   "thread_ts": args.get("thread_ts"), "edits": 0, "files": shared}
        self.messages[channel].append(message)
        where = "private" if channel.startswith(("D", "G")) else "public"
        return {"ok": True, "files": [{**f, "shares": {where: {channel: [{"ts": message["ts"]}]}}} for f in shared]}

    def api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.find_message(str(args.get("channel")), str(args.get("ts")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.update(text=args.get("text", ""), blocks=args.get("blocks") or [], edits=message["edits"] + 1)
        return {"ok": True, "channel": message["channel"], "ts": message["ts"]}

    def api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self.ephemeral.append({"channel": args.get("channel"), "user": args.get("user"),
                               "text": args.get("text", ""), "blocks": args.get("blocks") or []})
        return {"ok": True, "message_ts": self._next_ts()}

    def api_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id", ""))
        view = args.get("view") or {}
        if not trigger:
            return {"ok": False, "error": "invalid_trigger_id"}
        problem = check_modal(view)
        if problem:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [problem]}}
        opened = {**view, "id": f"V{next(self._views):08d}"}
        self.opened_views[trigger] = opened
        return {"ok": True, "view": opened}

    def api_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view") or {}
        problem = check_blocks(view.get("blocks"), limit=100)
        if problem:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [problem]}}
        self.home[str(args.get("user_id"))] = view
        return {"ok": True, "view": view}

    def response(self, response_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.responses[response_id].append(body)

    # ------------------------------------------------------------------ HTTP plumbing

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes on a kept-alive connection: with Nagle on, the body waits
            # for the client's delayed ACK (40 ms on Linux) — every call to the fake paid it.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - counters, for bench/ack_latency.py
                with fake.lock:
                    counts = {"calls": len(fake.calls), "responses": sum(len(r) for r in fake.responses.values())}
                self._send(200, {}, json.dumps(counts).encode(), "application/json")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                path = urlparse(self.path).path
                if path.startswith("/upload/"):  # a file's bytes, as they are (no form, no token: the URL is it)
                    status, answer = fake.upload(path.rsplit("/", 1)[-1], raw)
                    self._send(status, {}, answer, "text/plain")
                    return
                args = _parse(raw, self.headers.get("Content-Type", ""), urlparse(self.path).query)
                if path.startswith("/response/"):
                    fake.response(path.rsplit("/", 1)[-1], args)
                    self._send(200, {}, b"ok", "text/plain")
                    return
                if not path.startswith("/api/"):
                    self._send(404, {}, b"not found", "text/plain")
                    return
                status, headers, body = fake.handle(path[len("/api/"):], args,
                                                    self.headers.get("Authorization", ""))
                self._send(status, headers, json.dumps(body).encode(), "application/json; charset=utf-8")

            def _send(self, status: int, headers: dict[str, str], body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _parse(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    args: dict[str, Any] = dict(parse_qsl(query))
    if "json" in content_type:
        args.update(json.loads(raw or b"{}"))
    else:
        args.update(dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)))
    for key in ("blocks", "view", "attachments"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def check_blocks(blocks: Any, *, limit: int = 50) -> str | None:
    """The Block Kit limits whose violation makes Slack refuse the whole message."""
    if not blocks:
        return None
    if len(blocks) > limit:
        return f"more than {limit} blocks"
    for block in blocks:
        if block.get("type") == "section":
            text = (block.get("text") or {}).get("text")
            if text is not None and not 0 < len(text) <= 3000:
                return "section text must be 1-3000 characters"
            fields = block.get("fields") or []
            if len(fields) > 10 or any(len(f["text"]) > 2000 for f in fields):
                return "too many or too long fields"
        if block.get("type") == "actions":
            ids = [e["action_id"] for e in block["elements"]]
            if len(ids) != len(set(ids)):
                return "action_id must be unique in a block"
            if any(len(e["text"]["text"]) > 75 for e in block["elements"]):
                return "button text longer than 75"
    return None


def check_modal(view: dict[str, Any]) -> str | None:
    if view.get("type") != "modal":
        return "view type must be modal"
    for key in ("title", "submit", "close"):
        if key in view and len(view[key]["text"]) > 24:
            return f"{key} longer than 24 characters"
    if len(view.get("private_metadata", "")) > 3000:
        return "private_metadata longer than 3000"
    return check_blocks(view.get("blocks"), limit=100)


def main() -> None:
    """``python -m tests.fake_slack``: serve the fake on a free loopback port; prints its base URL."""
    fake = FakeSlack()
    print(fake.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        fake.server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
