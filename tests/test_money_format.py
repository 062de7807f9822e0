"""Amounts and percentages read exactly as Babel writes them, built from patterns parsed once."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_percent

from handlers.i18n import Translator

EDGES = [0, 1, -1, 5, 9, 10, 99, 100, -100, 101, 999, 1000, 99_999, 100_000, -100_000, 123_456_789,
         -123_456_789, 150_000_000, 10**15 + 7, -(10**15), 10**20 + 1]


def babel_money(t: Translator, cents: int) -> str:
    return format_currency(Decimal(cents) / 100, "EUR", locale=t.locale).replace("\u202f", " ").replace("\u00a0", " ")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_money_is_what_format_currency_writes(language: str) -> None:
    """Small, large and negative amounts read, character for character, as Babel's format_currency writes them."""
    t = Translator(language)
    draw = random.Random(9)
    amounts = EDGES + [draw.randint(-10**14, 10**14) for _ in range(3000)] + [draw.randint(-10**5, 10**5)
                                                                               for _ in range(3000)]
    for cents in amounts:
        assert t.money(cents) == babel_money(t, cents), cents


def test_money_reads_as_the_bot_writes_it() -> None:
    """A million and a half euros reads « 1 500 000,00 € » in French and « €1,500,000.00 » in English."""
    assert Translator("fr").money(150_000_000) == "1 500 000,00 €"
    assert Translator("fr").money(-123_456) == "-1 234,56 €"
    assert Translator("en").money(150_000_000) == "€1,500,000.00"
    assert Translator("en").money(-123_456) == "-€1,234.56"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_percent_is_what_format_percent_writes(language: str) -> None:
    """A share reads as Babel's format_percent writes it with the bot's pattern (« 25 % », « 25% »)."""
    t = Translator(language)
    pattern = "#,##0 %" if language == "fr" else "#,##0%"
    for part, whole in [(0, 1), (1, 4), (1, 3), (2, 3), (5, 1), (1234, 10), (999, 1000), (1, 1000)]:
        expected = format_percent(Decimal(part) / Decimal(whole), format=pattern, locale=t.locale)
        assert t.percent(part, whole) == expected.replace("\u202f", " ").replace("\u00a0", " ")
    assert t.percent(1, 0) == "—"


def test_a_queued_reply_is_what_to_dict_gives() -> None:
    """A card put in the outbox is stored as Reply.to_dict() gives it, facts and buttons in order."""
    from handlers.notify import _reply_dict
    from handlers.types import Button, Fact, Reply

    reply = Reply("**Devis D-2026-0001**", facts=(Fact("Montant", "10,00 €"), Fact("Objet", "Lot")),
                  buttons=(Button("Valider", "quote.validate", "D-2026-0001", "primary"),), public=True)
    assert _reply_dict(reply) == reply.to_dict()
    assert _reply_dict(Reply("ok")) == Reply("ok").to_dict()


@pytest.mark.parametrize(("cents", "text"), [(0, "0.00"), (5, "0.05"), (150_000_000, "1500000.00"), (-5, "-0.05"),
                                             (-1, "-0.01"), (-150_050, "-1500.50"), (-100, "-1.00")])
def test_files_write_exact_decimal_euros_with_their_sign(cents: int, text: str) -> None:
    """The one formatter of the export, the report's files, `budget --json` and /stats.json keeps the sign:
    -5 cents is « -0.05 » (the export's own copy used to write « -1.95 »)."""
    from handlers import export
    from handlers.documents import text as documents
    from handlers.money import decimal_euros

    assert decimal_euros(cents) == text
    assert Decimal(text) * 100 == cents
    assert export._flat(cents, "euros") == text and export._flat(None, "euros") == ""
    assert documents.decimal_euros is decimal_euros  # the report's and every document's CSV
