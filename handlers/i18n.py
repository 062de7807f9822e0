"""French first, English as a setting, with Babel for numbers, money and dates.

Handlers write their sentences in French, ``t("Le devis {ref} est validé.", ref=…)``;
:data:`handlers.i18n_en.ENGLISH` maps each French sentence to its English version
(a test checks none is missing). Formatting goes through Babel so amounts read
``1 500 000,00 €`` in French and ``€1,500,000.00`` in English.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from handlers.i18n_en import ENGLISH

LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def _plain_spaces(text: str) -> str:
    """CLDR's French groups with narrow no-break spaces; people type, search and copy plain
    ones (``1 500 000,00 €``), and some chat clients render U+202F badly."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


class Translator:
    def __init__(self, language: str = "fr", tz: ZoneInfo | None = None) -> None:
        self.language = language if language in LOCALES else "fr"
        # Parsed once: Babel would parse a locale string again on every amount (half its cost).
        self.locale = Locale.parse(LOCALES[self.language])
        self.tz = tz or ZoneInfo("Europe/Paris")

    def __call__(self, french: str, /, **params: object) -> str:
        template = ENGLISH.get(french, french) if self.language == "en" else french
        return template.format(**params) if params else template

    def money(self, cents: int) -> str:
        return _plain_spaces(format_currency(Decimal(cents) / 100, "EUR", locale=self.locale))

    def number(self, value: int | Decimal) -> str:
        return _plain_spaces(format_decimal(value, locale=self.locale))

    def percent(self, part: int, whole: int) -> str:
        if whole <= 0:
            return "—"
        # French writes "25 %", English "25%".
        pattern = "#,##0 %" if self.language == "fr" else "#,##0%"
        return _plain_spaces(format_percent(Decimal(part) / Decimal(whole), format=pattern, locale=self.locale))

    def date(self, value: date) -> str:
        return format_date(value, format="long", locale=self.locale)

    def datetime(self, value: dt.datetime) -> str:
        return format_datetime(value.astimezone(self.tz), format="d MMM y HH:mm", locale=self.locale)

    def month(self, year: int, month: int) -> str:
        return format_date(dt.date(year, month, 1), format="MMMM y", locale=self.locale)
