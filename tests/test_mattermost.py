"""Mattermost: its real request formats against ``incubot serve``, a fake Mattermost server behind.

The dialogues of ``test_dialogues.py`` already run on Mattermost; these tests cover
what is Mattermost's own: the command token, the signed button contexts and
dialog states, dialogs, escaping, and the REST client's retries.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from bot.platforms.mattermost import MattermostClient, MattermostError, Renderer
from bot.platforms.mattermost.adapter import ZWJ, escape, markdown
from bot.signing import seal, token_matches, unseal
from handlers.markup import user
from handlers.types import Button, Form, Input, Reply
from storage import outbox
from storage.db import unit_of_work
from tests.chat_mattermost import (
    COMMAND_TOKEN,
    OTHER_COMMAND_TOKEN,
    SECRET,
    MattermostChat,
    mattermost_chat,
    mm_id,
    seen_post,
    visible,
)
from tests.conftest import NOW
from tests.fake_mattermost import BOT_TOKEN, FakeMattermost


@pytest.fixture
def mm(request: pytest.FixtureRequest, engine, world, clock) -> MattermostChat:  # type: ignore[no-untyped-def]
    """The bot served over HTTP with Mattermost on, in the demo world."""
    return mattermost_chat(engine, clock, request)


def committed(mm: MattermostChat) -> str:
    return mm.say("camille.martin", "budget").text


def quote_posted(mm: MattermostChat) -> tuple[dict, dict]:
    """Léa submits a quote for Dédale; the request Julien receives and its Valider button."""
    mm.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    return mm.find_button("julien.moreau", "D-2026-0001", "Valider")


# --------------------------------------------------------------------------- slash command


def test_wrong_command_token_is_refused_and_nothing_happens(mm: MattermostChat) -> None:
    """A slash command with a wrong token gets 401 and records no quote."""
    response = mm.command("lea.dupont", "devis dedale; 3000; Arawa; Audit", token="not-the-token")
    assert response.status_code == 401
    assert mm.fake.calls_to("POST", "/api/v4/posts") == []
    assert "D-2026-0001" not in mm.say("camille.martin", "en-attente").text


def test_command_without_any_token_is_refused(mm: MattermostChat) -> None:
    """No Authorization header and no token field: 401."""
    response = mm.command("lea.dupont", "budget", token=None)
    assert response.status_code == 401


def test_command_token_is_accepted_from_the_header_or_the_field_and_several_tokens_work(mm: MattermostChat) -> None:
    """The token may come as `Authorization: Token …` or as the `token` field; every configured token works."""
    assert mm.command("lea.dupont", "budget", header=True, field=False).status_code == 200
    assert mm.command("lea.dupont", "budget", header=False, field=True).status_code == 200
    assert mm.command("lea.dupont", "budget", token=OTHER_COMMAND_TOKEN).status_code == 200


def test_command_reply_is_ephemeral_markdown(mm: MattermostChat) -> None:
    """`/incubot budget` answers in the command response, ephemeral, with bold as **…**."""
    body = mm.command("lea.dupont", "budget").json()
    assert body["response_type"] == "ephemeral"
    assert "**" in body["text"] and "AE" in body["text"]


def test_quote_through_the_dialog(mm: MattermostChat) -> None:
    """`/incubot devis` opens a dialog; submitting it records the quote and Julien gets Valider/Refuser."""
    opened = mm.say("lea.dupont", "/incubot devis")
    assert "Remplissez le formulaire" in opened.text
    dialog = mm.forms["lea.dupont"]
    assert dialog["url"] == "http://testserver/mattermost/dialogs"
    elements = {e["name"]: e for e in dialog["dialog"]["elements"]}
    assert elements["startup"]["type"] == "select" and "dedale" in [o["value"] for o in elements["startup"]["options"]]
    assert elements["object"]["type"] == "textarea" and elements["tax"]["optional"] is True
    assert len(dialog["dialog"]["title"]) <= 24 and dialog["dialog"]["notify_on_cancel"] is True

    done = mm.fill("lea.dupont", {"startup": "dedale", "amount": "12 500", "tax": "HT",
                                  "supplier": "Scopyleft", "object": "Sprint 7"})
    assert "D-2026-0001" in done and "15 000,00 € TTC" in done.text
    request = mm.inbox("julien.moreau")[-1]
    assert request.buttons == ["Valider", "Refuser"] and "Scopyleft" in request


def test_dialog_field_errors_keep_the_dialog_open(mm: MattermostChat) -> None:
    """A wrong amount comes back as {"errors": {"amount": …}} and nothing is recorded."""
    mm.say("lea.dupont", "devis")
    opened = mm.forms["lea.dupont"]
    response = mm.submit_dialog("lea.dupont", opened, {"startup": "dedale", "amount": "beaucoup",
                                                      "supplier": "Arawa", "object": "Audit"})
    assert response.status_code == 200
    errors = response.json()["errors"]
    assert set(errors) == {"amount"}
    assert mm.inbox("julien.moreau") == []


def test_service_done_through_the_dialog(mm: MattermostChat) -> None:
    """`/incubot sf` opens a dialog listing the orders; submitting sends Certifier/Refuser to Julien."""
    mm.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    mm.click("julien.moreau", "D-2026-0001", "Valider")
    mm.say("lea.dupont", "sf")
    elements = {e["name"]: e for e in mm.forms["lea.dupont"]["dialog"]["elements"]}
    assert [o["value"] for o in elements["quote"]["options"]] == ["D-2026-0001"]
    done = mm.fill("lea.dupont", {"quote": "D-2026-0001", "amount": "2500", "period": "octobre"})
    assert "SF-2026-0001" in done
    assert mm.inbox("julien.moreau")[-1].buttons == ["Certifier", "Refuser"]


def test_cancelled_dialog_changes_nothing(mm: MattermostChat) -> None:
    """Cancelling the refusal dialog answers {} and the request stays pending with its buttons."""
    quote_posted(mm)
    mm.click("julien.moreau", "D-2026-0001", "Refuser")
    response = mm.cancel("julien.moreau")
    assert response.status_code == 200 and response.json() == {}
    assert mm.inbox("julien.moreau")[-1].buttons == ["Valider", "Refuser"]
    history = mm.say("julien.moreau", "historique D-2026-0001").text
    assert "soumis par Léa Dupont" in history and "refus" not in history


def test_dialog_outcome_falls_back_to_a_direct_message_when_the_response_url_has_expired(mm: MattermostChat) -> None:
    """A dialog submitted after its command's response_url expired: the outcome comes by direct message."""
    mm.say("lea.dupont", "devis")
    mm.fake.hooks.clear()  # Mattermost forgets response URLs after 30 minutes
    done = mm.fill("lea.dupont", {"startup": "dedale", "amount": "3000", "supplier": "Arawa", "object": "Audit"})
    assert done.text == ""
    assert "D-2026-0001" in mm.inbox("lea.dupont")[-1]
    assert mm.inbox("julien.moreau")[-1].buttons == ["Valider", "Refuser"]


