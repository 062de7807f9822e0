"""Slack, through its real request formats: signed commands, clicks, modals and events
against ``incubot serve``'s app, with a fake Web API that records what Slack would show."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from storage import inbox, ledger
from storage.db import unit_of_work
from tests.chat_slack import SlackChat, seen_message, sign, slack_chat, slack_id
from tests.fake_slack import BOT_USER, dm_channel

JULIEN, LEA, CLAIRE, CAMILLE = (slack_id(p) for p in ("julien.moreau", "lea.dupont", "claire.petit", "camille.martin"))


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    return next(e for e in buttons_of(message) if e["text"]["text"] == label)


def committed_text(slack: SlackChat) -> str:
    return slack.say("camille.martin", "budget").text


def submit_quote(slack: SlackChat, line: str = "devis dedale; 3000; Arawa; Audit") -> dict[str, Any]:
    slack.command(LEA, line)
    return slack.fake.dm(JULIEN)[-1]


# --------------------------------------------------------------------------- flows


def test_command_is_acked_empty_then_answered_and_intrapreneur_gets_valider_refuser(slack: SlackChat) -> None:
    """`/incubot devis …` is acked at once with an empty body; the coach gets an ephemeral answer and the
    intrapreneur a direct message with the details and Valider (primary) / Refuser (danger)."""
    response, _, response_url = slack.command(LEA, "devis dedale; 12 500 HT; Scopyleft; Sprint 7")
    assert response.status_code == 200 and response.content == b""
    [answer] = slack.fake.responses_to(response_url)
    assert answer["response_type"] == "ephemeral" and "D-2026-0001" in answer["text"]

    [request] = slack.fake.dm(JULIEN)
    assert "D-2026-0001" in request["text"]  # plain fallback for notifications
    seen = seen_message(request)
    assert "Scopyleft" in seen and "15 000,00 €" in seen.text and seen.buttons == ["Valider", "Refuser"]
    valider, refuser = buttons_of(request)
    assert (valider["action_id"].split("#")[0], valider["value"], valider["style"]) == (
        "quote.validate", "D-2026-0001", "primary")
    assert (refuser["action_id"].split("#")[0], refuser["style"]) == ("quote.refuse", "danger")
    assert [c.args["users"] for c in slack.fake.calls_to("conversations.open")] == [JULIEN]


def test_valider_updates_the_message_in_place_and_tells_the_submitter(slack: SlackChat) -> None:
    """A click on Valider: one chat.update of that very message (buttons gone, who, when), the clicker sees
    an ephemeral confirmation and the coach a direct message."""
    request = submit_quote(slack)
    _, _, response_url = slack.block_action(JULIEN, request, button(request, "Valider"))

    [update] = slack.fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (request["channel"], request["ts"])
    now = seen_message(slack.fake.find_message(request["channel"], request["ts"]))
    assert now.buttons == [] and "Validé" in now and "Julien Moreau" in now
    [confirmation] = [r for r in slack.fake.responses_to(response_url) if not r.get("replace_original")]
    assert confirmation["response_type"] == "ephemeral" and "validé" in confirmation["text"]
    told = seen_message(slack.fake.dm(LEA)[-1])
    assert "D-2026-0001" in told and "validé" in told.text
    assert "réservées 3 000,00 €" in committed_text(slack)


def test_refuser_opens_a_modal_whose_reason_is_stored_and_shown(slack: SlackChat) -> None:
    """Refuser opens a modal (views.open with the click's trigger_id); the reason submitted is stored,
    shown in the updated message and sent to the coach."""
    request = submit_quote(slack)
    _, trigger_id, _ = slack.block_action(JULIEN, request, button(request, "Refuser"))
    view = slack.fake.opened_views[trigger_id]
    assert [b["block_id"] for b in view["blocks"]] == ["reason"]
    assert view["blocks"][0]["element"]["multiline"] is True

    response = slack.view_submission(JULIEN, view, {"reason": "Hors périmètre de la convention"})
    assert response.status_code == 200 and response.content == b""
    [update] = slack.fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (request["channel"], request["ts"])
    now = seen_message(slack.fake.find_message(request["channel"], request["ts"]))
    assert now.buttons == [] and "Refusé" in now and "Hors périmètre de la convention" in now
    assert "Hors périmètre de la convention" in seen_message(slack.fake.dm(LEA)[-1])
    assert "motif : Hors périmètre de la convention" in slack.say("julien.moreau", "historique D-2026-0001")
    assert "réservées 0,00 €" in committed_text(slack)


def test_service_done_shows_certifier_refuser(slack: SlackChat) -> None:
    """A service-done request reaches the intrapreneur with Certifier / Refuser; Certifier puts CP à payer."""
    request = submit_quote(slack, "devis dedale; 10 000; Scopyleft; Sprints")
    slack.block_action(JULIEN, request, button(request, "Valider"))
    slack.command(LEA, "service-fait D-2026-0001; 2 500; octobre")
    certify = slack.fake.dm(JULIEN)[-1]
    assert seen_message(certify).buttons == ["Certifier", "Refuser"]
    slack.block_action(JULIEN, certify, button(certify, "Certifier"))
    assert "à payer 2 500,00 €" in committed_text(slack)


# --------------------------------------------------------------------------- security


def test_forged_signature_is_refused_with_401_and_changes_nothing(slack: SlackChat) -> None:
    """A request signed with another secret gets 401; no quote, no message, no decision."""
    response, _, response_url = slack.command(LEA, "devis dedale; 3000; Arawa; Audit", sign_with="not-the-secret")
    assert response.status_code == 401
    assert slack.fake.dm(JULIEN) == [] and slack.fake.responses_to(response_url) == []

    request = submit_quote(slack)
    forged, _, _ = slack.block_action(JULIEN, request, button(request, "Valider"), sign_with="not-the-secret")
    assert forged.status_code == 401
    assert seen_message(slack.fake.find_message(request["channel"], request["ts"])).buttons == ["Valider", "Refuser"]
    assert "réservées 0,00 €" in committed_text(slack)


def test_stale_timestamp_is_refused_with_401(slack: SlackChat) -> None:
    """A correctly signed request older than five minutes (a replay) gets 401 and changes nothing."""
    request = submit_quote(slack)
    replay, _, _ = slack.block_action(JULIEN, request, button(request, "Valider"), timestamp=int(time.time()) - 600)
    assert replay.status_code == 401
    assert "réservées 0,00 €" in committed_text(slack)


def test_user_text_is_escaped_for_mrkdwn(slack: SlackChat) -> None:
    """`<!channel>`, `<@U…>` and links typed by a person are shown as typed, escaped, never interpreted."""
    slack.command(LEA, "devis dedale; 3000; <!channel> & <@U0BOSS>; voir <https://evil.example|banque>")
    request = slack.fake.dm(JULIEN)[-1]
    raw = str(request["blocks"]) + request["text"]
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;" in raw and "&lt;https://evil.example|banque&gt;" in raw
    assert "<!channel>" not in raw and "<@U0BOSS>" not in raw and "<https://" not in raw

    _, trigger_id, _ = slack.block_action(JULIEN, request, button(request, "Refuser"))
    slack.view_submission(JULIEN, slack.fake.opened_views[trigger_id], {"reason": "Non <!channel>"})
    updated = slack.fake.find_message(request["channel"], request["ts"])
    assert "Non &lt;!channel&gt;" in str(updated["blocks"]) and "<!channel>" not in str(updated["blocks"])


# --------------------------------------------------------------------------- clicks


def test_double_click_validates_once(slack: SlackChat) -> None:
    """Two block_actions payloads for the same button (a double click) commit once; the second says so."""
    request = submit_quote(slack)
    as_shown = {**request, "blocks": list(request["blocks"])}  # both clicks come from the message as first shown
    valider = button(as_shown, "Valider")
    slack.block_action(JULIEN, as_shown, valider)
    _, _, second = slack.block_action(JULIEN, as_shown, valider)
    [answer] = [r for r in slack.fake.responses_to(second) if not r.get("replace_original")]
    assert "déjà validé" in answer["text"]
    assert "réservées 3 000,00 €" in committed_text(slack)
    assert len([m for m in slack.fake.dm(LEA) if "validé" in m["text"]]) == 1


def test_outsider_click_is_refused_ephemerally_and_nothing_changes(slack: SlackChat) -> None:
    """Someone who is not an intrapreneur of the startup clicks: an ephemeral refusal, the request stays open."""
    request = submit_quote(slack)
    _, _, response_url = slack.block_action(CLAIRE, request, button(request, "Valider"))
    [answer] = slack.fake.responses_to(response_url)
    assert answer["response_type"] == "ephemeral" and "Seul un intrapreneur de Dédale" in answer["text"]
    assert seen_message(slack.fake.find_message(request["channel"], request["ts"])).buttons == ["Valider", "Refuser"]
    assert "réservées 0,00 €" in committed_text(slack)


# --------------------------------------------------------------------------- modals


def test_devis_without_arguments_opens_a_modal_and_field_errors_stay_in_it(slack: SlackChat) -> None:
    """`/incubot devis` opens the quote modal; a wrong amount comes back as `response_action: errors`
    on that field, nothing is stored; a correct submission sends the request."""
    _, trigger_id, response_url = slack.command(LEA, "devis")
    view = slack.fake.opened_views[trigger_id]
    assert slack.fake.responses_to(response_url) == []
    blocks = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert blocks["startup"]["type"] == "static_select" and blocks["object"]["multiline"] is True
    assert {"amount", "supplier", "tax"} <= set(blocks)

    wrong = slack.view_submission(LEA, view, {"startup": "dedale", "amount": "beaucoup", "supplier": "Arawa",
                                              "object": "Audit"})
    answer = wrong.json()
    assert answer["response_action"] == "errors" and set(answer["errors"]) == {"amount"}
    assert slack.fake.dm(JULIEN) == []

    done = slack.view_submission(LEA, view, {"startup": "dedale", "amount": "3 000", "supplier": "Arawa",
                                             "object": "Audit"})
    assert done.content == b""
    assert seen_message(slack.fake.dm(JULIEN)[-1]).buttons == ["Valider", "Refuser"]
    assert any("D-2026-0001" in e["text"] for e in slack.fake.ephemeral if e["user"] == LEA)


def test_service_fait_without_arguments_opens_its_modal(slack: SlackChat) -> None:
    """`/incubot service-fait` opens the service-done modal with the order as a select."""
    request = submit_quote(slack)
    slack.block_action(JULIEN, request, button(request, "Valider"))
    _, trigger_id, _ = slack.command(LEA, "service-fait")
    view = slack.fake.opened_views[trigger_id]
    blocks = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert blocks["quote"]["type"] == "static_select"
    assert [o["value"] for o in blocks["quote"]["options"]] == ["D-2026-0001"]


# --------------------------------------------------------------------------- Web API failures


def test_rate_limit_is_waited_out_and_the_message_is_not_lost(slack: SlackChat) -> None:
    """A 429 with Retry-After: the client pauses as told (recorded, not slept), sends again, and it arrives."""
    slack.fake.fail_next("chat.postMessage", 429, retry_after=7)
    submit_quote(slack)
    statuses = [c.status for c in slack.fake.calls_to("chat.postMessage")]
    assert statuses[:2] == [429, 200]
    assert slack.paused == [7.0]
    assert seen_message(slack.fake.dm(JULIEN)[-1]).buttons == ["Valider", "Refuser"]


def test_server_errors_are_retried(slack: SlackChat) -> None:
    """A 503 from the Web API is retried after a back-off, and the message arrives."""
    slack.fake.fail_next("chat.postMessage", 503, retry_after=None, error="service_unavailable")
    submit_quote(slack)
    assert [c.status for c in slack.fake.calls_to("chat.postMessage")][:2] == [503, 200]
    assert len(slack.fake.dm(JULIEN)) == 1


def test_a_message_still_refused_after_retries_stays_in_the_outbox_and_goes_later(slack: SlackChat, clock) -> None:
    """When Slack keeps refusing, the message stays in the outbox; the next sweep delivers it once."""
    slack.fake.fail_next("chat.postMessage", 429, times=4, retry_after=1)
    slack.command(LEA, "devis dedale; 3000; Arawa; Audit")
    assert slack.fake.dm(JULIEN) == []
    clock.advance(minutes=5)
    assert slack.runtime.courier.flush() == 1
    assert len(slack.fake.dm(JULIEN)) == 1 and slack.runtime.courier.flush() == 0


# --------------------------------------------------------------------------- events


def test_direct_message_is_a_command_and_a_retried_event_is_handled_once(slack: SlackChat) -> None:
    """A DM to the bot runs the command; Slack's retry of the same event_id changes nothing."""
    slack.dm_event(LEA, "devis dedale; 3000; Arawa; Audit", event_id="Ev0RETRIED")
    slack.dm_event(LEA, "devis dedale; 3000; Arawa; Audit", event_id="Ev0RETRIED", retry=1)
    replies = slack.fake.dm(LEA)
    assert len(replies) == 1 and "D-2026-0001" in replies[0]["text"]
    assert len(slack.fake.dm(JULIEN)) == 1
    assert "D-2026-0002" not in committed_text(slack)


def test_bot_messages_are_ignored(slack: SlackChat) -> None:
    """The bot's own messages (and other bots') in a DM trigger nothing."""
    slack.event({"type": "message", "channel_type": "im", "channel": dm_channel(LEA), "user": BOT_USER,
                 "bot_id": "BINCUBOT", "text": "budget", "ts": "1.1"})
    slack.event({"type": "message", "subtype": "message_changed", "channel_type": "im",
                 "channel": dm_channel(LEA), "ts": "1.2"})
    assert slack.fake.calls_to("chat.postMessage") == []


def test_mention_answers_only_the_person_who_asked(slack: SlackChat) -> None:
    """`@incubot budget` in a channel: the mention is stripped and the answer is ephemeral."""
    slack.event({"type": "app_mention", "channel": "C0GENERAL", "user": LEA, "text": f"<@{BOT_USER}> budget",
                 "ts": "1780000000.000001"})
    [answer] = slack.fake.ephemeral
    assert answer["user"] == LEA and answer["channel"] == "C0GENERAL" and "AE" in answer["text"]


def test_devis_typed_in_a_dm_offers_a_button_that_opens_the_form(slack: SlackChat) -> None:
    """A DM has no trigger_id: `devis` answers with a button whose click opens the modal."""
    slack.dm_event(LEA, "devis")
    offer = slack.fake.dm(LEA)[-1]
    [opener] = buttons_of(offer)
    _, trigger_id, _ = slack.block_action(LEA, offer, opener)
    assert slack.fake.opened_views[trigger_id]["callback_id"] == "quote.submit"


def test_app_home_shows_what_waits_the_budget_and_the_committee(slack: SlackChat) -> None:
    """Opening the App Home publishes what waits for me, the budget and the next committee."""
    submit_quote(slack)
    slack.event({"type": "app_home_opened", "user": JULIEN, "channel": dm_channel(JULIEN), "tab": "home"})
    home = slack.fake.home[JULIEN]
    text = str(home["blocks"])
    assert home["type"] == "home"
    assert "Ce qui vous attend" in text and "D-2026-0001" in text and "Budget" in text and "comité" in text
    assert "Valider D-2026-0001" in seen_message({"blocks": home["blocks"]}).buttons


def test_stranger_is_told_whom_to_ask(slack: SlackChat) -> None:
    """Someone unknown to the bot gets the ephemeral explanation; nothing is sent to anyone."""
    _, _, response_url = slack.command("U0NOBODY", "devis dedale; 3000; Arawa; Audit")
    [answer] = slack.fake.responses_to(response_url)
    assert "Je ne vous connais pas" in answer["text"] and slack.fake.dm(JULIEN) == []


def test_url_verification_is_answered(slack: SlackChat) -> None:
    """Slack's URL check when the admin saves the events URL gets its challenge back."""
    import json

    response = slack.post(json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"}).encode(),
                          "application/json")
    assert response.status_code == 200 and "abc123" in response.text


def test_slack_sender_resolves_people_and_channels(slack: SlackChat) -> None:
    """The courier sends to people's Slack ids and to the managers' / startup's Slack channels."""
    from storage import reference
    from storage.db import unit_of_work

    sender = slack.wiring.sender
    with unit_of_work(slack.runtime.services.sessions) as session:
        person = reference.get_person(session=session, person_id="julien.moreau")
        startup = reference.get_startup(session=session, startup_id="dedale")
        assert sender.person_address(session, person) == JULIEN
        assert sender.channel_address(session, None) == "C0PILOTAGE"
        assert sender.channel_address(session, startup) == reference.channels_of(
            session=session, startup_id="dedale").get("slack")
    assert sender.platform == "slack"
    assert slack.runtime.courier.senders.count(sender) == 1



# --------------------------------------------------------------------------- ack first, wiring


def test_a_command_is_acked_before_any_work_runs(slack: SlackChat) -> None:
    """The ack of `/incubot devis …` leaves while the work threads are busy; the answer follows when they free up."""
    busy = threading.Event()
    for _ in range(4):  # more than there are work threads: nothing queued after them can run
        slack.wiring.work.submit(busy.wait, 10)
    response_url = slack.fake.new_response_url()
    body = urlencode({"command": "/incubot", "text": "devis dedale; 3000; Arawa; Audit", "user_id": LEA,
                      "channel_id": "C0GENERAL", "trigger_id": "t1", "response_url": response_url,
                      "team_id": "T0INCUBOT"}).encode()
    acked = slack.http.post("/slack/events", content=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)})
    assert acked.status_code == 200 and acked.content == b""
    assert slack.fake.responses_to(response_url) == []
    busy.set()
    slack.wiring.join()
    assert "D-2026-0001" in slack.fake.responses_to(response_url)[-1]["text"]


