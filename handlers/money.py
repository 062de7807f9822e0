"""Amounts as people type them, to integer cents and back.

Understood: ``12500``, ``12 500,50 €``, ``12.500,50``, ``12,500.50``, ``1.250.000``, ``12k``,
``1,5 M€``, with ``HT`` or ``TTC`` before or after; spaces, no-break and narrow no-break
spaces group thousands. Refused with a precise reason: empty, not a number (``abc``,
``1e400``), digits other than 0–9 (full-width ``１２５００``, Arabic-Indic…), negative, zero,
more than two decimals, larger than :data:`MAX_CENTS`. A single comma or dot followed by
exactly three digits (``12,500``, ``12.500``) could be a thousands separator or a decimal
mark: it is refused with both readings offered, never read one way (SPEC, "Amounts").
``0.005`` is not five euros: a group never starts with 0, so it has too many decimals.
Never binary floating point: :class:`~decimal.Decimal` throughout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from handlers.errors import CommandError
from handlers.i18n import Translator
from handlers.markup import user

MAX_CENTS = 100_000_000_00  # 100 M€: far above any order on a framework contract
VAT_RATE = Decimal("0.20")
MAX_TYPED = 40

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007'_]+")
# "12500HT" has no word boundary between the digits and the tax: look behind for a letter instead.
_TAX = re.compile(r"(?<![a-z])(h\.?t\.?|t\.?t\.?c\.?)$|^(h\.?t\.?|t\.?t\.?c\.?)\b", re.IGNORECASE)
_CURRENCY = re.compile(r"(€|eur(os?)?\b)", re.IGNORECASE)
_NUMBER = re.compile(r"^[0-9]+([.,][0-9]+)*$")


def stated_tax(text: str) -> str | None:
    """« HT » or « TTC » when the amount as typed says so (« 12 500 HT »), else None."""
    match = _TAX.search(text.strip())
    if not match:
        return None
    return "HT" if (match.group(1) or match.group(2) or "").lower().startswith("h") else "TTC"


class _Ambiguous(Exception):
    """One mark before exactly three digits: ``whole`` thousands ``frac``, or ``whole`` point ``frac``."""

    def __init__(self, whole: str, frac: str) -> None:
        super().__init__(whole, frac)
        self.whole, self.frac = whole, frac


@dataclass(frozen=True)
class Amount:
    cents: int  # what the person typed, in cents
    tax_free: bool  # typed "HT"

    @property
    def ttc_cents(self) -> int:
        return ht_to_ttc(self.cents) if self.tax_free else self.cents


def decimal_euros(cents: int) -> str:
    """Exact decimal euros for files and JSON (``1500000.00``, ``-0.05``): what a spreadsheet or a
    program reads back, the one formatter of the export, the report's files, ``budget --json`` and
    ``/stats.json`` (people read :meth:`handlers.i18n.Translator.money`)."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def ht_to_ttc(cents: int) -> int:
    """HT to TTC at 20 % VAT, rounded half up to the cent."""
    return int((Decimal(cents) * (1 + VAT_RATE)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _to_decimal(number: str, *, spaced: bool = False) -> Decimal | None:
    """``number`` has only digits, ``.`` and ``,``: decide which one is the decimal mark.

    ``spaced``: the thousands were grouped by spaces, so a remaining mark is the decimal one.
    Raises :class:`_Ambiguous` when a single mark before three digits could be either.
    """
    if not _NUMBER.match(number):
        return None
    commas, dots = number.count(","), number.count(".")
    if commas and dots:
        decimal_mark = "," if number.rfind(",") > number.rfind(".") else "."
        group_mark = "." if decimal_mark == "," else ","
        whole, _, frac = number.rpartition(decimal_mark)
        if decimal_mark in whole or not _grouped(whole, group_mark):
            return None
        return Decimal(whole.replace(group_mark, "") + "." + frac)
    mark = "," if commas else "." if dots else ""
    if not mark:
        return Decimal(number)
    count = commas or dots
    if count > 1:  # 1.500.000 or 1,500,000: only grouping
        return Decimal(number.replace(mark, "")) if _grouped(number, mark) else None
    whole, _, frac = number.partition(mark)
    if not spaced and _grouped(number, mark):  # 12,500 or 12.500: 12 500 € or 12,50 €?
        raise _Ambiguous(whole, frac)
    return Decimal(whole + "." + frac)


def _grouped(number: str, mark: str) -> bool:
    head, *groups = number.split(mark)
    return 1 <= len(head) <= 3 and not head.startswith("0") and all(len(g) == 3 for g in groups)


def _ambiguous(raw: str, found: _Ambiguous, multiplier: Decimal, suffix: str, t: Translator) -> CommandError:
    """The refusal of « 12,500 »: both readings, and how to type each."""
    whole, frac = found.whole, found.frac
    sep = "," if t.language == "fr" else "."
    thousands = t.money(int(Decimal(whole + frac) * multiplier * 100))
    type_thousands = f"**{whole}{frac}{suffix}**"
    as_decimal = Decimal(whole + "." + frac) * multiplier * 100
    if as_decimal != as_decimal.to_integral_value():  # 12,345: not to the cent
        return CommandError(t("« {amount} » est ambigu : pour {thousands}, tapez {type_thousands}. "
                              "(Un montant s'arrête au centime : trois décimales ne sont pas possibles.)",
                              amount=user(raw), thousands=thousands, type_thousands=type_thousands))
    kept = frac[:2] if not suffix else frac.rstrip("0")
    type_decimal = f"**{whole}{sep + kept if kept else ''}{suffix}**"
    return CommandError(t("« {amount} » peut se lire de deux façons : {thousands} ou {decimal}. "
                          "Tapez {type_thousands} pour {thousands}, ou {type_decimal} pour {decimal}.",
                          amount=user(raw), thousands=thousands, decimal=t.money(int(as_decimal)),
                          type_thousands=type_thousands, type_decimal=type_decimal))


def parse_amount(text: str, t: Translator) -> Amount:
    """Parse a typed amount; raise :class:`CommandError` with the reason when it is not one."""
    raw = (text or "").strip()
    if not raw:
        raise CommandError(t("Il manque le montant."))
    if len(raw) > MAX_TYPED:
        raise CommandError(t("Ce montant est trop long pour être un montant."))
    if any(c.isnumeric() and c not in "0123456789" for c in raw):
        raise CommandError(t("« {amount} » contient des chiffres autres que 0 à 9 : tapez le montant avec les "
                             "chiffres ordinaires, par exemple 12500 ou 12 500,50.", amount=user(raw)))
    s = _SPACES.sub(" ", raw).strip()
    tax_free = False
    match = _TAX.search(s)
    if match:
        tax_free = (match.group(1) or match.group(2) or "").lower().startswith("h")
        s = _TAX.sub("", s).strip()
    s = _CURRENCY.sub("", s).strip()
    if s.startswith("-") or s.startswith("−"):
        raise CommandError(t("Le montant doit être positif ({amount} est négatif).", amount=user(raw)))
    s = s.lstrip("+").strip()
    multiplier, suffix = Decimal(1), ""
    if s[-1:].lower() == "k":
        multiplier, suffix, s = Decimal(1000), s[-1], s[:-1].strip()
    elif s[-1:] in ("M", "m") and s[:-1].strip()[-1:].isdigit():
        multiplier, suffix, s = Decimal(1_000_000), " " + s[-1], s[:-1].strip()
    number = s.replace(" ", "")
    spaced = " " in s
    if spaced and not re.fullmatch(r"[0-9]{1,3}( [0-9]{3})+([.,][0-9]+)?", s):
        number = ""
    try:
        value = _to_decimal(number, spaced=spaced)
    except _Ambiguous as found:
        raise _ambiguous(raw, found, multiplier, suffix, t) from None
    except InvalidOperation:
        value = None
    if value is None:
        raise CommandError(
            t("« {amount} » n'est pas un montant. Exemples : 12500, 12 500,50 €, 12k.", amount=user(raw))
        )
    too_precise = multiplier == 1 and int(value.as_tuple().exponent) < -2  # 12,5000: a cent has two decimals
    value *= multiplier
    cents = value * 100
    if too_precise or cents != cents.to_integral_value():
        raise CommandError(t("Un montant s'arrête au centime : « {amount} » a trop de décimales.", amount=user(raw)))
    if cents == 0:
        raise CommandError(t("Le montant doit être supérieur à zéro."))
    if cents > MAX_CENTS:
        raise CommandError(
            t("Montant refusé : {amount} dépasse le plafond de {max} pour une demande.", amount=user(raw),
              max=t.money(MAX_CENTS))
        )
    return Amount(int(cents), tax_free)
