"""French spaces, one rule everywhere: every French sentence writes an ordinary space before « ; : ! ? »
and inside « »; by default (INCUBOT_TYPOGRAPHY=plain) the bot says them so, amounts and times included;
with INCUBOT_TYPOGRAPHY=fine they become French typography's no-break spaces, in its words only."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from bot.config import ConfigError, Settings
from handlers.i18n import NARROW_NBSP, NBSP, Translator, catalog_path
from handlers.money import parse_amount
from handlers.types import Request
from tests.chat import runtime_of

NO_BREAK = re.compile(f"[{NBSP}{NARROW_NBSP}]")
AT = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def _sentences(language: str) -> list[str]:
    with open(catalog_path(language), "rb") as po:
        catalog = read_po(po)
    found: list[str] = []
    for message in catalog:
        if message.id:
            texts = message.string if language == "en" else message.id
            found += list(texts) if isinstance(texts, tuple) else [texts]
    return [text for text in found if text]


def _prose(sentence: str) -> str:
    """The sentence without what is not French prose: values, addresses, times, commands shown as examples."""
    sentence = re.sub(r"\{[^}]*\}", "X", sentence)
    sentence = re.sub(r"\w[\w+]*://\S*|%[0-9A-F]{2}|\b\d\d:\d\d\b|HH:MM", "", sentence)
    return re.sub(r"[«“\"]\s?:\w+", "", sentence)  # « :as julien.moreau », a console command


def test_every_french_sentence_spaces_its_punctuation_and_guillemets_with_one_ordinary_space() -> None:
    """« Montant : », « ; », « ! », « ? » and « … » in every msgid: one ordinary space, never a no-break one
    (a field separator in a command shown as an example, « devis dedale; 3000 », is not punctuation)."""
    sentences = _sentences("fr")
    assert len(sentences) > 300
    unspaced = [s for s in sentences if re.search(r"\S[:!?](?=\s|$|[*)])", _prose(s))]
    guillemets = [s for s in sentences if re.search(r"«(?! )|(?<! )»", _prose(s))]
    no_break = [s for s in sentences if NO_BREAK.search(s)]
    assert (unspaced, guillemets, no_break) == ([], [], [])


def test_english_sentences_have_no_space_before_punctuation_and_no_guillemets() -> None:
    """The English catalog writes « Amount: », “quotes”, and no no-break space."""
    wrong = [s for s in _sentences("en") if re.search(r"\s[:;!?](?=\s|$)", _prose(s)) or "«" in s or "»" in s
             or NO_BREAK.search(s)]
    assert wrong == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_plain_typography_says_no_no_break_space(language: str) -> None:
    """Amounts, numbers, percentages, dates and times, and the sentences: ordinary spaces only."""
    t = Translator(language)
    said = [t.money(150_000_050), t.money(-5), t.number(1_234_567), t.percent(1, 4), t.date(AT.date()),
            t.datetime(AT), t.month(2026, 11), t("Essayez : « {x} » ; fin ! ok ?", x="a")]
    assert [s for s in said if NO_BREAK.search(s)] == []
    if language == "fr":
        assert said[:4] == ["1 500 000,50 €", "-0,05 €", "1 234 567", "25 %"]
        assert said[5] == "5 nov. 2026 à 10 h 00"


def test_the_fine_typography_puts_narrow_no_break_spaces_in_the_bots_words_only() -> None:
    """fine: U+202F before « ; : ! ? », inside « », between thousands and before « % »; U+00A0 before « € »
    (Babel's own amounts) and in « 10 h 00 »; what fills a sentence keeps its spaces."""
    t = Translator("fr", typography="fine")
    n = NARROW_NBSP
    assert t("Essayez : « {x} » ; fin ! ok ? (accessible ?)", x="a : b") == (
        f"Essayez{n}: «{n}a : b{n}»{n}; fin{n}! ok{n}? (accessible{n}?)")
    assert t("Essayez « :as julien.moreau »") == f"Essayez «{n}:as julien.moreau{n}»"  # a command stays whole
    assert t.money(150_000_050) == format_currency(Decimal("1500000.50"), "EUR", locale="fr_FR") == (
        f"1{n}500{n}000,50{NBSP}€")
    assert (t.number(1_234_567), t.percent(1, 4)) == (f"1{n}234{n}567", f"25{n}%")
    assert t.datetime(AT) == f"5 nov. 2026 à 10{NBSP}h{NBSP}00"
    assert parse_amount(t.money(150_000_050), t).cents == 150_000_050  # copied back from a message, it reads
    english = Translator("en", typography="fine")
    assert (english.money(150_000_050), english("Essayez : {x}", x="a")) == ("€1,500,000.50", "Essayez : a")


def test_the_typography_is_a_setting_and_the_bot_speaks_it(engine, world, clock) -> None:  # type: ignore[no-untyped-def]
    """INCUBOT_TYPOGRAPHY=fine reaches what the bot answers; plain is the default; anything else is refused."""
    assert Settings.from_env({}).typography == "plain"
    assert Settings.from_env({"INCUBOT_TYPOGRAPHY": "fine"}).typography == "fine"
    with pytest.raises(ConfigError, match="INCUBOT_TYPOGRAPHY vaut « plain » ou « fine », pas « fines »"):
        Settings.from_env({"INCUBOT_TYPOGRAPHY": "fines"})

    url = engine.url.render_as_string(hide_password=False)
    fine = runtime_of(engine, clock, settings=Settings(database_url=url, typography="fine")).bot
    said = fine.message(Request("console", "lea.dupont", "budget")).text
    assert f"1{NARROW_NBSP}500{NARROW_NBSP}000,00{NBSP}€" in said and not re.search(r"\d \d", said)
    plain = runtime_of(engine, clock).bot.message(Request("console", "lea.dupont", "budget")).text
    assert "1 500 000,00 €" in plain and not NO_BREAK.search(plain)
