"""The Matrix test harness on a real Synapse: what the Matrix platform's tests will lean on."""

from __future__ import annotations

import pytest

from tests.synapse import MatrixError, Synapse


def test_homeserver_answers_on_loopback(synapse: Synapse) -> None:
    """The session's homeserver listens on 127.0.0.1 only and speaks a recent client-server API."""
    assert synapse.base_url.startswith("http://127.0.0.1:")
    versions = synapse.http.get("/_matrix/client/versions").json()["versions"]
    assert "v1.11" in versions
    assert synapse.proc.poll() is None


def test_direct_room_message_and_reaction(matrix_people) -> None:  # type: ignore[no-untyped-def]
    """Claire opens a direct room with Bruno, he joins, and her message and his ✅ reaction reach the other."""
    claire, bruno = matrix_people("claire"), matrix_people("bruno")

    room = claire.create_dm(bruno.user_id)
    invite = bruno.wait_for_invite(room)
    assert invite.sender == claire.user_id
    assert invite.content["is_direct"] is True

    bruno.join(room)
    claire.wait_for_join(room, bruno.user_id)

    message = claire.send_text(room, "budget", html="<b>budget</b>")
    seen = bruno.wait_for_message(room, sender=claire.user_id, body="budget")
    assert seen.event_id == message
    assert seen.content["formatted_body"] == "<b>budget</b>"

    reaction = bruno.react(room, message, "✅")
    got = claire.wait_for(lambda e: e.type == "m.reaction" and e.sender == bruno.user_id, what="a reaction")
    assert got.event_id == reaction
    assert got.relates_to == {"rel_type": "m.annotation", "event_id": message, "key": "✅"}


def test_reply_and_edit_are_seen(matrix_people) -> None:  # type: ignore[no-untyped-def]
    """A reply names the event it answers, and an in-place edit (m.replace) reaches the other with its new text."""
    bot, claire = matrix_people("bot"), matrix_people("claire")
    room = bot.create_dm(claire.user_id)
    claire.join(room)
    bot.wait_for_join(room, claire.user_id)

    request = bot.send_text(room, "Devis DEV-2026-001 : 12 500,00 €")
    claire.wait_for_message(room, body="Devis DEV-2026-001 : 12 500,00 €")
    answer = claire.send_text(room, "vu", reply_to=request)
    reply = bot.wait_for_message(room, sender=claire.user_id, body="vu")
    assert reply.event_id == answer
    assert reply.relates_to == {"m.in_reply_to": {"event_id": request}}

    bot.edit(room, request, "Devis DEV-2026-001 : validé par Claire")
    edit = claire.wait_for(lambda e: e.relates_to.get("rel_type") == "m.replace", what="an edit")
    assert edit.relates_to["event_id"] == request
    assert edit.content["m.new_content"]["body"] == "Devis DEV-2026-001 : validé par Claire"


def test_rate_limit_override_gives_a_real_429(synapse: Synapse, matrix_people) -> None:  # type: ignore[no-untyped-def]
    """A sender with a lowered rate limit meets 429 M_LIMIT_EXCEEDED and retry_after_ms, and sends once it is lifted."""
    bot, claire = matrix_people("bot"), matrix_people("claire")
    room = bot.create_dm(claire.user_id)
    synapse.override_ratelimit(bot.user_id, messages_per_second=1, burst_count=3)

    with pytest.raises(MatrixError) as refused:
        for n in range(20):
            bot.send_text(room, f"message {n}")
    assert refused.value.status == 429
    assert refused.value.errcode == "M_LIMIT_EXCEEDED"
    assert refused.value.retry_after_ms is not None and 0 < refused.value.retry_after_ms <= 5000

    synapse.clear_ratelimit_override(bot.user_id)
    assert bot.send_text(room, "encore là").startswith("$")


def test_sync_token_resumes_without_repeating(matrix_people) -> None:  # type: ignore[no-untyped-def]
    """A sync from a saved next_batch token brings only what came after it, nothing twice."""
    claire, bruno = matrix_people("claire"), matrix_people("bruno")
    room = claire.create_dm(bruno.user_id)
    bruno.wait_for_invite(room)
    bruno.join(room)
    claire.send_text(room, "premier")
    bruno.wait_for_message(room, body="premier")
    token = bruno.since

    claire.send_text(room, "second")
    bruno.wait_for_message(room, body="second")

    bruno.since, bruno.pending = token, []  # a restart from the stored token
    bruno.wait_for_message(room, body="second")
    assert not [e for e in bruno.pending if e.content.get("body") == "premier"]
