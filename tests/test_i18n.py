"""Every French sentence of handlers/ has an English version, and English is a working setting."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from handlers.i18n import Translator
from handlers.i18n_en import ENGLISH

HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
TRANSLATING_OWNERS = {"ctx", "self", "services", "t"}  # t(…), ctx.t(…), self.t(…), services.t(…)


def _is_translation_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == "t"
    if isinstance(func, ast.Attribute) and func.attr == "t":
        owner = func.value
        while isinstance(owner, ast.Attribute):  # ctx.services.t(…)
            if owner.attr in TRANSLATING_OWNERS:
                return True
            owner = owner.value
        return isinstance(owner, ast.Name) and owner.id in TRANSLATING_OWNERS
    return False


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def french_sentences() -> dict[str, str]:
    """French sentence → "file:line" where it is passed to a translator (or kept in a *_FR table
    or a Command's usage/summary, which are translated when shown)."""
    found: dict[str, str] = {}
    for path in sorted(HANDLERS.glob("*.py")):
        if path.name == "i18n_en.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            texts: list[ast.AST] = []
            if isinstance(node, ast.Call) and node.args and _is_translation_call(node):
                texts = [node.args[0]]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Command":
                texts = list(node.args[3:5]) + [k.value for k in node.keywords if k.arg in ("usage", "summary")]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Flow":
                texts = list(node.args[6:8])
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                if isinstance(target, ast.Name) and target.id.endswith("_FR") and node.value is not None:
                    value = node.value
                    texts = list(value.values) if isinstance(value, ast.Dict) else list(getattr(value, "elts", []))
            for text in texts:
                literal = _literal(text)
                if literal is not None:
                    found.setdefault(literal, f"{path.name}:{getattr(text, 'lineno', '?')}")
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_scan_finds_the_sentences_it_should() -> None:
    """The scanner sees literal sentences in t(…), ctx.t(…), Command usages and *_FR tables."""
    found = french_sentences()
    assert "Le motif est obligatoire." in found  # ctx.t(…)
    assert "Ce bouton n'est plus valable." in found  # self.t(…)
    assert "Il manque le montant." in found  # t(…)
    assert "budget [ANNÉE] [STARTUP]" in found  # Command usage
    assert "en attente" in found  # STATUS_FR
    assert len(found) > 150


def test_every_french_sentence_has_an_english_version() -> None:
    """Each sentence handlers pass to t(…) has an entry in handlers/i18n_en.py ENGLISH."""
    missing = {text: where for text, where in french_sentences().items() if text not in ENGLISH}
    assert not missing, "add to handlers/i18n_en.py ENGLISH:\n" + "\n".join(
        f"  {where}: {text!r}" for text, where in sorted(missing.items(), key=lambda kv: kv[1])
    )


def test_english_versions_keep_the_same_placeholders() -> None:
    """An English sentence uses exactly the {placeholders} of its French original (no KeyError at runtime)."""
    wrong = {fr: en for fr, en in ENGLISH.items() if placeholders(fr) != placeholders(en)}
    assert not wrong, wrong


def test_english_versions_are_english() -> None:
    """No English entry is left as the French sentence (a copy-paste is not a translation)."""
    french = re.compile(r"[éèêàçù]|\b(le|la|les|des|du|est|sont|pour|avec|dans|sur|aucun|aucune)\b", re.IGNORECASE)
    copied = [fr for fr, en in ENGLISH.items() if fr == en and french.search(fr)]
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
    from bot.app import build_runtime
    from bot.config import Settings
    from handlers.types import Request

    settings = Settings.from_env({"INCUBOT_LANGUAGE": "en", "DATABASE_URL": str(engine.url)})
    bot = build_runtime(settings, clock=clock, engine=engine, migrate=False).bot

    help_text = bot.message(Request("console", "lea.dupont", "aide")).text
    assert "Hello Léa Dupont! I'm incubot" in help_text
    assert "coach of Dédale" in help_text and "quote STARTUP; AMOUNT; SUPPLIER; SUBJECT" in help_text
    assert "Bonjour" not in help_text and "Vos rôles" not in help_text

    budget = bot.message(Request("console", "camille.martin", "budget")).text
    assert "allocated €1,500,000.00" in budget and "available €1,700,000.00" in budget
    assert "**By startup**" in budget
    assert "allouées" not in budget and "1 500 000,00 €" not in budget