def test_serve_mounts_the_mattermost_routes_and_registers_one_sender(engine, world, clock) -> None:  # type: ignore[no-untyped-def]
    """With Mattermost configured, the composition has one courier sender and create_app the three routes,
    calling nobody; building the app again registers nothing more."""
    from bot.compose import compose
    from bot.config import Settings
    from bot.platforms.mattermost import MattermostSender
    from bot.server import create_app

    settings = Settings(database_url=str(engine.url), mattermost_url="http://mm.invalid", mattermost_bot_token="t",
                        mattermost_command_tokens=("c",), secret="s", public_url="https://incubot.example/")
    incubot = compose(settings, clock=clock, engine=engine, migrate=False)
    runtime = incubot.runtime
    app = create_app(incubot)
    create_app(incubot)
    paths = {getattr(r, "path", "") for r in app.routes}
    assert {"/mattermost/command", "/mattermost/actions", "/mattermost/dialogs"} <= paths
    senders = [s for s in runtime.courier.senders if isinstance(s, MattermostSender)]
    assert len(senders) == 1
    assert senders[0].renderer.public_url == "https://incubot.example"


# --------------------------------------------------------------------------- button clicks


def test_button_context_is_signed_and_points_at_the_public_url(mm: MattermostChat) -> None:
    """Each button's integration url is under INCUBOT_PUBLIC_URL and its context verifies with the secret."""
    _post, button = quote_posted(mm)
    assert button["integration"]["url"] == "http://testserver/mattermost/actions"
    context = button["integration"]["context"]
    assert unseal(SECRET, "action", context) is not None
    assert context["action"] == "quote.validate" and context["ref"] == "D-2026-0001"


