"""Amounts as people type them: what is understood, what is refused and why, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from handlers.errors import CommandError
from handlers.i18n import Translator
from handlers.markup import plain
from handlers.money import MAX_CENTS, Amount, ht_to_ttc, parse_amount

FR = Translator("fr")
EN = Translator("en")


@pytest.mark.parametrize(
    ("typed", "cents", "tax_free"),
    [
        ("12500", 1_250_000, False),
        ("12 500", 1_250_000, False),
        ("12 500,50 €", 1_250_050, False),
        ("12\u202f500,50\u00a0€", 1_250_050, False),
        ("12.500,50", 1_250_050, False),
        ("12,500.50", 1_250_050, False),
        ("1.500.000", 150_000_000, False),
        ("12k", 1_200_000, False),
        ("1,5 M€", 150_000_000, False),
        ("12 500 HT", 1_250_000, True),
        ("HT 12 500", 1_250_000, True),
        ("12500HT", 1_250_000, True),
        ("12500ht", 1_250_000, True),
        ("12 500,50€HT", 1_250_050, True),
        ("12500TTC", 1_250_000, False),
        ("12 500 H.T.", 1_250_000, True),
        ("12 500 € TTC", 1_250_000, False),
        ("0,01", 1, False),
        ("+300", 30_000, False),
    ],
)
def test_amounts_are_understood_the_ways_people_type_them(typed: str, cents: int, tax_free: bool) -> None:
    """Spaces, comma or dot decimals, thousands dots, k and M, HT/TTC, euro signs are all understood."""
    assert parse_amount(typed, FR) == Amount(cents, tax_free)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "Il manque le montant."),
        ("   ", "Il manque le montant."),
        ("abc", "« abc » n'est pas un montant. Exemples : 12500, 12 500,50 €, 12k."),
        ("1e400", "« 1e400 » n'est pas un montant."),
        ("NaN", "« NaN » n'est pas un montant."),
        ("Infinity", "« Infinity » n'est pas un montant."),
        ("0x10", "« 0x10 » n'est pas un montant."),
        ("12 50", "« 12 50 » n'est pas un montant."),
        ("1,2,3", "« 1,2,3 » n'est pas un montant."),
        ("-5", "Le montant doit être positif (-5 est négatif)."),
        ("−5", "Le montant doit être positif (−5 est négatif)."),
        ("- 12 500 €", "Le montant doit être positif (- 12 500 € est négatif)."),
        ("0", "Le montant doit être supérieur à zéro."),
        ("0,00 €", "Le montant doit être supérieur à zéro."),
        ("12,345", "« 12,345 » est ambigu : pour 12 345,00 €, tapez 12345."),
        ("12.5001", "Un montant s'arrête au centime : « 12.5001 » a trop de décimales."),
        ("0,001", "Un montant s'arrête au centime : « 0,001 » a trop de décimales."),
        ("100000001", "Montant refusé : 100000001 dépasse le plafond de 100 000 000,00 € pour une demande."),
        ("999999999999999999999999", "dépasse le plafond de 100 000 000,00 €"),
        ("1" * 41, "Ce montant est trop long pour être un montant."),
    ],
)
def test_bad_amounts_are_refused_with_the_reason(typed: str, reason: str) -> None:
    """Each bad amount gets a precise French reason (not a generic error)."""
    with pytest.raises(CommandError) as refused:
        parse_amount(typed, FR)
    assert reason in plain(refused.value.message)


def test_ht_is_converted_to_ttc_at_twenty_percent_rounded_to_the_cent() -> None:
    """HT × 1.20, rounded half up to the cent, in integers."""
    assert ht_to_ttc(1_250_000) == 1_500_000
    assert ht_to_ttc(1) == 1  # 1.2 cent
    assert ht_to_ttc(3) == 4  # 3.6 cents
    assert ht_to_ttc(5) == 6  # 6.0 cents
    assert parse_amount("12 500 HT", FR).ttc_cents == 1_500_000


def test_english_refusals_are_in_english() -> None:
    """With the English translator the same refusal reads in English."""
    with pytest.raises(CommandError) as refused:
        parse_amount("abc", EN)
    assert plain(refused.value.message).startswith("“abc” is not an amount.")


cents_in_range = st.integers(min_value=1, max_value=MAX_CENTS)


@settings(max_examples=300, deadline=None)
@given(cents=cents_in_range, language=st.sampled_from(["fr", "en"]))
@example(cents=1, language="fr")
@example(cents=MAX_CENTS, language="en")
@example(cents=100_000, language="en")
@example(cents=123_456_789, language="fr")
def test_formatted_amounts_parse_back_to_the_same_cents(cents: int, language: str) -> None:
    """format → parse gives back the same integer cents, in French and in English."""
    t = Translator(language)
    parsed = parse_amount(t.money(cents), t)
    assert parsed.cents == cents
    assert type(parsed.cents) is int and not parsed.tax_free


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=60))
def test_parse_never_crashes_and_never_returns_a_float(text: str) -> None:
    """Whatever is typed: a positive integer number of cents within the ceiling, or a CommandError."""
    try:
        amount = parse_amount(text, FR)
    except CommandError as refused:
        assert refused.message
        return
    assert type(amount.cents) is int
    assert 0 < amount.cents <= MAX_CENTS


amount_like = st.builds(
    lambda sign, whole, frac, sep, suffix: f"{sign}{whole}{sep}{frac}{suffix}",
    st.sampled_from(["", "+", "-", "−", " "]),
    st.integers(min_value=0, max_value=10**9).map(str),
    st.sampled_from(["", "0", "00", "5", "50", "99", "001"]),
    st.sampled_from(["", ",", "."]),
    st.sampled_from(["", " €", "€", " HT", " TTC", "k", " EUR"]),
)


@settings(max_examples=500, deadline=None)
@given(text=amount_like)
def test_number_like_text_parses_to_positive_int_cents_or_is_refused(text: str) -> None:
    """Text that looks like a number never yields a float, zero or a negative amount."""
    try:
        amount = parse_amount(text, FR)
    except CommandError:
        return
    assert type(amount.cents) is int
    assert amount.cents > 0
    assert not text.strip().startswith(("-", "−"))


@settings(max_examples=300, deadline=None)
@given(value=st.decimals(max_value=0, allow_nan=False, allow_infinity=False, places=2))
def test_non_positive_amounts_are_never_accepted(value: Decimal) -> None:
    """Zero and negative amounts, however written, are refused."""
    for text in (str(value), str(value).replace(".", ","), f"{value} €"):
        with pytest.raises(CommandError):
            parse_amount(text, FR)


@pytest.mark.parametrize(
    ("typed", "thousands", "decimal", "type_thousands", "type_decimal"),
    [
        ("12,500", "12 500,00 €", "12,50 €", "12500", "12,50"),
        ("12.500", "12 500,00 €", "12,50 €", "12500", "12,50"),
        ("1,250", "1 250,00 €", "1,25 €", "1250", "1,25"),
        ("999.990 €", "999 990,00 €", "999,99 €", "999990", "999,99"),
        ("12,500 HT", "12 500,00 €", "12,50 €", "12500", "12,50"),
        ("1,500k", "1 500 000,00 €", "1 500,00 €", "1500k", "1,5k"),
    ],
)
def test_a_single_mark_before_three_digits_is_refused_with_both_readings(
        typed: str, thousands: str, decimal: str, type_thousands: str, type_decimal: str) -> None:
    """« 12,500 » could be 12 500 € or 12,50 €: the bot asks which, and says how to type each."""
    with pytest.raises(CommandError) as refused:
        parse_amount(typed, FR)
    said = plain(refused.value.message)
    assert f"« {typed} » peut se lire de deux façons : {thousands} ou {decimal}." in said
    assert f"Tapez {type_thousands} pour {thousands}, ou {type_decimal} pour {decimal}." in said


def test_a_single_mark_before_three_digits_that_cannot_be_cents_still_names_the_thousands_reading() -> None:
    """« 12,345 » is not 12,345 € (a cent has two decimals): the bot offers 12 345 € rather than read it silently."""
    with pytest.raises(CommandError) as refused:
        parse_amount("12,345", FR)
    said = plain(refused.value.message)
    assert "« 12,345 » est ambigu : pour 12 345,00 €, tapez 12345." in said
    assert "(Un montant s'arrête au centime : trois décimales ne sont pas possibles.)" in said


@pytest.mark.parametrize("typed", ["0.005", "0,005", "0.001", "0,050"])
def test_three_decimals_after_zero_are_too_many_decimals_never_thousands(typed: str) -> None:
    """« 0.005 » is not five euros: a leading 0 cannot start a thousands group, and a cent has two decimals."""
    with pytest.raises(CommandError) as refused:
        parse_amount(typed, FR)
    assert f"Un montant s'arrête au centime : « {typed} » a trop de décimales." in plain(refused.value.message)


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("1.250.000", 125_000_000),
        ("1,250,000", 125_000_000),
        ("12 500,50", 1_250_050),
        ("12.500,50", 1_250_050),
        ("12,500.50", 1_250_050),
        ("12k", 1_200_000),
        ("12\u00a0500", 1_250_000),
        ("12\u202f500", 1_250_000),
        ("12\u202f500,50\u202f€", 1_250_050),
        ("1\u00a0250\u00a0000,00\u00a0€", 125_000_000),
        ("12,50", 1_250),
        ("12.5", 1_250),
        ("0,50", 50),
    ],
)
def test_unambiguous_groupings_are_understood(typed: str, cents: int) -> None:
    """Several groups, a decimal mark after a grouping, spaces (also no-break and narrow no-break) read one way only."""
    assert parse_amount(typed, FR).cents == cents


@pytest.mark.parametrize("typed", ["１２５００", "１２ ５００,５０ €", "12５00", "١٢٥٠٠", "۱۲۵۰۰", "१२५००", "12²",
                                   "𝟏𝟐𝟓𝟎𝟎"])
def test_digits_other_than_0_to_9_are_refused_with_a_clear_message(typed: str) -> None:
    """Full-width, Arabic-Indic and other Unicode digits are refused, and the bot says to type 0 to 9."""
    with pytest.raises(CommandError) as refused:
        parse_amount(typed, FR)
    assert (f"« {typed} » contient des chiffres autres que 0 à 9 : tapez le montant avec les chiffres "
            "ordinaires, par exemple 12500 ou 12 500,50.") in plain(refused.value.message)


def test_the_ambiguity_is_explained_in_english_too() -> None:
    """With the English translator the two readings are offered in English."""
    with pytest.raises(CommandError) as refused:
        parse_amount("12,500", EN)
    said = plain(refused.value.message)
    assert said.startswith("“12,500” can be read two ways: €12,500.00 or €12.50.")
    assert "Type 12500 for €12,500.00, or 12.50 for €12.50." in said


@settings(max_examples=300, deadline=None)
@given(whole=st.integers(min_value=1, max_value=999), frac=st.integers(min_value=0, max_value=999),
       mark=st.sampled_from([",", "."]), suffix=st.sampled_from(["", " €", "€", " HT", " TTC", " EUR"]))
def test_one_mark_before_exactly_three_digits_is_never_read_one_way(whole: int, frac: int, mark: str,
                                                                    suffix: str) -> None:
    """Whatever the digits, « N,ddd » and « N.ddd » (N of 1 to 3 digits) are refused, the thousands reading named."""
    typed = f"{whole}{mark}{frac:03d}{suffix}"
    with pytest.raises(CommandError) as refused:
        parse_amount(typed, FR)
    assert FR.money(whole * 100_000 + frac * 100) in plain(refused.value.message)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(categories=["Nd", "Zs", "Po", "Sc"]), min_size=1, max_size=20))
def test_an_accepted_amount_was_typed_with_ascii_digits(text: str) -> None:
    """Any text with a digit other than 0–9 is refused; an accepted one has only 0–9 for digits."""
    try:
        parse_amount(text, FR)
    except CommandError:
        return
    assert all(c in "0123456789" for c in text if c.isdigit())
