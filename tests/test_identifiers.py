"""Identifiers are names, not strings retyped in several files: buttons and forms come from one
enum, platforms from another, and a Matrix id of the reference file is someone the core knows."""

from __future__ import annotations

from handlers.actions import ActionId
from handlers.markup import plain
from handlers.registry import register_all
from handlers.types import Request
from storage.platforms import CHAT_PLATFORMS, PlatformName
from tests.chat import say

LEA_ON_MATRIX = "@lea.dupont-example.org:tchap.example.org"  # her matrix_id in bot/demo.toml


def test_every_button_and_form_id_is_registered_under_its_enum_name() -> None:
    """What a card's buttons and forms name is exactly what the registry answers to: nothing is spelt twice."""
    registry = register_all()
    assert set(registry.actions) | set(registry.forms) == set(ActionId)
    assert all(isinstance(key, ActionId) for key in [*registry.actions, *registry.forms])


def test_the_reference_file_knows_each_chat_platform_once() -> None:
    """slack, mattermost and matrix, each with one `<name>_id` key; the console has no account."""
    assert [p.name for p in CHAT_PLATFORMS] == [PlatformName.SLACK, PlatformName.MATTERMOST, PlatformName.MATRIX]
    assert [p.account_key for p in CHAT_PLATFORMS] == ["slack_id", "mattermost_id", "matrix_id"]


def test_a_quote_submitted_from_tchap_is_traced_as_such(bot) -> None:  # type: ignore[no-untyped-def]
    """Léa, known by her Matrix id, submits a quote; its history says it came from Tchap."""
    said = plain(bot.message(Request(PlatformName.MATRIX, LEA_ON_MATRIX, "devis dedale; 1000; Arawa; Audit")).text)
    assert "D-2026-0001" in said
    assert "devis soumis par Léa Dupont (Tchap)" in say(bot, "lea.dupont", "historique D-2026-0001")
    stranger = plain(bot.message(Request(PlatformName.MATRIX, "@lea.dupont:elsewhere.example", "budget")).text)
    assert "Je ne vous connais pas encore" in stranger
