"""Every sentence the bot can say is in the catalogs, with real plural forms, and English is a working setting."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.i18n import EXTRACT_KEYWORDS, Translator, catalog_path

ROOT = Path(__file__).resolve().parents[1]
UPDATE_HINT = ("run the two commands of README « Traductions » (pybabel extract, pybabel update), "
               "then give each new msgid its English msgstr in handlers/locales/en/LC_MESSAGES/messages.po")


def extracted() -> dict[str | tuple[str, ...], str]:
    """What `pybabel extract` finds in bot/ and handlers/ (msgid, or (singular, plural)) → "file:line"."""
    found: dict[str | tuple[str, ...], str] = {}
    for folder in ("bot", "handlers"):
        messages: Iterator[tuple[str, int, str | tuple[str, ...], list[str], str | None]] = extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=EXTRACT_KEYWORDS)
        for filename, lineno, message, _comments, _context in messages:
            found.setdefault(message if isinstance(message, str) else tuple(message), f"{folder}/{filename}:{lineno}")
    return found


def catalog(language: str) -> dict[str | tuple[str, ...], str | tuple[str, ...]]:
    with open(catalog_path(language), "rb") as po:
        return {m.id if isinstance(m.id, str) else tuple(m.id): m.string for m in read_po(po) if m.id}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_extraction_finds_the_sentences_it_should() -> None:
    """pybabel's extraction sees t(…), ctx.t(…), N_(…) in tables and Command usages, and plural pairs."""
    found = extracted()
    assert "Le motif est obligatoire." in found  # ctx.t(…)
    assert "Ce bouton n'est plus valable." in found  # self.t(…)
    assert "budget [ANNÉE] [STARTUP]" in found  # N_(…) in a Command
    assert "en attente" in found  # N_(…) in STATUS_FR
    assert ("{n} service fait", "{n} services faits") in found  # t.plural(…)
    assert len(found) > 150


@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_catalog_holds_exactly_what_the_code_says(language: str) -> None:
    """The catalog of each language has every extracted sentence and nothing the code no longer says."""
    found, held = extracted(), catalog(language)
    missing = {m: where for m, where in found.items() if m not in held}
    stale = [m for m in held if m not in found]
    assert not missing, UPDATE_HINT + ":\n" + "\n".join(f"  {w}: {m!r}" for m, w in missing.items())
    assert not stale, f"obsolete in {language}: {stale} — {UPDATE_HINT}"


def test_every_sentence_has_its_english_version_with_the_same_placeholders() -> None:
    """Each msgid has a non-empty English msgstr (every plural form) using exactly its {placeholders}."""
    for message, translation in catalog("en").items():
        sources = [message] if isinstance(message, str) else list(message)
        forms = [translation] if isinstance(translation, str) else list(translation)
        assert all(forms), f"untranslated: {message!r} — {UPDATE_HINT}"
        for form in forms:
            assert placeholders(form) <= set().union(*(placeholders(s) for s in sources)) | {"n"}, (message, form)
            if isinstance(message, str):
                assert placeholders(form) == placeholders(message), (message, form)


def test_the_french_catalog_holds_every_plural_form() -> None:
    """French is the source language, but its catalog carries the plural pairs: without them gettext would
    fall back to the English rule and say « 0 services faits »."""
    plurals = {m: s for m, s in catalog("fr").items() if isinstance(m, tuple)}
    assert plurals and all(tuple(s) == m for m, s in plurals.items()), UPDATE_HINT


def test_french_plurals_follow_french_rules() -> None:
    """French says « 0 service fait », « 1 service fait », « 2 services faits »; English « 1 quote », « 0 quotes »."""
    fr, en = Translator("fr"), Translator("en")
    assert [fr.plural("{n} service fait", "{n} services faits", n) for n in (0, 1, 2)] == [
        "0 service fait", "1 service fait", "2 services faits"]
    assert [en.plural("{n} devis", "{n} devis", n) for n in (0, 1, 2)] == ["0 quotes", "1 quote", "2 quotes"]


