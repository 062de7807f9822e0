"""French first, English as a setting: gettext catalogs managed with Babel.

Handlers write their sentences in French, ``t("Le devis {ref} est validé.", ref=…)``;
a count that changes the words goes through ``t.plural("{n} devis en attente",
"{n} devis en attente", n)``; a sentence kept in a table or a constant to be translated
when shown is marked ``N_("…")``. ``pybabel extract`` (``babel.cfg``) collects them into
``handlers/locales/messages.pot``; each language has its catalog
``handlers/locales/<lang>/LC_MESSAGES/messages.po`` (French, the source language, only
for its plural rule), read once per process at run time — no compile step to forget.
tests/test_i18n.py checks that every extracted sentence is translated.

Formatting goes through Babel so amounts read ``1 500 000,00 €`` in French and
``€1,500,000.00`` in English.

Typography (``INCUBOT_TYPOGRAPHY``). French spaces before « ; : ! ? », inside « », between
thousands, before « € » and « % » and in « 10 h 00 ». Every French sentence of the catalogs
writes them as one ordinary space (tests/test_typography.py checks it), and so does the
default typography, ``plain``: what people type and search in a chat (a search for
« 15 000 » does not find « 15 000 » written with a narrow no-break space), what SPEC.md
writes, and what every chat client shows the same. ``fine`` gives them the characters of
French typography, so a line never breaks before a colon or inside an amount: U+202F
(narrow no-break space) before « ; : ! ? », inside « », between thousands (as Babel's
``fr``), before « % »; U+00A0 (no-break space) before « € » (Babel's) and in « 10 h 00 ».
Only the bot's own words and numbers change: what a person typed is shown as typed, and
every parser reads both kinds of spaces.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, parse_pattern

LOCALES = {"fr": "fr_FR", "en": "en_GB"}
TYPOGRAPHIES = ("plain", "fine")
NARROW_NBSP = "\u202f"  # espace fine insécable
NBSP = "\u00a0"  # espace insécable
# A space before « ; : ! ? » that ends a word (not « :as » or « ;x » in a command shown as an example).
_BEFORE_MARK = re.compile(r" (?=[;:!?](?:\s|$|[*)»]))")
DOMAIN = "messages"
# What `pybabel extract` is told to look for (README « Traductions », tests/test_i18n.py).
EXTRACT_KEYWORDS = {"t": None, "N_": None, "plural": (1, 2)}
# « de {startup} » / « que {name} » in a French sentence, and the letters before which French elides.
_ELIDABLE = re.compile(r"(?<![\w'])([Dd]e|[Qq]ue) \{(\w+)\}")
_VOWELS = frozenset("aeiouàâäéèêëîïôöùûüæœAEIOUÀÂÄÉÈÊËÎÏÔÖÙÛÜÆŒ")  # not y: « de Yahoo »


def N_(french: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a sentence for extraction where it is defined; it is translated where it is shown."""
    return french


