"""The Slack chat driver: people talk to ``incubot serve`` the way Slack does.

Every request is what Slack sends, signed with the signing secret: form-encoded slash
commands, ``payload=`` interactivity (``block_actions``, ``view_submission``), JSON
event callbacks. It goes to the Starlette app of ``bot.server.create_app`` through
Starlette's TestClient; what people see is read back from the fake Web API
(``tests/fake_slack.py``), which the bot's real WebClient reaches over loopback HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import urlencode

from starlette.testclient import TestClient

from bot.compose import Incubot
from bot.config import Settings
from bot.platforms import slack
from bot.platforms.slack import SlackPlatform
from bot.server import create_app
from tests.chat import Seen, SeenFile, composed
from tests.fake_slack import BOT_TOKEN, BOT_USER, TEAM, FakeSlack, dm_channel

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
COMMAND_CHANNEL = "C0GENERAL"
MANAGERS_CHANNEL = "C0PILOTAGE"


def slack_id(person_id: str) -> str:
    from tests.conftest import slack_id as conftest_slack_id

    return conftest_slack_id(person_id)


def sign(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for ``body`` (computed here, not by the code under test)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slack_escape(text: str) -> str:
    """What Slack does to what a person typed before sending it to an app."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_BOLD = re.compile(r"\*([^*\n]+)\*")


def as_seen_text(mrkdwn: str) -> str:
    """mrkdwn as a person reads it: bold markers gone, entities shown as characters."""
    return _BOLD.sub(r"\1", mrkdwn).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def seen_blocks(blocks: list[dict[str, Any]], fallback: str = "") -> Seen:
    lines: list[str] = []
    buttons: list[str] = []
    for block in blocks:
        if block.get("type") in ("section", "header") and block.get("text"):
            lines.append(as_seen_text(block["text"]["text"]))
        for f in block.get("fields") or []:
            label, _, value = f["text"].partition("\n")
            lines.append(f"{as_seen_text(label)} : {as_seen_text(value)}")
        if block.get("type") == "actions":
            buttons += [e["text"]["text"] for e in block["elements"] if e.get("type") == "button"]
    if not blocks:
        lines.append(as_seen_text(fallback))
    return Seen("\n".join(lines), buttons)


def seen_message(message: Mapping[str, Any] | None) -> Seen:
    if message is None:
        return Seen("")
    return seen_blocks(list(message.get("blocks") or []), message.get("text", ""))