@pytest.mark.parametrize("tamper", ["unsigned", "forged", "other_ref", "other_action", "other_secret", "garbage"])
def test_click_with_a_bad_context_is_refused_and_nothing_changes(mm: MattermostChat, tamper: str) -> None:
    """A click whose context is missing, forged or signed for something else gets 401; nothing is validated."""
    mm.say("lea.dupont", "devis dedale; 2000; Arawa; Audit")
    post, button = quote_posted(mm)  # D-2026-0002 is the second quote; the Valider button is D-2026-0001's
    context: Any = dict(button["integration"]["context"])
    if tamper == "unsigned":
        context.pop("sig")
    elif tamper == "forged":
        context["sig"] = "0" * 64
    elif tamper == "other_ref":
        context.update(value="D-2026-0002", ref="D-2026-0002")
    elif tamper == "other_action":
        context["action"] = "quote.refuse"
    elif tamper == "other_secret":
        context = seal("another-secret", "action", {k: v for k, v in context.items() if k != "sig"})
    else:
        context = "D-2026-0001"
    response = mm.post_click("julien.moreau", post, context)
    assert response.status_code == 401
    assert mm.inbox("julien.moreau")[0].buttons == ["Valider", "Refuser"]
    assert "réservées 0,00 €" in committed(mm)


def test_a_dialog_state_cannot_be_replayed_as_a_button_context(mm: MattermostChat) -> None:
    """Seals are bound to their purpose: a dialog's state sent as a click context gets 401."""
    post, _button = quote_posted(mm)
    mm.click("julien.moreau", "D-2026-0001", "Refuser")
    state = json.loads(mm.forms["julien.moreau"]["dialog"]["state"])
    assert mm.post_click("julien.moreau", post, state).status_code == 401


def test_outsider_click_is_refused_and_nothing_changes(mm: MattermostChat) -> None:
    """Claire (intrapreneur of another startup) posting Julien's Valider click is told so; nothing changes."""
    post, button = quote_posted(mm)
    response = mm.post_click("claire.petit", post, button["integration"]["context"])
    assert response.status_code == 200
    answer = response.json()
    assert "Seul un intrapreneur de Dédale" in visible(answer["ephemeral_text"]) and "update" not in answer
    assert mm.inbox("julien.moreau")[-1].buttons == ["Valider", "Refuser"]
    assert "réservées 0,00 €" in committed(mm)


def test_stranger_click_is_told_whom_to_ask(mm: MattermostChat) -> None:
    """A Mattermost user the bot does not know clicking gets the stranger sentence; nothing changes."""
    post, button = quote_posted(mm)
    answer = mm.post_click("inconnu", post, button["integration"]["context"]).json()
    assert "Je ne vous connais pas" in visible(answer["ephemeral_text"])
    assert "réservées 0,00 €" in committed(mm)


def test_double_click_validates_once(mm: MattermostChat) -> None:
    """Two clicks on the same Valider (two distinct requests) commit the amount once; the second says so."""
    post, button = quote_posted(mm)
    first = mm.post_click("julien.moreau", post, button["integration"]["context"]).json()
    second = mm.post_click("julien.moreau", post, button["integration"]["context"]).json()
    assert "validé" in visible(first["ephemeral_text"])
    assert "déjà validé" in visible(second["ephemeral_text"]) and "update" not in second
    assert len(mm.fake.calls_to("PUT", f"/api/v4/posts/{post['id']}/patch")) == 1  # the first click's, only
    assert "réservées 3 000,00 €" in committed(mm)


