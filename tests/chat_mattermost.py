"""The Mattermost chat driver: people talk to ``incubot serve`` the way Mattermost does.

Slash commands are form-encoded with the command token (header and field), clicks
are JSON carrying the context the bot signed (read from the fake server's recorded
posts), dialog submissions are JSON carrying the state the bot signed. What people
see is read back from the fake Mattermost server (posts, updates, dialogs) and from
the command answers, with the markdown shown as a Mattermost client shows it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from bot.config import Settings
from bot.platforms import mattermost
from bot.platforms.mattermost import MattermostClient
from bot.platforms.mattermost.adapter import ZWJ
from bot.runtime import Runtime
from bot.server import create_app
from tests.chat import Seen, SeenFile, composed
from tests.fake_mattermost import BOT_TOKEN, FakeMattermost

COMMAND_TOKEN = "mm-command-token-incubot"
OTHER_COMMAND_TOKEN = "mm-command-token-second-team"
SECRET = "test-incubot-secret-0123456789abcdef"
PUBLIC_URL = "http://testserver"
TEAM_ID = "teamincubateurxxxxxxxxxxxx"
TOWN_SQUARE = "townsquarexxxxxxxxxxxxxxxx"
MANAGERS_CHANNEL = "pilotage"  # the demo world's managers' channel on Mattermost (bot/demo.toml)


def mm_id(person_id: str) -> str:
    from tests.conftest import mattermost_id

    return mattermost_id(person_id)


def visible(markdown: str) -> str:
    """Markdown as a Mattermost client displays it: bold markers and escapes gone."""
    text = re.sub(r"(?<!\\)\*\*", "", markdown)
    text = re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)
    return text.replace(ZWJ, "")


def seen_message(text: str, props: Mapping[str, Any] | None) -> Seen:
    lines = [visible(text)]
    buttons: list[str] = []
    for attachment in (props or {}).get("attachments") or []:
        if attachment.get("text"):
            lines.append(visible(attachment["text"]))
        for f in attachment.get("fields") or []:
            lines.append(f"{f['title']} : {visible(f['value'])}")
        buttons += [a["name"] for a in attachment.get("actions") or []]
    return Seen("\n".join(lines), buttons)


def seen_post(post: Mapping[str, Any]) -> Seen:
    return seen_message(post.get("message", ""), post.get("props"))


def seen_command(body: Mapping[str, Any]) -> Seen:
    return seen_message(body.get("text", ""), {"attachments": body.get("attachments") or []})


class MattermostChat:
    platform = "mattermost"

    def __init__(self, runtime: Runtime, fake: FakeMattermost, http: TestClient,
                 sleeps: list[float] | None = None) -> None:
        self.runtime = runtime
        self.fake = fake
        self.http = http
        self.sleeps = sleeps if sleeps is not None else []
        self.forms: dict[str, dict[str, Any]] = {}  # who -> the dialogs/open request of their last form
        self.clicked_in: dict[str, str] = {}  # who -> the channel of the post whose button opened their form
        self._triggers = itertools.count(1)

    # ------------------------------------------------------------------ raw requests

    def _trigger(self, who: str) -> str:
        return f"trigger-{mm_id(who)}-{next(self._triggers)}"

    def command(self, who: str, text: str, *, token: str | None = COMMAND_TOKEN, header: bool = True,
                field: bool = True, trigger_id: str | None = None) -> Any:
        """POST the slash command as Mattermost does; returns the HTTP response."""
        user = mm_id(who)
        data = {
            "channel_id": TOWN_SQUARE, "channel_name": "town-square", "command": "/incubot",
            "response_url": self.fake.command_hook(user, TOWN_SQUARE), "team_domain": "incubateur",
            "team_id": TEAM_ID, "text": text, "trigger_id": trigger_id or self._trigger(who),
            "user_id": user, "user_name": who,
        }
        if field and token is not None:
            data["token"] = token
        headers = {"Authorization": f"Token {token}"} if header and token is not None else {}
        return self.http.post("/mattermost/command", data=data, headers=headers)

    def channel_posts(self, channel: str) -> list[dict[str, Any]]:
        """The bot's top-level posts in ``channel`` (``managers``: the managers' channel), oldest first."""
        if channel != "managers":
            raise ValueError(f"unknown channel {channel!r}")
        return self.fake.channel_posts(MANAGERS_CHANNEL)

    def find_button(self, who: str, ref: str, label: str, *,
                    channel: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The latest post in ``who``'s direct messages (or in ``channel``) with button ``label`` for ``ref``,
        and the button."""
        posts = self.fake.direct_posts(mm_id(who)) if channel is None else self.channel_posts(channel)
        for post in reversed(posts):
            for attachment in post["props"].get("attachments") or []:
                for action in attachment.get("actions") or []:
                    if action["name"] == label and action["integration"]["context"].get("ref") == ref:
                        return post, action
        raise AssertionError(f"{who} has no button {label!r} for {ref}")

    def post_click(self, who: str, post: Mapping[str, Any], context: Any, *, url: str | None = None,
                   trigger_id: str | None = None) -> Any:
        """POST a click as the Mattermost server does (the server sets ``user_id`` from the session)."""
        payload = {
            "user_id": mm_id(who), "user_name": who, "channel_id": post["channel_id"], "team_id": TEAM_ID,
            "post_id": post["id"], "trigger_id": trigger_id or self._trigger(who), "type": "", "context": context,
        }
        return self.http.post(urlsplit(url).path if url else "/mattermost/actions", json=payload)

    def submit_dialog(self, who: str, opened: Mapping[str, Any], submission: Mapping[str, Any], *,
                      cancelled: bool = False, state: str | None = None) -> Any:
        dialog = opened["dialog"]
        payload = {
            "type": "dialog_cancellation" if cancelled else "dialog_submission",
            "callback_id": dialog["callback_id"], "state": dialog["state"] if state is None else state,
            "user_id": mm_id(who), "channel_id": TOWN_SQUARE, "team_id": TEAM_ID,
            "submission": {} if cancelled else dict(submission), "cancelled": cancelled,
        }
        return self.http.post(urlsplit(opened["url"]).path, json=payload)

    def _opened(self, who: str, trigger_id: str) -> dict[str, Any] | None:
        opened = next((d for d in self.fake.dialogs if d["trigger_id"] == trigger_id), None)
        if opened is not None:
            self.forms[who] = opened
        return opened

    # ------------------------------------------------------------------ ChatDriver

    def say(self, who: str, text: str) -> Seen:
        if text.startswith("/incubot"):
            text = text[len("/incubot"):].strip()  # Mattermost sends what follows the trigger word
        trigger = self._trigger(who)
        response = self.command(who, text, trigger_id=trigger)
        assert response.status_code == 200, response.text
        self._opened(who, trigger)
        return seen_command(response.json())

    def click(self, who: str, ref: str, label: str, *, channel: str | None = None) -> Seen:
        post, action = self.find_button(who, ref, label, channel=channel)
        trigger = self._trigger(who)
        response = self.post_click(who, post, action["integration"]["context"],
                                   url=action["integration"]["url"], trigger_id=trigger)
        assert response.status_code == 200, response.text
        answer = response.json()
        self.fake.apply_action_answer(post["id"], answer)
        opened = self._opened(who, trigger)
        if opened is not None:
            self.clicked_in[who] = post["channel_id"]
            return Seen(f"[form: {opened['dialog']['title']}]")
        return Seen(visible(answer.get("ephemeral_text", "")))

    def fill(self, who: str, values: Mapping[str, str]) -> Seen:
        opened = self.forms[who]
        submission: dict[str, Any] = {e["name"]: e["default"] for e in opened["dialog"]["elements"]
                                      if e.get("default")}
        submission.update(values)
        ephemeral_before = len(self.fake.ephemeral)
        posts_before = set(self.fake.posts)
        response = self.submit_dialog(who, opened, submission)
        assert response.status_code == 200, response.text
        answer = response.json()
        if answer.get("errors"):
            return Seen("\n".join(answer["errors"].values()))
        self.forms.pop(who, None)
        user = mm_id(who)
        for shown in self.fake.ephemeral[ephemeral_before:]:
            if shown["user_id"] == user:
                return seen_command(shown["body"])
        # Else the answer is in the thread of the clicked post: in the direct channel, or where it was clicked.
        channels = {self.fake.direct_channel_of(user), self.clicked_in.pop(who, None)}
        for post_id, post in list(self.fake.posts.items()):
            if post_id not in posts_before and post["channel_id"] in channels and post.get("root_id"):
                return seen_post(post)
        return Seen("")

    def cancel(self, who: str) -> Any:
        """``who`` closes their open dialog with Cancel."""
        return self.submit_dialog(who, self.forms.pop(who), {}, cancelled=True)

    def _seen(self, post: Mapping[str, Any]) -> Seen:
        """A post, with its files downloaded."""
        shown = seen_post(post)
        shown.files = [SeenFile(f["name"], f["data"]) for f in self.fake.post_files(post)]
        return shown

    def inbox(self, who: str) -> list[Seen]:
        return [self._seen(p) for p in self.fake.direct_posts(mm_id(who))]

    def managers_channel(self) -> list[Seen]:
        return [self._seen(p) for p in self.channel_posts("managers")]

    def fail_next_upload(self) -> None:
        """The next ``POST /files`` gets a 500."""
        self.fake.fail_next("POST", "/api/v4/files", 500)

    def uploads_tried(self) -> int:
        return len(self.fake.calls_to("POST", "/api/v4/files"))


def mattermost_chat(engine: Engine, clock: Any, request: pytest.FixtureRequest, **options: Any) -> MattermostChat:
    """The bot served over HTTP with Mattermost on, against a fresh fake Mattermost server
    (``options``: for ``compose``, e.g. ``delivery="manual"``)."""
    fake = FakeMattermost().start()
    request.addfinalizer(fake.stop)
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False), mattermost_url=fake.url,
        mattermost_bot_token=BOT_TOKEN,
        mattermost_command_tokens=(OTHER_COMMAND_TOKEN, COMMAND_TOKEN), public_url=PUBLIC_URL, secret=SECRET,
    )
    # The client's retries record their pauses instead of sleeping.
    sleeps: list[float] = []
    client = MattermostClient(fake.url, BOT_TOKEN, sleep=sleeps.append)
    request.addfinalizer(client.close)
    incubot = composed(engine, clock, settings=settings,
                       plugs=[replace(mattermost.PLUG, build=partial(mattermost.build, client=client))], **options)
    http = TestClient(create_app(incubot), base_url=PUBLIC_URL)
    return MattermostChat(incubot.runtime, fake, http, sleeps)