def test_a_command_that_only_reads_is_answered_in_its_ack_with_nothing_stored(slack: SlackChat) -> None:
    """`/incubot budget` while the work threads are busy: its ack carries the figures (ephemeral), nothing waits
    in the inbox, nothing comes later on the response_url."""
    busy = threading.Event()
    for _ in range(4):
        slack.wiring.work.submit(busy.wait, 10)
    response_url = slack.fake.new_response_url()
    body = urlencode({"command": "/incubot", "text": "budget", "user_id": LEA, "channel_id": "C0GENERAL",
                      "trigger_id": "t1", "response_url": response_url, "team_id": "T0INCUBOT"}).encode()
    response = slack.http.post("/slack/events", content=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)})
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral" and "AE" in seen_message(answer).text
    busy.set()
    slack.wiring.join()
    assert slack.fake.responses_to(response_url) == []
    with unit_of_work(slack.runtime.services.sessions) as session:
        assert inbox.items(session=session) == []


def test_in_a_burst_a_command_that_only_reads_is_acked_first_and_answered_after(slack: SlackChat) -> None:
    """With another ack in flight, `/incubot budget` is stored and acked empty like any command (the acks of a
    burst go first); its figures follow on the response_url."""
    slack.wiring.acks.enter()  # another request being acked
    try:
        response, _, response_url = slack.command(LEA, "budget")
    finally:
        slack.wiring.acks.leave()
    assert response.status_code == 200 and response.content == b""
    slack.wiring.join()
    assert "AE" in slack.fake.responses_to(response_url)[-1]["text"]