def test_click_is_answered_to_the_clicker_and_the_post_is_patched_once_by_the_courier(mm: MattermostChat) -> None:
    """Valider answers the clicker only (no "update" in the answer); the courier patches the post once: same
    post, buttons gone, decision, who; and the coach is told by DM."""
    post, button = quote_posted(mm)
    answer = mm.post_click("julien.moreau", post, button["integration"]["context"]).json()
    assert set(answer) == {"ephemeral_text"} and "validé" in visible(answer["ephemeral_text"])
    [patch] = mm.fake.calls_to("PUT", "/api/v4/posts/")
    assert patch.path == f"/api/v4/posts/{post['id']}/patch" and "actions" not in patch.body["props"]["attachments"][0]
    shown = seen_post(mm.fake.posts[post["id"]])
    assert shown.buttons == [] and "Validé" in shown and "Julien Moreau" in shown
    assert "validé" in mm.inbox("lea.dupont")[-1].text


def test_refusal_reason_shows_in_the_thread_of_the_request(mm: MattermostChat) -> None:
    """The refusal dialog's outcome is posted under the clicked request (a bot cannot post ephemeral)."""
    post, _ = quote_posted(mm)
    mm.click("julien.moreau", "D-2026-0001", "Refuser")
    done = mm.fill("julien.moreau", {"reason": "Hors périmètre"})
    assert "refusé" in done.text and "Hors périmètre" in done.text
    replies = [p for p in mm.fake.channel_posts(post["channel_id"], threads=True) if p.get("root_id") == post["id"]]
    assert len(replies) == 1


# --------------------------------------------------------------------------- dialog states


def test_forged_dialog_state_is_refused_and_nothing_changes(mm: MattermostChat) -> None:
    """A refusal submitted with a tampered state (another reference) gets 401; the quote stays pending."""
    mm.say("lea.dupont", "devis dedale; 2000; Arawa; Audit")
    quote_posted(mm)
    mm.click("julien.moreau", "D-2026-0001", "Refuser")
    opened = mm.forms["julien.moreau"]
    state = json.loads(opened["dialog"]["state"])
    state["value"] = "D-2026-0002"
    response = mm.submit_dialog("julien.moreau", opened, {"reason": "non"}, state=json.dumps(state))
    assert response.status_code == 401
    assert mm.submit_dialog("julien.moreau", opened, {"reason": "non"}, state="").status_code == 401
    assert all(seen.buttons == ["Valider", "Refuser"] for seen in mm.inbox("julien.moreau"))


def test_dialog_state_of_another_user_is_refused(mm: MattermostChat) -> None:
    """A state opened for Julien, submitted by Claire, gets 401: the state is bound to its user."""
    quote_posted(mm)
    mm.click("julien.moreau", "D-2026-0001", "Refuser")
    opened = mm.forms["julien.moreau"]
    response = mm.submit_dialog("claire.petit", opened, {"reason": "non"})
    assert response.status_code == 401
    assert mm.inbox("julien.moreau")[-1].buttons == ["Valider", "Refuser"]


def test_stale_dialog_state_is_refused(mm: MattermostChat) -> None:
    """A dialog state older than a day is refused (a dialog lives minutes, not days)."""
    quote_posted(mm)
    mm.click("julien.moreau", "D-2026-0001", "Refuser")
    mm.runtime.services.clock.advance(hours=25)  # type: ignore[attr-defined]
    response = mm.submit_dialog("julien.moreau", mm.forms["julien.moreau"], {"reason": "trop tard"})
    assert response.status_code == 401


# --------------------------------------------------------------------------- escaping


