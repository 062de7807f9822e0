"""Slack: translate Slack's requests into neutral ones and neutral replies into Block Kit.

No rule lives here: every request becomes a call to ``runtime.bot`` (``message``,
``action``, ``submit``), and every answer is rendered by ``bot/slack_render.py``.

- HTTP mode: ``routes(runtime)`` gives ``POST /slack/events`` (commands, interactivity,
  events) for the Starlette app of ``incubot serve``. Bolt's synchronous ``dispatch``
  runs in Starlette's thread pool so it never blocks the event loop.
- Socket Mode (``SLACK_APP_TOKEN``): ``start_socket_mode(runtime)``.
- The courier's :class:`SlackSender` posts direct messages and updates them in place.

Slack wants an ack within 3 s. Commands and events are acked first and handled after,
on a few work threads that yield to requests waiting for their ack (:class:`AcksFirst`).
Two things are decided *before* the ack, each one short transaction: a click (Slack
never resends one, so an acked click must be a committed decision) and a modal
submission (its field errors travel in the ack, ``response_action: errors``). Rendering
and Web API calls always come after the ack. Once Slack is installed, the outbox is
delivered by a background thread (``runtime.services.deliver`` only kicks it), so a
rate-limited Web API never holds a request of any platform.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HTTPRequest
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot import slack_render as render
from bot.app import Runtime
from bot.background import BackgroundDelivery, TrackedExecutor
from bot.config import ConfigError, Settings
from bot.delivery import PlatformAddresses, Posted
from handlers.types import Action, ActionResult, Button, Form, Reply, Request, Submission
from storage import outbox
from storage.db import unit_of_work

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
# A button that opens a form, for commands typed where Slack gives no trigger_id (DMs, mentions).
OPEN_FORM_ACTION = "incubot.open_form"
LISTENER_THREADS = 4  # Bolt's own pool: with process_before_response it only runs lazy listeners (none)
# The work after an ack (handlers, answers, Web API calls) has its own few threads: Bolt's listener
# threads then only ack, and a burst of slow commands never queues an ack behind them.
WORK_THREADS = 2
WORK_NICENESS = 10  # see _lower_priority
MAX_RETRY_AFTER = 60.0

log = logging.getLogger("incubot.slack")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


# --------------------------------------------------------------------------- Web API client


class _SleepInjected(RetryHandler):
    """Retry handlers whose pause is injectable: tests check the pause, they do not take it."""

    sleep: Callable[[float], None] = staticmethod(time.sleep)  # type: ignore[assignment]


class RetryAfterHandler(RateLimitErrorRetryHandler, _SleepInjected):
    """429 → wait what ``Retry-After`` says (bounded), then send again: no message lost to a rate limit."""

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        text = (header[0] if isinstance(header, list) and header else header) or "1"
        try:
            seconds = float(str(text))
        except ValueError:
            seconds = 1.0
        self.sleep(min(max(seconds, 0.0), MAX_RETRY_AFTER))
        state.increment_current_attempt()


class ServerErrorHandler(ServerErrorRetryHandler, _SleepInjected):
    """500/503 → back off (slack-sdk's interval calculator) and send again."""

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self.sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


def build_client(settings: Settings) -> WebClient:
    """The Web API client, on ``SLACK_API_URL``, retrying rate limits and server errors."""
    # slack-sdk joins method names to the base URL: without its final "/", ".../api" + "chat.update" loses "api".
    base_url = settings.slack_api_url.rstrip("/") + "/"
    client = WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=15)
    client.retry_handlers.append(RetryAfterHandler(max_retry_count=3))
    client.retry_handlers.append(ServerErrorHandler(max_retry_count=2))
    return client


# --------------------------------------------------------------------------- background work


class AcksFirst:
    """Acks have a 3-second deadline, answers a 30-minute one: work waits while Slack waits for an ack.

    The HTTP endpoint counts the requests being acked; a work thread about to start waits
    until none is in flight, at most ``max_wait`` (so a long burst delays answers a little,
    never forever). Python threads share one interpreter lock: without this, a burst of
    ``budget`` answers being computed would slow down the acks of the requests behind them.
    """

    def __init__(self, max_wait: float = 0.1) -> None:
        self.max_wait = max_wait
        self._idle = threading.Condition()
        self._in_flight = 0

    def enter(self) -> None:
        with self._idle:
            self._in_flight += 1

    def leave(self) -> None:
        with self._idle:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    def wait(self) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=self.max_wait)


# --------------------------------------------------------------------------- courier sender