def test_a_click_is_stored_before_it_is_acked_and_decided_after(slack: SlackChat) -> None:
    """An acked click is already in the inbox (Slack never resends a click) while the workers are busy; it is
    decided once they free up."""
    request = submit_quote(slack)
    busy = threading.Event()
    for _ in range(4):
        slack.wiring.work.submit(busy.wait, 10)
    payload_button = button(request, "Valider")
    payload = {"type": "block_actions", "user": {"id": JULIEN}, "team": {"id": "T0INCUBOT"}, "trigger_id": "t",
               "container": {"type": "message", "message_ts": request["ts"], "channel_id": request["channel"]},
               "response_url": slack.fake.new_response_url(),
               "actions": [{"type": "button", "action_id": payload_button["action_id"], "value": "D-2026-0001"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    acked = slack.http.post("/slack/events", content=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)})
    assert acked.status_code == 200
    with unit_of_work(slack.runtime.services.sessions) as session:
        assert ledger.get_quote(session=session, reference="D-2026-0001").status == "pending"
        [stored] = [i for i in inbox.items(session=session) if i.kind == "slack.action"]
        assert stored.status == "pending" and "D-2026-0001" in stored.payload
    busy.set()
    slack.wiring.join()
    with unit_of_work(slack.runtime.services.sessions) as session:
        assert ledger.get_quote(session=session, reference="D-2026-0001").status == "validated"
        assert inbox.pending_count(session=session) == 0
    assert seen_message(slack.fake.find_message(request["channel"], request["ts"])).buttons == []


def test_http_mode_without_signing_secret_is_refused() -> None:
    """Slack over HTTP without a signing secret would accept anything: the factory refuses to build it."""
    from bot.config import ConfigError, Settings
    from bot.platforms.slack.adapter import TrackedExecutor, build_app, build_client

    settings = Settings(slack_bot_token="xoxb-x", slack_app_token="xapp-1-x")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        build_app(settings, build_client(settings), TrackedExecutor(1, "t"), socket_mode=False)


def test_the_client_uses_slack_api_url_and_retries_rate_limits_and_server_errors() -> None:
    """The Web API base URL comes from SLACK_API_URL (GovSlack, tests); 429 and 5xx have retry handlers."""
    from bot.config import Settings
    from bot.platforms.slack.adapter import RetryAfterHandler, ServerErrorHandler, build_client

    client = build_client(Settings(slack_bot_token="xoxb-x", slack_signing_secret="s",
                                   slack_api_url="https://slack-gov.example/api"))
    assert client.base_url == "https://slack-gov.example/api/"  # the final "/" slack-sdk needs is added
    kinds = {type(h) for h in client.retry_handlers}
    assert {RetryAfterHandler, ServerErrorHandler} <= kinds


def test_socket_mode_runs_the_same_listeners_without_http(engine, world, clock) -> None:  # type: ignore[no-untyped-def]
    """With SLACK_APP_TOKEN no HTTP route is mounted; a command arriving over the WebSocket gets the same answer."""
    from slack_bolt import BoltRequest

    from bot.compose import compose
    from bot.config import Settings
    from bot.platforms.slack import SlackPlatform
    from bot.platforms.slack.adapter import EVENTS_PATH
    from bot.server import create_app
    from tests.fake_slack import BOT_TOKEN, FakeSlack

    with FakeSlack() as fake:
        settings = Settings(database_url=str(engine.url), slack_bot_token=BOT_TOKEN, slack_app_token="xapp-1-test",
                            slack_api_url=fake.api_url)
        incubot = compose(settings, clock=clock, engine=engine, migrate=False)
        assert all(getattr(r, "path", None) != EVENTS_PATH for r in create_app(incubot).routes)
        wiring = incubot.platform("slack")
        assert isinstance(wiring, SlackPlatform) and wiring.socket_mode
        assert incubot.runtime.courier.senders == [wiring.sender]  # one sender, though no route was built
        response_url = fake.new_response_url()
        ack = wiring.app.dispatch(BoltRequest(mode="socket_mode", body={
            "command": "/incubot", "text": "budget", "user_id": LEA, "channel_id": "C0GENERAL", "team_id": "T0INCUBOT",
            "trigger_id": "t", "response_url": response_url}))
        wiring.join()
        assert ack.status == 200
        assert "AE" in json.loads(ack.body)["text"] and fake.responses_to(response_url) == []


def test_a_button_in_an_ephemeral_answer_replaces_that_answer_by_what_it_did(slack: SlackChat) -> None:
    """`/incubot en-attente` lists buttons in an ephemeral answer; a click replaces that answer by its confirmation
    (through its response_url), and the request's direct message is updated once, by the courier."""
    submit_quote(slack)
    listed = slack.command(JULIEN, "en-attente")[0].json()  # answered in the ack: it only reads
    assert "Valider D-2026-0001" in seen_message(listed).buttons
    clicked_url = slack.fake.new_response_url()
    payload = {"type": "block_actions", "user": {"id": JULIEN}, "team": {"id": "T0INCUBOT"}, "trigger_id": "t",
               "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0GENERAL", "is_ephemeral": True},
               "response_url": clicked_url,
               "actions": [{"type": "button", "action_id": button(listed, "Valider D-2026-0001")["action_id"],
                            "value": "D-2026-0001"}]}
    assert slack.interaction(payload).status_code == 200
    answers = slack.fake.responses_to(clicked_url)
    [answer] = answers
    assert answer.get("replace_original") and "validé par Julien Moreau" in seen_message(answer)
    [update] = slack.fake.calls_to("chat.update")  # the DM copy of the request, by the courier
    assert "Validé" in seen_message(slack.fake.find_message(update.args["channel"], update.args["ts"]))
    assert "réservées 3 000,00 €" in committed_text(slack)


