"""A fake Mattermost server on loopback: the REST API v4 calls incubot makes, recorded.

It listens on 127.0.0.1 (a real HTTP server in a thread), so the bot's client really
goes through httpx. It keeps posts, direct channels, uploaded files (``POST /files``,
multipart, shown once a post names them in ``file_ids``), opened dialogs and the
ephemeral answers sent to slash commands' ``response_url``; it checks the bot token,
the dialog limits Mattermost enforces, and can be told to fail the next calls
(429 with ``Retry-After``, 5xx) to test retries.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT_TOKEN = "fake-bot-token"
BOT_USER_ID = "incubotbotxxxxxxxxxxxxxxxx"


@dataclass
class Call:
    method: str
    path: str
    body: Any
    status: int


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeMattermost:
    def __init__(self, *, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.bot_id = BOT_USER_ID
        self.calls: list[Call] = []
        self.posts: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, frozenset[str]] = {}  # direct channel id -> members
        self.dialogs: list[dict[str, Any]] = []  # {"trigger_id", "url", "dialog"}
        self.hooks: dict[str, dict[str, str]] = {}  # response_url hook id -> {"user_id", "channel_id"}
        self.ephemeral: list[dict[str, Any]] = []  # {"user_id", "channel_id", "body"}
        self.faults: list[Fault] = []
        self.files: dict[str, dict[str, Any]] = {}  # file id -> {"name", "mime_type", "channel_id", "data"}
        self._pending: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeMattermost:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes on a kept-alive connection: with Nagle on, the body waits
            # for the client's delayed ACK (40 ms on Linux) — every call to the fake paid it.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = fake.handle(self.command, self.path, dict(self.headers), raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    # ------------------------------------------------------------------ test controls

    def fail_next(self, method: str, path_prefix: str, status: int, *, times: int = 1,
                  retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self._lock:
            self.faults += [Fault(method, path_prefix, status, headers) for _ in range(times)]

    def new_id(self, prefix: str) -> str:
        # Mattermost ids are 26 characters: pad between prefix and number, or post1 and post10 collide.
        number = str(next(self._ids))
        return prefix + number.rjust(26 - len(prefix), "0")

    def command_hook(self, user_id: str, channel_id: str) -> str:
        """A fresh ``response_url`` for a slash command typed by ``user_id``."""
        hook = self.new_id("hook")
        with self._lock:
            self.hooks[hook] = {"user_id": user_id, "channel_id": channel_id}
        return f"{self.url}/hooks/commands/{hook}"

    def direct_channel_of(self, user_id: str) -> str | None:
        wanted = frozenset({self.bot_id, user_id})
        return next((cid for cid, members in self.channels.items() if members == wanted), None)

    def channel_posts(self, channel_id: str | None, *, threads: bool = False) -> list[dict[str, Any]]:
        """Posts of a channel, oldest first; top-level only unless ``threads``."""
        with self._lock:
            return [p for p in self.posts.values()
                    if p["channel_id"] == channel_id and (threads or not p.get("root_id"))]

    def direct_posts(self, user_id: str) -> list[dict[str, Any]]:
        return self.channel_posts(self.direct_channel_of(user_id))

    def apply_action_answer(self, post_id: str, answer: Mapping[str, Any]) -> None:
        """What the Mattermost server does with a click's answer: ``update`` replaces the post."""
        update = answer.get("update")
        if update:
            with self._lock:
                post = self.posts[post_id]
                post["message"] = update.get("message", post["message"])
                post["props"] = update.get("props") or {}

    def post_files(self, post: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The files a post carries (name, MIME type, bytes), as a person downloads them."""
        with self._lock:
            return [self.files[file_id] for file_id in post.get("file_ids") or []]

    def calls_to(self, method: str, path_prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(path_prefix)]

    # ------------------------------------------------------------------ the API

    def handle(self, method: str, path: str, headers: Mapping[str, str], raw: bytes
               ) -> tuple[int, Any, dict[str, str]]:
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("content-type", "").startswith("multipart/form-data"):
            body: Any = _multipart(lowered["content-type"], raw)
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
        with self._lock:
            status, answer, extra = self._route(method, path, {k.lower(): v for k, v in headers.items()}, body)
            self.calls.append(Call(method, path, body, status))
        return status, answer, extra

    def _route(self, method: str, path: str, headers: Mapping[str, str], body: Any
               ) -> tuple[int, Any, dict[str, str]]:
        for fault in self.faults:
            if fault.method == method and path.startswith(fault.path_prefix):
                self.faults.remove(fault)
                return fault.status, {"id": "fake.fault", "message": "injected fault"}, fault.headers
        hook = re.fullmatch(r"/hooks/commands/(\w+)", path)
        if hook and method == "POST":
            caller = self.hooks.get(hook.group(1))
            if caller is None:
                return 404, {"message": "unknown hook"}, {}
            self.ephemeral.append({**caller, "body": body})
            return 200, {}, {}
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"id": "api.context.session_expired.app_error", "message": "Invalid or expired session"}, {}
        if method == "GET" and path == "/api/v4/users/me":
            return 200, {"id": self.bot_id, "username": "incubot", "is_bot": True}, {}
        if method == "POST" and path == "/api/v4/channels/direct":
            if not (isinstance(body, list) and len(body) == 2 and self.bot_id in body):
                return 400, {"message": "two user ids, the bot's among them"}, {}
            members = frozenset(body)
            others = [u for u in body if u != self.bot_id]
            channel = self.direct_channel_of(others[0] if others else self.bot_id)
            if channel is None:
                channel = self.new_id("dm")
                self.channels[channel] = members
            return 201, {"id": channel, "type": "D", "name": "__".join(sorted(members))}, {}
        if method == "POST" and path == "/api/v4/files":
            if not isinstance(body, dict) or not body.get("channel_id") or not body.get("files"):
                return 400, {"message": "multipart with channel_id and files required"}, {}
            infos = []
            for name, mime, data in body["files"]:
                file_id = self.new_id("file")
                self.files[file_id] = {"name": name, "mime_type": mime, "channel_id": body["channel_id"],
                                       "data": data}
                infos.append({"id": file_id, "name": name, "mime_type": mime, "size": len(data),
                              "channel_id": body["channel_id"]})
            return 201, {"file_infos": infos, "client_ids": []}, {}
        if method == "POST" and path == "/api/v4/posts":
            pending = body.get("pending_post_id", "")
            file_ids = body.get("file_ids") or []
            if any(f not in self.files or self.files[f]["channel_id"] != body.get("channel_id") for f in file_ids):
                return 400, {"message": "file_ids must be files uploaded to this channel"}, {}
            if pending and pending in self._pending:
                return 201, self.posts[self._pending[pending]], {}
            if not body.get("channel_id"):
                return 400, {"message": "channel_id required"}, {}
            post = {"id": self.new_id("post"), "channel_id": body["channel_id"], "user_id": self.bot_id,
                    "message": body.get("message", ""), "props": body.get("props") or {},
                    "root_id": body.get("root_id", ""), "file_ids": file_ids}
            self.posts[post["id"]] = post
            if pending:
                self._pending[pending] = post["id"]
            return 201, post, {}
        patch = re.fullmatch(r"/api/v4/posts/(\w+)/patch", path)
        if method == "PUT" and patch:
            patched = self.posts.get(patch.group(1))
            if patched is None:
                return 404, {"message": "post not found"}, {}
            if "message" in body:
                patched["message"] = body["message"]
            if "props" in body:
                patched["props"] = body["props"]
            return 200, patched, {}
        if method == "POST" and path == "/api/v4/actions/dialogs/open":
            problem = _dialog_problem(body)
            if problem:
                return 400, {"message": problem}, {}
            self.dialogs.append(body)
            return 200, {"status": "OK"}, {}
        return 404, {"message": f"no route {method} {path}"}, {}


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body: its text fields, and ``files`` as (filename, MIME type, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    fields: dict[str, Any] = {"files": []}
    for part in message.iter_parts():
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            fields["files"].append((part.get_filename(), part.get_content_type(), data))
        else:
            fields[str(part.get_param("name", header="content-disposition"))] = data.decode()
    return fields


def _dialog_problem(body: Any) -> str | None:
    """What the Mattermost server would refuse in a dialogs/open request, or None."""
    if not isinstance(body, dict) or not body.get("trigger_id") or not body.get("url"):
        return "trigger_id and url required"
    dialog = body.get("dialog") or {}
    if not dialog.get("title") or len(dialog["title"]) > 24:
        return "title required, 24 characters at most"
    for element in dialog.get("elements", []):
        if len(element.get("display_name", "")) > 24 or not element.get("name"):
            return f"bad element {element.get('name')!r}"
        if len(element.get("help_text", "")) > 150:
            return f"help_text too long in {element['name']!r}"
        if element.get("type") not in ("text", "textarea", "select", "bool", "radio"):
            return f"bad type in {element['name']!r}"
        limit = 3000 if element["type"] == "textarea" else 150
        if element.get("max_length", 0) > limit:
            return f"max_length too big in {element['name']!r}"
    return None