def test_typed_text_cannot_mention_everyone_nor_spoof_a_link(mm: MattermostChat) -> None:
    """@channel, links, images, HTML and code typed in a quote reach Julien inert."""
    nasty = "@channel [ici](http://evil.example) ![x](http://evil.example/i.png) <b>gras</b> `code`"
    mm.say("lea.dupont", f"devis dedale; 3000; {nasty}; Audit")
    post = mm.fake.direct_posts(mm_id("julien.moreau"))[-1]
    raw = json.dumps(post, ensure_ascii=False)
    assert "@channel" not in raw and f"@{ZWJ}channel" in raw
    assert "[ici](" not in raw and "![x](" not in raw and "<b>" not in raw and "`code`" not in raw
    assert nasty in "\n".join(mm.inbox("julien.moreau")[-1].text.splitlines())


def test_escape_neutralises_markdown_and_mentions() -> None:
    """escape() backslash-escapes markdown specials, line-start markers, and breaks @-mentions."""
    assert escape("@all") == f"@{ZWJ}all"
    assert escape("[a](b)") == r"\[a\]\(b\)"
    assert escape("# titre\n- item\n1. un") == "\\# titre\n\\- item\n\\1. un"
    assert escape("D-2026-0001 à 12,5 %") == "D-2026-0001 à 12,5 %"
    assert markdown(f"**Devis** de {user('*moi*')}") == r"**Devis** de \*moi\*"


# --------------------------------------------------------------------------- dialogs rendering


def test_dialog_respects_mattermost_limits() -> None:
    """Long titles and labels are shortened to 24 characters, the full label moves to the help text."""
    renderer = Renderer(SECRET, "https://incubot.example", lambda: NOW)
    form = Form("quote.refuse", "Un titre bien trop long pour Mattermost", "Refuser",
                (Input("reason", "Pourquoi refusez-vous D-2026-0001 ?", kind="textarea", max_length=5000,
                       hint="Le motif est transmis."),
                 Input("x", "Court", required=False, max_length=400)), value="D-2026-0001")
    dialog = renderer.dialog(form, user_id="u1")
    assert len(dialog["title"]) <= 24
    reason, short = dialog["elements"]
    assert len(reason["display_name"]) <= 24 and "Pourquoi refusez-vous D-2026-0001 ?" in reason["help_text"]
    assert reason["max_length"] == 3000 and short["max_length"] == 150 and short["optional"] is True
    state = renderer.dialog_state(dialog["state"], user_id="u1")
    assert state is not None and state["callback"] == "quote.refuse" and state["value"] == "D-2026-0001"
    assert renderer.dialog_state(dialog["state"], user_id="u2") is None


def test_buttons_become_attachment_actions() -> None:
    """A reply's buttons become attachment actions with styles and alphanumeric ids."""
    renderer = Renderer(SECRET, "https://incubot.example", lambda: NOW)
    post = renderer.post(Reply("x", buttons=(Button("Valider", "quote.validate", "D-2026-0001", "primary"),)))
    action = post["props"]["attachments"][0]["actions"][0]
    assert action["id"].isalnum() and action["style"] == "primary" and action["type"] == "button"
    assert action["integration"]["url"] == "https://incubot.example/mattermost/actions"


# --------------------------------------------------------------------------- the REST client


def test_rate_limited_post_is_retried_after_retry_after_and_not_lost(mm: MattermostChat) -> None:
    """A 429 with Retry-After on POST /posts is waited out and retried: Julien still gets the request."""
    mm.fake.fail_next("POST", "/api/v4/posts", 429, retry_after="2")
    said = mm.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    assert "D-2026-0001" in said
    assert mm.inbox("julien.moreau")[-1].buttons == ["Valider", "Refuser"]
    assert mm.sleeps == [2.0]
    assert [c.status for c in mm.fake.calls_to("POST", "/api/v4/posts")] == [429, 201]


def test_server_errors_are_retried_with_backoff(mm: MattermostChat) -> None:
    """Two 503 then success: retried after 0.5 s then 1 s, and the message goes out once."""
    mm.fake.fail_next("POST", "/api/v4/posts", 503, times=2)
    mm.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    assert mm.sleeps == [0.5, 1.0]
    assert len(mm.inbox("julien.moreau")) == 1