def test_a_button_of_the_app_home_refreshes_the_home(slack: SlackChat) -> None:
    """Validating from the App Home decides, then publishes the home again (the request is no longer waiting)."""
    submit_quote(slack)
    slack.event({"type": "app_home_opened", "user": JULIEN, "tab": "home"})
    home = slack.fake.home[JULIEN]
    valider = next(e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["text"]["text"] == "Valider D-2026-0001")
    payload = {"type": "block_actions", "user": {"id": JULIEN}, "team": {"id": "T0INCUBOT"}, "trigger_id": "t",
               "container": {"type": "view", "view_id": "VHOME"}, "view": {"id": "VHOME", "type": "home"},
               "actions": [{"type": "button", "action_id": valider["action_id"], "value": "D-2026-0001"}]}
    slack.interaction(payload)
    assert "Valider D-2026-0001" not in seen_message({"blocks": slack.fake.home[JULIEN]["blocks"]}).buttons
    assert any("validé" in m["text"] for m in slack.fake.dm(JULIEN))  # no response_url: told by direct message


def test_managers_channel_is_alerted_when_credits_are_insufficient(slack: SlackChat) -> None:
    """A validation beyond the year's AE is refused and the managers' Slack channel is told at once."""
    slack.command(LEA, "devis dedale; 50 000 000; Arawa; Trop cher")
    request = slack.fake.dm(JULIEN)[-1]
    slack.block_action(JULIEN, request, button(request, "Valider"))
    [alert] = slack.managers_channel()
    assert "Crédits insuffisants" in alert and "D-2026-0001" in alert
    assert seen_message(slack.fake.find_message(request["channel"], request["ts"])).buttons == ["Valider", "Refuser"]


