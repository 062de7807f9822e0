"""A small client of the Mattermost REST API v4, on httpx.

Only what incubot needs: who the bot is (``users/me``), the direct channel with a
person, uploading a file to a channel, posting (with files), patching a post, opening a
dialog, and answering a slash command later through its ``response_url``. ``mattermostdriver`` is archived and
``mattermostautodriver`` follows server releases without semver, hence our own.

Rate limits and server errors are retried with backoff (``Retry-After`` is
honoured on 429), so a busy server delays a message instead of losing it; 401/403
are logged as what they are (a bad bot token, a missing permission) and raised.
The transport and the sleep are injectable for tests.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("incubot.mattermost")

RETRYABLE = frozenset({429, 500, 502, 503, 504})
HOOKS_PATH = "/hooks/commands/"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings (certifi's roots, ``SSL_CERT_FILE`` honoured), made once per process:
    each ``httpx.Client`` made without one loads the whole root bundle again, 30 ms of CPU."""
    return httpx.create_ssl_context()


class MattermostError(Exception):
    """The Mattermost server refused a call or stayed unavailable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class MattermostClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 5,
        backoff: float = 0.5,
        max_delay: float = 10.0,
        wait_budget: float = 15.0,
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=f"{self.url}/api/v4",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "incubot"},
            transport=transport,
            timeout=timeout,
            verify=tls_context(),
        )
        self._sleep = sleep
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._max_delay = max_delay
        # Total waiting allowed per call: a slash command must answer within 30 s, and what is not
        # sent in time stays in the outbox, which the courier retries later.
        self._wait_budget = wait_budget
        self._me: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ endpoints

    def bot_user_id(self) -> str:
        """The bot's own user id (``GET /users/me``), asked once."""
        with self._lock:
            if self._me is None:
                self._me = str(self._call("GET", "/users/me")["id"])
            return self._me

    def direct_channel(self, user_id: str) -> str:
        """The id of the direct channel between the bot and ``user_id`` (created if needed)."""
        channel = self._call("POST", "/channels/direct", json=[self.bot_user_id(), user_id])
        return str(channel["id"])

    def upload_file(self, channel_id: str, filename: str, data: bytes, mime: str) -> str:
        """``POST /files`` (multipart, with ``channel_id``): the file's id, for a post's ``file_ids``.
        An uploaded file that no post names shows nowhere."""
        answer = self._call("POST", "/files", data={"channel_id": channel_id},
                            files={"files": (filename, data, mime)})
        return str(answer["file_infos"][0]["id"])

    def create_post(self, channel_id: str, message: str, props: Mapping[str, Any] | None = None,
                    *, root_id: str | None = None, file_ids: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"channel_id": channel_id, "message": message, "props": dict(props or {})}
        if root_id:
            body["root_id"] = root_id
        if file_ids:
            body["file_ids"] = file_ids
        # The same pending id on every attempt lets the server drop a duplicate of a retried post.
        body["pending_post_id"] = f"{self.bot_user_id()}:{uuid.uuid4().hex}"
        return self._call("POST", "/posts", json=body)

    def patch_post(self, post_id: str, message: str, props: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("PUT", f"/posts/{post_id}/patch", json={"message": message, "props": dict(props)})

    def open_dialog(self, trigger_id: str, url: str, dialog: Mapping[str, Any]) -> None:
        self._call("POST", "/actions/dialogs/open", json={"trigger_id": trigger_id, "url": url, "dialog": dialog})

    def respond(self, response_url: str, payload: Mapping[str, Any]) -> None:
        """Answer a slash command later (ephemeral) through its ``response_url``.

        The hook is called on ``MATTERMOST_URL`` whatever host the URL names: the server's
        public SiteURL may not be reachable from here, and nothing goes to another host.
        """
        path = urlsplit(response_url).path
        marker = path.find(HOOKS_PATH)
        if marker < 0:
            raise MattermostError(f"not a slash command response_url: {response_url[:80]!r}")
        self._call("POST", self.url + path[marker:], json=dict(payload))

    # ------------------------------------------------------------------ plumbing

    def _call(self, method: str, path: str, *, json: Any = None, data: Mapping[str, str] | None = None,
              files: Mapping[str, tuple[str, bytes, str]] | None = None) -> Any:
        what = f"{method} {path}"
        waited = 0.0
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._http.request(method, path, json=json, data=data, files=files)
            except httpx.TransportError as exc:
                delay = self._delay(attempt, None)
                if attempt == self._attempts or waited + delay > self._wait_budget:
                    raise MattermostError(f"{what}: Mattermost unreachable ({type(exc).__name__})") from exc
                log.warning("%s: %s; retry %d/%d in %.1fs", what, type(exc).__name__, attempt,
                            self._attempts - 1, delay)
                self._sleep(delay)
                waited += delay
                continue
            status = response.status_code
            if status < 400:
                return response.json() if response.content else {}
            detail = _server_message(response)
            if status == 401:
                log.error("%s: 401 — Mattermost refuses the bot token (MATTERMOST_BOT_TOKEN wrong, revoked, "
                          "or the bot account is disabled): %s", what, detail)
                raise MattermostError(f"{what}: 401 {detail}", status)
            if status == 403:
                log.error("%s: 403 — the bot account lacks a permission for this call (is it a member of the "
                          "team / channel?): %s", what, detail)
                raise MattermostError(f"{what}: 403 {detail}", status)
            delay = self._delay(attempt, response) if status in RETRYABLE else 0.0
            if status not in RETRYABLE or attempt == self._attempts or waited + delay > self._wait_budget:
                log.error("%s: %d %s", what, status, detail)
                raise MattermostError(f"{what}: {status} {detail}", status)
            log.warning("%s: %d; retry %d/%d in %.1fs", what, status, attempt, self._attempts - 1, delay)
            self._sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            if retry_after is not None:
                try:
                    return min(max(float(retry_after), 0.0), self._max_delay)
                except ValueError:
                    pass
        return float(min(self._backoff * 2 ** (attempt - 1), self._max_delay))


def _server_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict):
        return str(data.get("message") or data.get("id") or data)[:200]
    return str(data)[:200]

