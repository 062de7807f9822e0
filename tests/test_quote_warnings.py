"""At submission the bot warns about what will bite later, and asks when the form contradicts itself."""

from __future__ import annotations

from handlers.core import Bot
from handlers.markup import plain
from handlers.types import Submission
from tests.chat import say


def quotes_of(bot: Bot) -> int:
    return say(bot, "camille.martin", "en-attente").count("• D-")


def test_an_identical_quote_within_30_days_is_flagged_but_recorded(bot: Bot) -> None:
    """The same startup, supplier and amount twice: the second is recorded, with a warning naming the first."""
    first = say(bot, "lea.dupont", "devis dedale; 5000; Scopyleft; Sprint 1")
    second = say(bot, "lea.dupont", "devis dedale; 5 000 €; scopyleft; Sprint 1 bis")
    ref = next(word for word in first.replace(".", " ").split() if word.startswith("D-"))
    assert "enregistré" in second and f"Un devis identique ({ref}, même startup" in second
    assert "doublon" not in first
    assert quotes_of(bot) == 2


def test_a_quote_beyond_what_is_left_of_the_years_ae_is_recorded_with_a_warning(bot: Bot) -> None:
    """1 600 000 € when the year's AE are 1 500 000 €: recorded, and the submitter is told validation will fail."""
    said = say(bot, "lea.dupont", "devis dedale; 1600000; Scopyleft; Tout")
    assert "enregistré" in said and "Ce montant dépasse ce qui reste des AE 2026 (1 500 000,00 €)" in said


def test_an_ordinary_quote_gets_no_warning(bot: Bot) -> None:
    """A first quote well within the year's AE: no warning at all."""
    assert "⚠️" not in say(bot, "lea.dupont", "devis dedale; 5000; Scopyleft; Sprint 1")


def test_ht_typed_then_ttc_chosen_is_asked_not_guessed(bot: Bot) -> None:
    """« 12 500 HT » in the amount with « TTC » chosen: the tax field is refused, nothing is stored."""
    result = bot.submit(Submission("console", "lea.dupont", "quote.submit", "",
                                   {"startup": "dedale", "amount": "12 500 HT", "tax": "TTC",
                                    "supplier": "Scopyleft", "object": "Sprint 7"}))
    assert set(result.errors) == {"tax"}
    assert "Le montant est écrit « HT » mais vous avez choisi TTC" in result.errors["tax"]
    assert quotes_of(bot) == 0


def test_ht_typed_and_ht_chosen_agree(bot: Bot) -> None:
    """« 12 500 HT » with « HT » chosen: 15 000 € TTC recorded."""
    result = bot.submit(Submission("console", "lea.dupont", "quote.submit", "",
                                   {"startup": "dedale", "amount": "12 500 HT", "tax": "HT",
                                    "supplier": "Scopyleft", "object": "Sprint 7"}))
    assert not result.errors and "15 000,00 €" in plain(result.text)