def test_the_manifest_declares_what_the_adapter_uses() -> None:
    """slack/manifest.yml: /incubot, one events URL for everything, the events we listen to, the scopes we call with."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "slack" / "manifest.yml").read_text(encoding="utf-8")
    urls = [line.split(": ", 1)[1].strip() for line in text.splitlines() if line.strip().startswith(("url:",
                                                                                                        "request_url:"))]
    assert len(urls) == 3 and all(u.endswith("/slack/events") for u in urls)
    assert "command: /incubot" in text and "home_tab_enabled: true" in text
    for event in ("message.im", "app_mention", "app_home_opened"):
        assert f"- {event}" in text
    for scope in ("commands", "chat:write", "im:write", "im:history", "app_mentions:read", "files:write"):
        assert f"- {scope} " in text or f"- {scope}\n" in text


def test_a_modal_submission_is_stored_before_its_ack_and_answered_after(slack: SlackChat) -> None:
    """Submitting the reason closes the modal once the refusal is stored; the confirmation is posted after the ack."""
    request = submit_quote(slack)
    _, trigger_id, _ = slack.block_action(JULIEN, request, button(request, "Refuser"))
    busy = threading.Event()
    for _ in range(4):
        slack.wiring.work.submit(busy.wait, 10)
    view = slack.fake.opened_views[trigger_id]
    payload = {"type": "view_submission", "user": {"id": JULIEN}, "team": {"id": "T0INCUBOT"},
               "view": {**view, "state": {"values": {"reason": {"reason": {"type": "plain_text_input",
                                                                            "value": "Hors périmètre"}}}}}}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    acked = slack.http.post("/slack/events", content=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)})
    assert acked.status_code == 200 and acked.content == b""
    with unit_of_work(slack.runtime.services.sessions) as session:
        assert ledger.get_quote(session=session, reference="D-2026-0001").status == "refused"
    assert not any(e["user"] == JULIEN for e in slack.fake.ephemeral)
    busy.set()
    slack.wiring.join()
    assert any(e["user"] == JULIEN and "refusé" in e["text"] for e in slack.fake.ephemeral)


def test_a_click_changes_the_request_only_through_the_outbox(engine: Any, world: Any, clock: Any,
                                                               request: pytest.FixtureRequest) -> None:
    """With the outbox held back, Julien's Valider is answered at once but his request is not touched;
    the courier's next pass updates it, once, and a second pass does not update it again."""
    held = slack_chat(engine, clock, request, delivery="manual")
    held.command(LEA, "devis dedale; 3000; Arawa; Audit")
    held.runtime.courier.flush()
    [card] = held.fake.dm(JULIEN)
    _, _, response_url = held.block_action(JULIEN, card, button(card, "Valider"))

    assert "validé" in held.fake.responses_to(response_url)[-1]["text"]
    assert held.fake.calls_to("chat.update") == []
    assert seen_message(held.fake.find_message(card["channel"], card["ts"])).buttons == ["Valider", "Refuser"]
    held.runtime.courier.flush()
    held.runtime.courier.flush()
    [update] = held.fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (card["channel"], card["ts"])
    assert seen_message(held.fake.find_message(card["channel"], card["ts"])).buttons == []