class SlackChat:
    """A :class:`tests.chat.ChatDriver` speaking Slack's wire formats."""

    platform = "slack"

    def __init__(self, incubot: Incubot, fake: FakeSlack, paused: list[float]) -> None:
        self.runtime = incubot.runtime
        self.fake = fake
        self.app = create_app(incubot)
        platform = incubot.platform("slack")
        assert isinstance(platform, SlackPlatform)
        self.wiring = platform
        self.paused = paused  # the Retry-After pauses, recorded instead of slept
        self.http = TestClient(self.app, raise_server_exceptions=True)
        self.views: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.wiring.join()
        self.http.close()

    # ------------------------------------------------------------------ raw Slack requests

    def post(self, body: bytes, content_type: str, *, headers: Mapping[str, str] | None = None,
             sign_with: str = SIGNING_SECRET, timestamp: int | None = None) -> Any:
        all_headers = {"Content-Type": content_type, **sign(body, secret=sign_with, timestamp=timestamp)}
        all_headers.update(headers or {})
        response = self.http.post("/slack/events", content=body, headers=all_headers)
        self.wiring.join()
        return response

    def command(self, user: str, text: str, *, trigger_id: str | None = None, response_url: str | None = None,
                channel: str = COMMAND_CHANNEL, **kwargs: Any) -> tuple[Any, str, str]:
        """``/incubot text`` typed by Slack user ``user``; returns (http response, trigger, response_url)."""
        n = next(self._ids)
        trigger_id = trigger_id or f"trigger-{n}"
        response_url = response_url or self.fake.new_response_url()
        form = {
            "token": "legacy-verification-token", "team_id": TEAM, "team_domain": "incubateur",
            "channel_id": channel, "channel_name": "general", "user_id": user, "user_name": user.lower(),
            "command": "/incubot", "text": slack_escape(text), "api_app_id": "A0INCUBOT",
            "response_url": response_url, "trigger_id": trigger_id,
        }
        body = urlencode(form).encode()
        return self.post(body, "application/x-www-form-urlencoded", **kwargs), trigger_id, response_url

    def interaction(self, payload: Mapping[str, Any], **kwargs: Any) -> Any:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded", **kwargs)

    def event(self, event: Mapping[str, Any], *, event_id: str | None = None, retry: int | None = None,
              **kwargs: Any) -> Any:
        body = json.dumps({
            "token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0INCUBOT",
            "event": dict(event), "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        }).encode()
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return self.post(body, "application/json", headers=headers, **kwargs)

    def dm_event(self, user: str, text: str, **kwargs: Any) -> Any:
        ts = f"1780000000.{next(self._ids):06d}"
        return self.event({"type": "message", "channel_type": "im", "channel": dm_channel(user), "user": user,
                           "text": slack_escape(text), "ts": ts, "event_ts": ts}, **kwargs)

    def block_action(self, user: str, message: Mapping[str, Any], button: Mapping[str, Any], *,
                     response_url: str | None = None, **kwargs: Any) -> tuple[Any, str, str]:
        n = next(self._ids)
        trigger_id, response_url = f"trigger-{n}", response_url or self.fake.new_response_url()
        payload = {
            "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0INCUBOT", "token": "legacy-verification-token", "trigger_id": trigger_id,
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"],
                          "is_ephemeral": False},
            "channel": {"id": message["channel"]}, "message": {"ts": message["ts"], "blocks": message["blocks"]},
            "response_url": response_url,
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b",
                         "text": button["text"], "value": button.get("value", ""), "action_ts": "1"}],
        }
        return self.interaction(payload, **kwargs), trigger_id, response_url

    def view_submission(self, user: str, view: Mapping[str, Any], values: Mapping[str, str], **kwargs: Any) -> Any:
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element, name = block["element"], block["block_id"]
            typed = values.get(name)
            if element["type"] == "static_select":
                option = next((o for o in element["options"] if o["value"] == typed), None)
                if option is None and typed is None:
                    option = element.get("initial_option")
                state[name] = {element["action_id"]: {"type": "static_select", "selected_option": option}}
            else:
                state[name] = {element["action_id"]: {"type": "plain_text_input", "value": typed}}
        payload = {
            "type": "view_submission", "team": {"id": TEAM}, "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0INCUBOT", "token": "legacy-verification-token", "trigger_id": "view-trigger",
            "view": {**view, "state": {"values": state}}, "response_urls": [],
        }
        return self.interaction(payload, **kwargs)

    # ------------------------------------------------------------------ ChatDriver

    def _opened(self, who: str, trigger_id: str) -> Seen | None:
        view = self.fake.opened_views.get(trigger_id)
        if view is None:
            return None
        self.views[who] = view
        return Seen(f"[form: {view['title']['text']}]")

    def say(self, who: str, text: str) -> Seen:
        user = slack_id(who)
        if text.startswith("/incubot"):
            response, trigger_id, response_url = self.command(user, text[len("/incubot"):].strip())
            opened = self._opened(who, trigger_id)
            if opened is not None:
                return opened
            if response.content:  # a command that only reads is answered in its ack
                return seen_message(response.json())
            answers = self.fake.responses_to(response_url)
            return seen_message(answers[-1]) if answers else Seen("")
        before = len(self.fake.dm(user))
        self.dm_event(user, text)
        new = self.fake.dm(user)[before:]
        return seen_message(new[-1]) if new else Seen("")

    def _channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """The bot's messages in ``channel`` (``managers``: the managers' channel), oldest first."""
        if channel != "managers":
            raise ValueError(f"unknown channel {channel!r}")
        return self.fake.channel(MANAGERS_CHANNEL)

    def click(self, who: str, ref: str, label: str, *, channel: str | None = None) -> Seen:
        user = slack_id(who)
        messages = self.fake.dm(user) if channel is None else self._channel_messages(channel)
        for message in reversed(messages):
            for block in message.get("blocks", []):
                for button in block.get("elements", []) if block.get("type") == "actions" else []:
                    if button.get("value") == ref and button["text"]["text"] == label:
                        _, trigger_id, response_url = self.block_action(user, message, button)
                        opened = self._opened(who, trigger_id)
                        if opened is not None:
                            return opened
                        answers = [r for r in self.fake.responses_to(response_url) if not r.get("replace_original")]
                        return seen_message(answers[-1]) if answers else Seen("")
        raise AssertionError(f"{who} has no button {label!r} for {ref}")

    def fill(self, who: str, values: Mapping[str, str]) -> Seen:
        user = slack_id(who)
        view = self.views[who]
        before, ephemeral_before = len(self.fake.dm(user)), len(self.fake.ephemeral)
        response = self.view_submission(user, view, values)
        if response.content:
            answer = response.json()
            if answer.get("response_action") == "errors":
                return Seen("\n".join(answer["errors"].values()))
        self.views.pop(who, None)
        new = [m for m in self.fake.ephemeral[ephemeral_before:] if m["user"] == user] or self.fake.dm(user)[before:]
        return seen_message(new[-1]) if new else Seen("")

    def _seen(self, message: Mapping[str, Any]) -> Seen:
        """A message of a channel, with the files shared with it downloaded."""
        shown = seen_message(message)
        shown.files = [SeenFile(f["name"], self.fake.file_content(f["id"])) for f in message.get("files") or []]
        return shown

    def inbox(self, who: str) -> list[Seen]:
        return [self._seen(m) for m in self.fake.dm(slack_id(who))]

    def managers_channel(self) -> list[Seen]:
        return [self._seen(m) for m in self._channel_messages("managers")]

    def fail_next_upload(self) -> None:
        """The next POST of a file's bytes to its upload URL gets a 500."""
        self.fake.fail_next("upload", 500, retry_after=None, error="internal_error")

    def uploads_tried(self) -> int:
        return len(self.fake.calls_to("upload"))


def slack_chat(engine: Any, clock: Any, request: Any, **options: Any) -> SlackChat:
    """The ``slack`` entry of ``CHAT_DRIVERS``: a fake Web API, incubot with Slack on, the driver
    (``options``: for ``compose``, e.g. ``delivery="manual"``)."""
    fake = FakeSlack().start()
    chat = SlackChat(*slack_incubot(engine, clock, fake, options=options))

    def close() -> None:
        chat.close()
        fake.stop()

    request.addfinalizer(close)
    return chat


def slack_incubot(engine: Any, clock: Any, fake: FakeSlack, options: Mapping[str, Any] | None = None,
                  **settings: Any) -> tuple[Incubot, FakeSlack, list[float]]:
    """incubot with Slack on against ``fake``: its retries record their pauses instead of sleeping."""
    paused: list[float] = []
    plug = replace(slack.PLUG, build=partial(slack.build, sleep=paused.append))
    incubot = composed(engine, clock, settings=Settings(
        database_url=engine.url.render_as_string(hide_password=False), slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url, **settings), plugs=[plug],
        **(options or {}))
    return incubot, fake, paused