def test_english_versions_are_english() -> None:
    """No English entry is left as the French sentence (a copy-paste is not a translation)."""
    french = re.compile(r"[éèêàçù]|\b(le|la|les|des|du|est|sont|pour|avec|dans|sur|aucun|aucune)\b", re.IGNORECASE)
    copied = [m for m, s in catalog("en").items() if m == s and isinstance(m, str) and french.search(m)]
    assert not copied, copied


@pytest.mark.parametrize(("language", "money", "percent"), [("fr", "1 500 000,00 €", "25 %"),
                                                            ("en", "€1,500,000.00", "25%")])
def test_money_and_percentages_are_formatted_the_way_of_the_language(language: str, money: str,
                                                                    percent: str) -> None:
    """Amounts and shares read the French way in French and the English way in English."""
    t = Translator(language)
    assert t.money(150_000_000) == money
    assert t.percent(1, 4) == percent


def test_english_setting_makes_help_and_budget_answer_in_english(engine, world, clock) -> None:  # type: ignore[no-untyped-def]
    """With INCUBOT_LANGUAGE=en, `aide` and `budget` answer in English with English money formatting."""
    from bot.compose import compose
    from bot.config import Settings
    from handlers.types import Request

    settings = Settings.from_env({"INCUBOT_LANGUAGE": "en", "DATABASE_URL": str(engine.url)})
    bot = compose(settings, clock=clock, engine=engine, migrate=False, plugs=()).runtime.bot

    help_text = bot.message(Request("console", "lea.dupont", "aide")).text
    assert "Hello Léa Dupont! I'm incubot" in help_text
    assert "coach of Dédale" in help_text and "quote STARTUP; AMOUNT; SUPPLIER; SUBJECT" in help_text
    assert "Bonjour" not in help_text and "Vos rôles" not in help_text

    budget = bot.message(Request("console", "camille.martin", "budget")).text
    assert "allocated €1,500,000.00" in budget and "available €1,700,000.00" in budget
    assert "**By startup**" in budget
    assert "allouées" not in budget and "1 500 000,00 €" not in budget


def test_french_typography_first_of_the_month_elision_and_hours() -> None:
    """« 1er décembre 2026 », « coach d'Archives Ouvertes » but « coach de Dédale », « 5 nov. 2026 à 10 h 00 »;
    English keeps « 1 December 2026 » and « 10:00 »."""
    from datetime import UTC, date, datetime

    fr, en = Translator("fr"), Translator("en")
    assert fr.date(date(2026, 12, 1)) == "1er décembre 2026" and fr.date(date(2026, 12, 5)) == "5 décembre 2026"
    assert en.date(date(2026, 12, 1)) == "1 December 2026"
    assert fr.datetime(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)) == "5 nov. 2026 à 10 h 00"
    assert fr.datetime(datetime(2026, 12, 1, 8, 5, tzinfo=UTC)) == "1er déc. 2026 à 9 h 05"
    assert en.datetime(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)) == "5 Nov 2026 10:00"
    assert fr("{role} de {startup}", role="coach", startup="Archives Ouvertes") == "coach d'Archives Ouvertes"
    assert fr("{role} de {startup}", role="coach", startup="Dédale") == "coach de Dédale"
    assert fr("{role} de {startup}", role="coach", startup="Euphrosyne") == "coach d'Euphrosyne"
    assert fr("{role} de {startup}", role="coach", startup="Hachette") == "coach de Hachette"  # h: left alone
    assert fr("Le détail de {startup} est réservé à son équipe et aux gestionnaires.", startup="Ouvrages") \
        .startswith("Le détail d'Ouvrages")
    assert en("{role} de {startup}", role="coach", startup="Archives Ouvertes") == "coach of Archives Ouvertes"