class SlackSender(PlatformAddresses):
    """The courier's Slack side: direct messages, channel posts, updates in place."""

    platform = PLATFORM

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post_direct(self, user: str, reply: Reply) -> Posted:
        opened = self.client.conversations_open(users=user)
        return self.post_channel(opened["channel"]["id"], reply)

    def post_channel(self, channel: str, reply: Reply) -> Posted:
        posted = self.client.chat_postMessage(channel=channel, **render.message(reply))
        return Posted(posted["channel"], posted["ts"])

    def update(self, channel: str, message_id: str, reply: Reply) -> None:
        self.client.chat_update(channel=channel, ts=message_id, **render.message(reply))


# --------------------------------------------------------------------------- the Bolt app


@dataclass
class SlackWiring:
    """The Bolt app of one runtime, its client, executors and courier sender."""

    runtime: Runtime
    app: App
    client: WebClient
    sender: SlackSender
    listeners: TrackedExecutor
    work: TrackedExecutor
    delivery: BackgroundDelivery
    acks: AcksFirst

    def join(self, timeout: float = 30.0) -> None:
        """Wait until listeners, the work after acks and deliveries have finished (tests; a graceful stop)."""
        for _ in range(3):  # a listener hands work over, which kicks a delivery, which finishes last
            self.listeners.join(timeout)
            self.work.join(timeout)
            self.delivery.executor.join(timeout)

    def later(self, fn: Callable[..., None], /, *args: Any) -> None:
        """Run ``fn`` after the ack, on the work threads; a failure is logged with its traceback."""
        self.work.submit(self._logged, fn, *args)

    def _logged(self, fn: Callable[..., None], *args: Any) -> None:
        self.acks.wait()
        try:
            fn(*args)
        except Exception:
            log.exception("slack: work after the ack failed (%s)", getattr(fn, "__name__", fn))

    # ------------------------------------------------------------------ helpers

    @property
    def t(self) -> Callable[..., str]:
        return self.runtime.services.t

    def _first_time(self, body: dict[str, Any]) -> bool:
        """Slack retries events it thinks we missed: handle each ``event_id`` once."""
        event_id = body.get("event_id")
        if not event_id:
            return True
        with unit_of_work(self.runtime.services.sessions) as session:
            return outbox.first_time_seen(session=session, platform=PLATFORM, event_id=str(event_id)[:100],
                                          now=self.runtime.services.clock())

    def _open_form(self, client: WebClient, trigger_id: str | None, form: Form, origin: dict[str, str]) -> bool:
        if not trigger_id:
            return False
        try:
            client.views_open(trigger_id=trigger_id,
                              view=render.modal(form, cancel_label=self.t("Annuler"), origin=origin))
        except SlackApiError as exc:  # the trigger expires after 3 s
            log.warning("views.open failed: %s", exc.response.get("error") if exc.response else exc)
            return False
        return True

    def _form_button(self, reply: Reply, command: str) -> Reply:
        """Where Slack gives no trigger_id, a button opens the form (its click brings one)."""
        return Reply(reply.text, reply.facts,
                     (Button(reply.form.title if reply.form else self.t("Ouvrir le formulaire"),
                             OPEN_FORM_ACTION, command[:2000], "primary"),),
                     None, reply.public)

    def _dm(self, client: WebClient, user: str, reply: Reply) -> None:
        client.chat_postMessage(channel=user, **render.message(reply))

    # ------------------------------------------------------------------ slash command

    def on_command(self, ack: Callable[..., None], body: dict[str, Any], respond: Callable[..., Any],
                   client: WebClient) -> None:
        ack()
        self.later(self._command, body, respond, client)

    def _command(self, body: dict[str, Any], respond: Callable[..., Any], client: WebClient) -> None:
        user, channel = body["user_id"], body.get("channel_id")
        text = render.unescape(body.get("text") or "")
        reply = self.runtime.bot.message(Request(PLATFORM, user, text, channel))
        if reply.form is not None:
            if self._open_form(client, body.get("trigger_id"), reply.form, {"channel": channel or ""}):
                return
            reply = self._form_button(reply, text)
        respond(**render.message(reply), response_type="in_channel" if reply.public else "ephemeral")

    # ------------------------------------------------------------------ events

    def on_message(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        self.later(self._direct_message, event, body, client)

    def _direct_message(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if self._first_time(body):
            self._answer(client, event, render.unescape(event.get("text") or ""), direct=True)

    def on_mention(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("bot_id") or not event.get("user"):
            return
        self.later(self._mention, event, body, client)

    def _mention(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if self._first_time(body):
            text = _MENTION.sub(" ", event.get("text") or "", count=1).strip()
            self._answer(client, event, render.unescape(text), direct=False)

    def _answer(self, client: WebClient, event: dict[str, Any], text: str, *, direct: bool) -> None:
        user, channel = event["user"], event["channel"]
        reply = self.runtime.bot.message(Request(PLATFORM, user, text, channel))
        if reply.form is not None:
            reply = self._form_button(reply, text)
        if direct:
            client.chat_postMessage(channel=channel, **render.message(reply))
        elif reply.public:
            client.chat_postMessage(channel=channel, thread_ts=event.get("thread_ts") or event.get("ts"),
                                    **render.message(reply))
        else:
            client.chat_postEphemeral(channel=channel, user=user, **render.message(reply))

    def on_home(self, event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        self.later(self.publish_home, client, event["user"])

    def publish_home(self, client: WebClient, user: str) -> None:
        """What waits for me, the budget, the next committee: the same commands as in chat."""
        sections: list[tuple[str, Reply]] = []
        for title, command in ((self.t("Ce qui vous attend"), "en-attente"),
                               (self.t("Budget"), "budget"),
                               (self.t("Prochain comité"), "comite")):
            reply = self.runtime.bot.message(Request(PLATFORM, user, command))
            if sections and reply.text == sections[-1][1].text:  # a stranger: one explanation is enough
                continue
            sections.append((title, reply))
        client.views_publish(user_id=user, view=render.home_view(sections))

    # ------------------------------------------------------------------ buttons

    def on_action(self, ack: Callable[..., None], body: dict[str, Any], respond: Callable[..., Any],
                  client: WebClient) -> None:
        user = body["user"]["id"]
        clicked = (body.get("actions") or [{}])[0]
        action = render.neutral_action(clicked.get("action_id", ""))
        value = clicked.get("value") or ""
        if action == OPEN_FORM_ACTION:
            ack()
            self.later(self._open_form_clicked, body, respond, client, value)
            return
        # Slack never resends a click: decide (one short transaction) *before* the ack, so a click
        # Slack showed as accepted is a committed decision even if the process dies right after.
        result = self.runtime.bot.action(Action(PLATFORM, user, action, value))
        ack()
        self.later(self._show_click_result, body, respond, client, result)

    def _open_form_clicked(self, body: dict[str, Any], respond: Callable[..., Any], client: WebClient,
                           command: str) -> None:
        user, channel = body["user"]["id"], self._channel_of(body)
        reply = self.runtime.bot.message(Request(PLATFORM, user, command, channel or None))
        if reply.form is not None and self._open_form(client, body.get("trigger_id"), reply.form,
                                                      {"channel": channel}):
            return
        self._tell(client, body, respond, user, reply)

    @staticmethod
    def _channel_of(body: dict[str, Any]) -> str:
        container = body.get("container") or {}
        return str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")

    def _show_click_result(self, body: dict[str, Any], respond: Callable[..., Any], client: WebClient,
                           result: ActionResult) -> None:
        user, channel = body["user"]["id"], self._channel_of(body)
        container = body.get("container") or {}
        if result.form is not None and not self._open_form(client, body.get("trigger_id"), result.form,
                                                           {"channel": channel}):
            self._tell(client, body, respond, user,
                       Reply(self.t("Le formulaire n'a pas pu s'ouvrir : cliquez à nouveau.")))
        if result.update is not None:
            if container.get("type") == "view":  # a button of the App Home
                self.publish_home(client, user)
            elif container.get("is_ephemeral") or not container.get("message_ts"):
                respond(**render.message(result.update), replace_original=True)
            else:
                client.chat_update(channel=channel, ts=container["message_ts"], **render.message(result.update))
        if result.reply is not None:
            self._tell(client, body, respond, user, result.reply)

    def _tell(self, client: WebClient, body: dict[str, Any], respond: Callable[..., Any], user: str,
              reply: Reply) -> None:
        """Only the clicker sees it: ephemeral where the click happened, else a direct message."""
        if body.get("response_url"):
            respond(**render.message(reply), response_type="ephemeral", replace_original=False)
        else:
            self._dm(client, user, reply)

    # ------------------------------------------------------------------ modals

    def on_submission(self, ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any],
                      client: WebClient) -> None:
        user = body["user"]["id"]
        meta = render.modal_metadata(view)
        result = self.runtime.bot.submit(
            Submission(PLATFORM, user, meta["callback"], meta["value"], render.submitted_values(view))
        )
        if result.errors:
            ack(response_action="errors", errors=render.field_errors(result.errors, view))
            return
        ack()  # the modal closes when this listener returns: posting the reply comes after
        # result.update needs nothing here: the courier updates every copy of the subject.
        if result.reply is not None:
            self.later(self._ephemeral, client, meta.get("channel") or "", user, result.reply)

    def _ephemeral(self, client: WebClient, channel: str, user: str, reply: Reply) -> None:
        """Only ``user`` sees it, where the form came from; a direct message where the bot may not post."""
        if channel:
            try:
                client.chat_postEphemeral(channel=channel, user=user, **render.message(reply))
                return
            except SlackApiError as exc:  # not_in_channel, channel_not_found: the bot is not there
                log.info("ephemeral in %s refused (%s): direct message instead", channel,
                         exc.response.get("error") if exc.response else exc)
        self._dm(client, user, reply)

    def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("slack listener failed (type=%s)", body.get("type") or body.get("command"), exc_info=error)


class _ClientGiven(logging.Filter):
    """Bolt warns that ``SLACK_BOT_TOKEN`` is unused when a client is given: it is the client's token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(settings: Settings, client: WebClient, executor: TrackedExecutor, *, socket_mode: bool) -> App:
    """The Bolt app. Built by this factory only (its constructor calls ``auth.test``)."""
    if not socket_mode and not settings.slack_signing_secret:
        raise ConfigError("Slack en HTTP a besoin de SLACK_SIGNING_SECRET pour vérifier les requêtes.")
    bolt_log = logging.getLogger("incubot.slack.bolt")
    if not any(isinstance(f, _ClientGiven) for f in bolt_log.filters):
        bolt_log.addFilter(_ClientGiven())
    return App(
        token=settings.slack_bot_token,
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # In Socket Mode nothing arrives over HTTP: the WebSocket is authenticated by the app token.
        request_verification_enabled=not socket_mode,
        # Listeners ack, hand the work to `SlackWiring.later` and return: the ack goes out as soon as the
        # listener returns, without Bolt's 10 ms ack polling and without a hop through its thread pool.
        process_before_response=True,
        listener_executor=executor,
        logger=bolt_log,
        name="incubot",
    )


def install(runtime: Runtime, *, socket_mode: bool = False) -> SlackWiring:
    """Build the Slack side of ``runtime`` once: Bolt app, listeners, courier sender, background delivery."""
    for sender in runtime.courier.senders:
        if isinstance(sender, SlackSender) and getattr(sender, "wiring", None) is not None:
            return sender.wiring  # type: ignore[no-any-return, attr-defined]
    settings = runtime.settings
    client = build_client(settings)
    listeners = TrackedExecutor(LISTENER_THREADS, "incubot-slack")
    app = build_app(settings, client, listeners, socket_mode=socket_mode)
    sender = SlackSender(client)
    delivery = runtime.deliver_in_background(niceness=WORK_NICENESS)
    work = TrackedExecutor(WORK_THREADS, "incubot-work", niceness=WORK_NICENESS)
    wiring = SlackWiring(runtime, app, client, sender, listeners, work, delivery, AcksFirst())
    sender.wiring = wiring  # type: ignore[attr-defined]
    app.command(re.compile(r"^/"))(wiring.on_command)
    app.action(re.compile(r".+"))(wiring.on_action)
    app.view_submission(re.compile(r".+"))(wiring.on_submission)
    app.event("message")(wiring.on_message)
    app.event("app_mention")(wiring.on_mention)
    app.event("app_home_opened")(wiring.on_home)
    app.error(wiring.on_error)
    runtime.add_sender(sender)
    return wiring


def routes(runtime: Runtime) -> list[BaseRoute]:
    """``POST /slack/events`` for the Starlette app of ``incubot serve``."""
    wiring = install(runtime)
    endpoint = SlackEndpoint(wiring)
    return [Route(EVENTS_PATH, endpoint.handle, methods=["POST"])]


class SlackEndpoint:
    def __init__(self, wiring: SlackWiring) -> None:
        self.wiring = wiring

    async def handle(self, request: HTTPRequest) -> Response:
        body = await request.body()
        self.wiring.acks.enter()
        try:
            # Bolt is synchronous (signature check, listeners): keep it off the event loop.
            bolt_response = await run_in_threadpool(self.wiring.app.dispatch, to_bolt_request(request, body))
        finally:
            self.wiring.acks.leave()
        return to_starlette_response(bolt_response)


def start_socket_mode(runtime: Runtime) -> Any:
    """Connect to Slack over a WebSocket (``SLACK_APP_TOKEN``); returns the running handler."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    wiring = install(runtime, socket_mode=True)
    handler = SocketModeHandler(wiring.app, runtime.settings.slack_app_token)
    handler.connect()  # background threads; `incubot serve` keeps serving HTTP (/healthz, /stats, Mattermost)
    log.info("slack: socket mode connected")
    return handler