# --------------------------------------------------------------------------- the bot token at start


def test_slack_unavailable_at_start_does_not_stop_the_start(caplog: pytest.LogCaptureFixture) -> None:
    """Slack answering 503, or not answering at all, when the bot starts is not a wrong setting: the start goes
    on (the other platforms serve, the outbox keeps Slack's messages), with a warning."""
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

    from bot.config import Settings
    from bot.platforms.slack.adapter import build_client, check_token
    from tests.fake_slack import BOT_TOKEN, FakeSlack
    from tests.servers import free_port

    with FakeSlack() as fake:
        fake.fail_next("auth.test", 503, times=3, retry_after=None, error="service_unavailable")
        settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake.api_url)
        check_token(settings, build_client(settings, sleep=lambda seconds: None))
        assert [call.status for call in fake.calls if call.method == "auth.test"] == [503, 503, 503]
    closed = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=f"http://127.0.0.1:{free_port()}/api/")
    client = build_client(closed, sleep=lambda seconds: None)
    client.retry_handlers = [h for h in client.retry_handlers if not isinstance(h, ConnectionErrorRetryHandler)]
    check_token(closed, client)
    warned = [r.getMessage() for r in caplog.records if r.name == "incubot.slack"]
    assert any("answered 503 at start" in m for m in warned) and any("unreachable at start" in m for m in warned)