def test_mattermost_down_keeps_the_message_in_the_outbox_until_it_is_back(mm: MattermostChat) -> None:
    """When every retry fails, the request stays in the outbox and the next sweep delivers it."""
    mm.fake.fail_next("POST", "/api/v4/posts", 503, times=5)
    said = mm.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    assert "D-2026-0001" in said
    assert mm.inbox("julien.moreau") == []
    mm.runtime.services.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert mm.runtime.courier.flush() == 1
    assert mm.inbox("julien.moreau")[-1].buttons == ["Valider", "Refuser"]
    with unit_of_work(mm.runtime.services.sessions) as session:
        assert {m.status for m in outbox.messages(session=session)} == {"sent"}


def test_bot_user_id_is_asked_once(mm: MattermostChat) -> None:
    """users/me is called once, however many direct messages go out."""
    mm.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    mm.click("julien.moreau", "D-2026-0001", "Valider")
    assert len(mm.fake.calls_to("GET", "/api/v4/users/me")) == 1


def test_bad_bot_token_is_logged_clearly_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    """A 401 from Mattermost is not retried; the log says the bot token is refused."""
    fake = FakeMattermost().start()
    try:
        client = MattermostClient(fake.url, "wrong-token", sleep=lambda s: None)
        with caplog.at_level(logging.ERROR, logger="incubot.mattermost"), pytest.raises(MattermostError) as err:
            client.bot_user_id()
        assert err.value.status == 401
        assert "MATTERMOST_BOT_TOKEN" in caplog.text
        assert len(fake.calls) == 1
    finally:
        fake.stop()


def test_forbidden_is_logged_as_a_missing_permission(caplog: pytest.LogCaptureFixture) -> None:
    """A 403 (e.g. POST /posts/ephemeral for a normal bot) is logged as a missing permission, not retried."""
    transport = httpx.MockTransport(lambda request: httpx.Response(403, json={"message": "no permission"}))
    client = MattermostClient("http://mm.invalid", BOT_TOKEN, transport=transport, sleep=lambda s: None)
    with caplog.at_level(logging.ERROR, logger="incubot.mattermost"), pytest.raises(MattermostError):
        client.patch_post("p1", "x", {})
    assert "lacks a permission" in caplog.text