def catalog_path(language: str) -> str:
    return str(resources.files("handlers") / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po")


@functools.cache
def translations(language: str) -> gettext.GNUTranslations:
    """The catalog of ``language``, read from its ``.po`` and compiled in memory once per process."""
    with open(catalog_path(language), "rb") as po:
        catalog = read_po(po, locale=LOCALES[language])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def fine_spaces(template: str) -> str:
    """French typography's narrow no-break spaces in a sentence of the catalog (before its values are put in)."""
    return _BEFORE_MARK.sub(NARROW_NBSP, template.replace("« ", "«" + NARROW_NBSP).replace(" »", NARROW_NBSP + "»"))


def _plain_spaces(text: str) -> str:
    """CLDR's French groups with narrow no-break spaces; people type, search and copy plain
    ones (``1 500 000,00 €``), and some chat clients render U+202F badly."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@dataclass(frozen=True)
class _MoneyParts:
    """The pieces of a locale's euro amounts, plain spaces already: (positive, negative) affixes."""

    prefix: tuple[str, str]
    suffix: tuple[str, str]
    group: str
    decimal: str


def _babel_spaces(text: str) -> str:
    return text


def _money_parts(locale: Locale, spaces: Callable[[str], str] = _plain_spaces) -> _MoneyParts | None:
    """The locale's standard currency pattern, taken apart once; None when it is not the plain
    ``#,##0.00`` kind (groups of three, two decimals), which then goes through Babel each time."""
    pattern = locale.currency_formats["standard"]
    if (pattern.grouping != (3, 3) or pattern.frac_prec != (2, 2) or pattern.int_prec[0] != 1
            or any("'" in affix or "¤¤" in affix for affix in (*pattern.prefix, *pattern.suffix))):
        return None
    symbols = locale.number_symbols["latn"]
    euro = locale.currency_symbols.get("EUR", "€")

    def affix(text: str) -> str:
        return spaces(text.replace("¤", euro).replace("-", symbols["minusSign"]))

    return _MoneyParts((affix(pattern.prefix[0]), affix(pattern.prefix[1])),
                       (affix(pattern.suffix[0]), affix(pattern.suffix[1])),
                       spaces(symbols["group"]), spaces(symbols["decimal"]))


class Translator:
    def __init__(self, language: str = "fr", tz: ZoneInfo | None = None, typography: str = "plain") -> None:
        self.language = language if language in LOCALES else "fr"
        # Parsed once: Babel would parse a locale string again on every amount (half its cost).
        self.locale = Locale.parse(LOCALES[self.language])
        self.tz = tz or ZoneInfo("Europe/Paris")
        self.catalog = translations(self.language)
        # « fine »: French typography's no-break spaces (module docstring); English has none to add.
        self.fine = typography == "fine" and self.language == "fr"
        self._spaces: Callable[[str], str] = _babel_spaces if self.fine else _plain_spaces
        self._money = _money_parts(self.locale, self._spaces)
        # French writes "25 %", English "25%"; parsed once (format_percent parses it on every call).
        self._percent = parse_pattern(f"#,##0{NARROW_NBSP if self.fine else ' '}%" if self.language == "fr"
                                      else "#,##0%")
        self._fined: dict[str, str] = {}

    def _typeset(self, template: str) -> str:
        if not self.fine:
            return template
        fined = self._fined.get(template)
        if fined is None:
            fined = self._fined[template] = fine_spaces(template)
        return fined

    def __call__(self, french: str, /, **params: object) -> str:
        template = self._typeset(self.catalog.gettext(french))
        if not params:
            return template
        return self._elide(template, params).format(**params)

    def plural(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """The form of the language for ``n`` (French: 0 and 1 singular; English: 1 only); ``{n}`` is given."""
        return self._elide(self._typeset(self.catalog.ngettext(singular, plural, n)), params).format(n=n, **params)

    def _elide(self, template: str, params: dict[str, object]) -> str:
        """French élision before a value that starts with a vowel: « coach d'Archives Ouvertes », « de Dédale »,
        « lorsqu'Élise … ». Only « de » and « que » words (a name gets no article); h is left alone (muet or aspiré
        cannot be told from the spelling)."""
        if self.language != "fr" or ("de {" not in template and "que {" not in template):
            return template

        def elided(match: re.Match[str]) -> str:
            value = str(params.get(match.group(2), ""))
            if not value[:1] or value[0] not in _VOWELS:
                return match.group(0)
            return f"{match.group(1)[:-1]}'{{{match.group(2)}}}"

        return _ELIDABLE.sub(elided, template)

    def money(self, cents: int) -> str:
        """``1 500 000,00 €`` / ``€1,500,000.00``: what Babel's ``format_currency`` writes (with plain
        spaces), built from the locale's currency pattern read once — Babel applies its pattern again
        on every call, a third of a card's cost. tests/test_i18n.py compares the two."""
        parts = self._money
        if parts is None:
            return self._spaces(format_currency(Decimal(cents) / 100, "EUR", locale=self.locale))
        negative = cents < 0
        units, rest = divmod(-cents if negative else cents, 100)
        digits = str(units)
        head = len(digits) % 3 or 3
        grouped = parts.group.join([digits[:head], *(digits[i:i + 3] for i in range(head, len(digits), 3))])
        return f"{parts.prefix[negative]}{grouped}{parts.decimal}{rest:02d}{parts.suffix[negative]}"

    def number(self, value: int | Decimal) -> str:
        return self._spaces(format_decimal(value, locale=self.locale))

    def percent(self, part: int, whole: int) -> str:
        if whole <= 0:
            return "—"
        return self._spaces(self._percent.apply(Decimal(part) / Decimal(whole), self.locale))

    def date(self, value: date) -> str:
        """« 1er décembre 2026 », « 5 novembre 2026 » (French writes the first of the month as an ordinal);
        « 1 December 2026 »."""
        if self.language == "fr" and value.day == 1:
            return format_date(value, format="d'er' MMMM y", locale=self.locale)
        return format_date(value, format="long", locale=self.locale)

    def datetime(self, value: dt.datetime) -> str:
        """« 5 nov. 2026 à 10 h 00 » (French time typography, « 1er » too); « 5 Nov 2026 10:00 »."""
        local = value.astimezone(self.tz)
        if self.language != "fr":
            return format_datetime(local, format="d MMM y HH:mm", locale=self.locale)
        day = "d'er'" if local.day == 1 else "d"
        # Plain spaces, as in amounts (see _plain_spaces): « 10 h 00 » is typed and searched that way;
        # no-break ones with the fine typography.
        space = NBSP if self.fine else " "
        return format_datetime(local, format=f"{day} MMM y 'à' H'{space}h{space}'mm", locale=self.locale)

    def month(self, year: int, month: int) -> str:
        return format_date(dt.date(year, month, 1), format="MMMM y", locale=self.locale)
