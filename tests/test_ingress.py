"""What never gets in: bodies over INCUBOT_MAX_BODY get 413 before anything reads them, and
malformed requests get 400 (a bad signature 401), never 500, on every endpoint — nothing changes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.signing import seal
from storage import inbox
from storage.db import unit_of_work
from storage.models import Quote
from tests.chat_mattermost import COMMAND_TOKEN, SECRET, MattermostChat
from tests.chat_slack import SlackChat, slack_id

LEA, JULIEN = slack_id("lea.dupont"), slack_id("julien.moreau")
FORM = "application/x-www-form-urlencoded"
DEEP = "[" * 100_000


def nothing_changed(runtime: Any) -> bool:
    with unit_of_work(runtime.services.sessions) as session:
        no_quote = session.exec(select(sa.func.count()).select_from(Quote)).one() == 0
        return bool(no_quote and inbox.items(session=session) == [])


def click(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": JULIEN}, "team": {"id": "T0INCUBOT"}, "trigger_id": "t",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D0X"}, "response_url": "http://x/r",
        "actions": [{"type": "button", "action_id": "quote.validate#0", "value": "D-2026-0001"}]}
    payload.update(changes)
    return payload


def form(data: dict[str, str]) -> bytes:
    return urlencode(data).encode()


SLACK_MALFORMED: dict[str, tuple[bytes, str]] = {
    "payload-not-json": (form({"payload": "{not json"}), FORM),
    "payload-a-list": (form({"payload": "[1, 2]"}), FORM),
    "payload-deeply-nested": (form({"payload": DEEP}), FORM),
    "event-deeply-nested": (DEEP.encode(), "application/json"),
    "event-not-json": (b'{"type": "event_callback", ', "application/json"),
    "invalid-utf8": (b"payload=\xff\xfe{}", FORM),
    "invalid-utf8-json": (b'{"type": "\xff"}', "application/json"),
    "user-null": (form({"payload": json.dumps(click(user=None))}), FORM),
    "user-id-missing": (form({"payload": json.dumps(click(user={}))}), FORM),
    "actions-empty": (form({"payload": json.dumps(click(actions=[]))}), FORM),
    "actions-null": (form({"payload": json.dumps(click(actions=None))}), FORM),
    "action-not-an-object": (form({"payload": json.dumps(click(actions=["x"]))}), FORM),
    "action-value-not-text": (form({"payload": json.dumps(click(actions=[{"action_id": "a", "value": 3}]))}), FORM),
    "container-a-string": (form({"payload": json.dumps(click(container="x"))}), FORM),
    "view-missing": (form({"payload": json.dumps({"type": "view_submission", "user": {"id": LEA}})}), FORM),
    "view-state-a-list": (form({"payload": json.dumps({"type": "view_submission", "user": {"id": LEA},
                                                       "view": {"callback_id": "quote.submit", "state": []}})}), FORM),
    "command-without-user": (form({"command": "/incubot", "text": "budget"}), FORM),
    "command-user-empty": (form({"command": "/incubot", "text": "budget", "user_id": ""}), FORM),
    "event-missing": (json.dumps({"type": "event_callback", "event_id": "Ev1"}).encode(), "application/json"),
    "event-user-an-object": (json.dumps({"type": "event_callback", "event_id": "Ev2", "event": {
        "type": "message", "channel_type": "im", "user": {"id": LEA}, "channel": "D1", "text": "budget"}}).encode(),
        "application/json"),
    "event-text-a-number": (json.dumps({"type": "event_callback", "event_id": "Ev3", "event": {
        "type": "app_mention", "user": LEA, "channel": "C1", "text": 12}}).encode(), "application/json"),
    "json-a-string": (b'"hello"', "application/json"),
    "unknown-shape": (json.dumps({"hello": "world"}).encode(), "application/json"),
}


@pytest.mark.parametrize("case", sorted(SLACK_MALFORMED))
def test_a_signed_malformed_slack_request_gets_400_and_changes_nothing(slack: SlackChat, case: str) -> None:
    """A correctly signed body Slack would never send gets 400, not 500; no row, no quote, no Web API call."""
    body, content_type = SLACK_MALFORMED[case]
    response = slack.post(body, content_type)
    assert response.status_code == 400, response.text
    assert nothing_changed(slack.runtime)
    assert [c for c in slack.fake.calls if c.method != "auth.test"] == []


@pytest.mark.parametrize("case", ["payload-not-json", "payload-deeply-nested", "invalid-utf8", "user-null"])
def test_an_unsigned_malformed_slack_request_is_refused_before_anything(slack: SlackChat, case: str) -> None:
    """Signed with another secret, even a malformed body is a 401 or a 400, never a 500; nothing changes."""
    body, content_type = SLACK_MALFORMED[case]
    response = slack.post(body, content_type, sign_with="not-the-secret")
    assert response.status_code in (400, 401)
    assert nothing_changed(slack.runtime)


@pytest.mark.parametrize("stamp", ["abc", "12.5", "1e9", "-5", "9" * 40, "0x10", " "])
def test_a_timestamp_that_is_not_an_integer_gets_400(slack: SlackChat, stamp: str) -> None:
    """X-Slack-Request-Timestamp not an integer: 400 (it used to be a 500 inside the signature check)."""
    body = form({"command": "/incubot", "text": "budget", "user_id": LEA})
    response = slack.http.post("/slack/events", content=body, headers={
        "Content-Type": FORM, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=00"})
    assert response.status_code in (400, 401) and response.status_code != 500
    if stamp.strip():
        assert response.status_code == 400
    assert nothing_changed(slack.runtime)


def test_a_missing_signature_is_still_401(slack: SlackChat) -> None:
    """Without signature headers a well-formed command is refused 401, as before."""
    body = form({"command": "/incubot", "text": "budget", "user_id": LEA})
    assert slack.http.post("/slack/events", content=body, headers={"Content-Type": FORM}).status_code == 401
    assert nothing_changed(slack.runtime)


# --------------------------------------------------------------------------- Mattermost


def mm_context(secret: str = SECRET) -> dict[str, str]:
    return seal(secret, "action", {"action": "quote.validate", "value": "D-2026-0001", "ref": "D-2026-0001",
                                   "ts": str(int(time.time()))})


def mm_state() -> str:
    from tests.chat_mattermost import mm_id

    return json.dumps(seal(SECRET, "dialog", {"callback": "quote.submit", "value": "", "user": mm_id("lea.dupont"),
                                              "ts": str(int(time.time())), "response_url": "", "channel": "",
                                              "post": "", "nonce": "n1"}))


def mm_cases() -> Iterator[tuple[str, str, bytes, str]]:
    from tests.chat_mattermost import mm_id

    lea = mm_id("lea.dupont")
    yield "command-invalid-utf8", "/mattermost/command", b"token=" + COMMAND_TOKEN.encode() + b"&user_id=%FF%FE", FORM
    yield "command-without-user", "/mattermost/command", form({"token": COMMAND_TOKEN, "text": "budget"}), FORM
    for path in ("/mattermost/actions", "/mattermost/dialogs"):
        name = path.rsplit("/", 1)[-1]
        yield f"{name}-not-json", path, b"{nope", "application/json"
        yield f"{name}-deeply-nested", path, DEEP.encode(), "application/json"
        yield f"{name}-invalid-utf8", path, b'{"user_id": "\xff"}', "application/json"
        yield f"{name}-a-list", path, b"[]", "application/json"
    yield ("actions-user-null", "/mattermost/actions",
           json.dumps({"user_id": None, "context": mm_context()}).encode(), "application/json")
    yield ("dialogs-submission-a-list", "/mattermost/dialogs",
           json.dumps({"user_id": lea, "state": mm_state(), "submission": ["x"]}).encode(), "application/json")


MM_MALFORMED = {name: (path, body, content_type) for name, path, body, content_type in mm_cases()}


@pytest.mark.parametrize("case", sorted(MM_MALFORMED))
def test_a_malformed_mattermost_request_gets_400_and_changes_nothing(mattermost: MattermostChat, case: str) -> None:
    """Mattermost's three endpoints: not UTF-8, not JSON, too deep, a missing field: 400, never 500; nothing changes."""
    path, body, content_type = MM_MALFORMED[case]
    headers = {"Content-Type": content_type}
    if path.endswith("command"):
        headers["Authorization"] = f"Token {COMMAND_TOKEN}"
    response = mattermost.http.post(path, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert nothing_changed(mattermost.runtime)


def test_a_forged_mattermost_context_is_still_401(mattermost: MattermostChat) -> None:
    """A click whose context was sealed with another secret is refused 401, as before."""
    response = mattermost.http.post("/mattermost/actions", json={"user_id": "u", "context": mm_context("other")})
    assert response.status_code == 401


# --------------------------------------------------------------------------- body limit


LIMIT = 1_048_576


@pytest.mark.parametrize("path", ["/slack/events", "/mattermost/command", "/mattermost/actions",
                                  "/mattermost/dialogs", "/healthz", "/nowhere"])
def test_a_body_over_the_limit_is_refused_413_on_every_endpoint(slack: SlackChat, path: str) -> None:
    """One byte over INCUBOT_MAX_BODY (1 MiB by default) with its Content-Length: 413, unsigned or not."""
    response = slack.http.post(path, content=b"x" * (LIMIT + 1), headers={"Content-Type": FORM})
    assert response.status_code == 413
    assert nothing_changed(slack.runtime)


def test_a_streamed_body_without_length_is_cut_at_the_limit(slack: SlackChat) -> None:
    """A chunked body (no Content-Length) is counted as it arrives and refused 413 once past the limit."""
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 4 MiB offered
            sent.append(1)
            yield b"x" * 65_536

    response = slack.http.post("/slack/events", content=chunks(), headers={"Content-Type": FORM})
    assert response.status_code == 413
    assert nothing_changed(slack.runtime)


def test_a_body_at_the_limit_goes_through_to_the_signature_check(slack: SlackChat) -> None:
    """Exactly INCUBOT_MAX_BODY bytes is not refused for its size: the signature check answers (401 unsigned)."""
    response = slack.http.post("/slack/events", content=b"x" * LIMIT, headers={"Content-Type": FORM})
    assert response.status_code == 401


@pytest.mark.parametrize("length", ["abc", "-1", "1, 2"])
def test_a_content_length_that_is_not_a_number_gets_400(slack: SlackChat, length: str) -> None:
    """A Content-Length header that is not a byte count is refused 400 before anything is read."""
    from starlette.testclient import TestClient

    with TestClient(slack.app) as client:
        response = client.post("/slack/events", content=b"{}", headers={"Content-Length": length,
                                                                       "Content-Type": "application/json"})
    assert response.status_code == 400