def test_client_sends_the_bearer_token_and_keeps_response_urls_on_its_server() -> None:
    """Every call carries `Authorization: Bearer`; a response_url is called on MATTERMOST_URL, never elsewhere."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "bot"})

    client = MattermostClient("http://mm.internal:8065/chat", "tok", transport=httpx.MockTransport(answer))
    assert client.bot_user_id() == "bot"
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert str(seen[0].url) == "http://mm.internal:8065/chat/api/v4/users/me"
    client.respond("https://chat.example.gouv.fr/chat/hooks/commands/abc123", {"text": "hi"})
    assert str(seen[1].url) == "http://mm.internal:8065/chat/hooks/commands/abc123"
    with pytest.raises(MattermostError):
        client.respond("http://evil.example/collect", {"text": "hi"})
    assert len(seen) == 2


# --------------------------------------------------------------------------- signing


def test_seal_binds_every_field_and_the_purpose() -> None:
    """A seal verifies only unchanged, for its own purpose and secret."""
    sealed = seal(SECRET, "action", {"action": "quote.validate", "value": "D-2026-0001"})
    assert unseal(SECRET, "action", sealed) == {"action": "quote.validate", "value": "D-2026-0001"}
    assert unseal(SECRET, "dialog", sealed) is None
    assert unseal("other", "action", sealed) is None
    assert unseal(SECRET, "action", {**sealed, "extra": "x"}) is None
    assert unseal(SECRET, "action", None) is None


def test_token_matches_any_configured_token_only() -> None:
    """Command tokens: any configured one matches; empty or other does not."""
    assert token_matches(COMMAND_TOKEN, (OTHER_COMMAND_TOKEN, COMMAND_TOKEN))
    assert not token_matches("", (COMMAND_TOKEN,)) and not token_matches(None, (COMMAND_TOKEN,))
    assert not token_matches("nope", (COMMAND_TOKEN,))



def scripted(*statuses: int, retry_after: str | None = None) -> tuple[httpx.MockTransport, list[int]]:
    """A transport answering each call with the next status (then 201), recording what it answered."""
    answered: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses[len(answered)] if len(answered) < len(statuses) else 201
        answered.append(status)
        headers = {"Retry-After": retry_after} if retry_after is not None and status == 429 else {}
        return httpx.Response(status, json={"id": "x"}, headers=headers)

    return httpx.MockTransport(answer), answered


def test_waiting_is_bounded_so_a_slash_command_still_answers_in_time() -> None:
    """A long Retry-After is capped, and past the waiting budget the call fails (the outbox retries later)."""
    transport, answered = scripted(429, 429, 429, retry_after="60")
    sleeps: list[float] = []
    client = MattermostClient("http://mm.example", "tok", transport=transport, sleep=sleeps.append)
    with pytest.raises(MattermostError) as err:
        client.patch_post("p1", "x", {})
    assert err.value.status == 429 and sleeps == [10.0] and answered == [429, 429]


def test_bad_request_is_not_retried() -> None:
    """A 400 is the bot's mistake: raised at once, no retry."""
    transport, answered = scripted(400)
    sleeps: list[float] = []
    client = MattermostClient("http://mm.example", "tok", transport=transport, sleep=sleeps.append)
    with pytest.raises(MattermostError):
        client.open_dialog("t", "http://incubot/mattermost/dialogs", {"title": "x"})
    assert answered == [400] and sleeps == []


def test_connection_errors_are_retried() -> None:
    """A refused connection is retried with backoff, then the call succeeds."""
    attempts: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"id": "bot"})

    sleeps: list[float] = []
    client = MattermostClient("http://mm.example", "tok", transport=httpx.MockTransport(flaky), sleep=sleeps.append)
    assert client.bot_user_id() == "bot" and sleeps == [0.5]


def test_a_click_patches_the_request_only_through_the_outbox(engine: Any, world: Any, clock: Any,
                                                               request: pytest.FixtureRequest) -> None:
    """With the outbox held back, Julien's Valider is answered at once but the post is not patched; the
    courier's next pass patches it, once, and a second pass does not patch it again."""
    held = mattermost_chat(engine, clock, request, delivery="manual")
    held.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    held.runtime.courier.flush()
    post, button = held.find_button("julien.moreau", "D-2026-0001", "Valider")
    answer = held.post_click("julien.moreau", post, button["integration"]["context"]).json()

    assert set(answer) == {"ephemeral_text"} and "validé" in visible(answer["ephemeral_text"])
    assert held.fake.calls_to("PUT", "/api/v4/posts/") == []
    held.runtime.courier.flush()
    held.runtime.courier.flush()
    [patch] = held.fake.calls_to("PUT", "/api/v4/posts/")
    assert patch.path == f"/api/v4/posts/{post['id']}/patch"
    assert seen_post(held.fake.posts[post["id"]]).buttons == []


def test_a_refusal_dialog_patches_the_request_once(mm: MattermostChat) -> None:
    """Refuser, then the reason's dialog: the request's post is patched once (by the courier), not by the dialog."""
    post, _ = quote_posted(mm)
    mm.click("julien.moreau", "D-2026-0001", "Refuser")
    mm.fill("julien.moreau", {"reason": "Hors périmètre"})
    [patch] = mm.fake.calls_to("PUT", "/api/v4/posts/")
    assert patch.path == f"/api/v4/posts/{post['id']}/patch"
    assert "Refusé" in seen_post(mm.fake.posts[post["id"]]) and "Hors périmètre" in seen_post(mm.fake.posts[post["id"]])
