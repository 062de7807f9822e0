"""People type the bot's own words as they read them, and a near miss gets a suggestion."""

from __future__ import annotations

from handlers.core import Bot
from tests.chat import say


def test_en_attente_with_a_space_is_the_pending_command(bot: Bot) -> None:
    """« en attente » typed with a space answers like « en-attente »."""
    assert say(bot, "julien.moreau", "en attente") == say(bot, "julien.moreau", "en-attente")
    assert "Je ne connais pas" not in say(bot, "julien.moreau", "en attente")


def test_service_fait_with_a_space_files_a_service_done(bot: Bot) -> None:
    """« service fait D-…; 1000 » is the service-done command, as the cards write it."""
    said = say(bot, "lea.dupont", "devis dedale; 5000; Scopyleft; Sprint 1")
    ref = next(word for word in said.replace(".", " ").split() if word.startswith("D-"))
    say(bot, "julien.moreau", f"valider {ref}")
    answer = say(bot, "lea.dupont", f"service fait {ref}; 1000")
    assert "SF-" in answer and "Je ne connais pas" not in answer


def test_a_near_miss_gets_a_suggestion(bot: Bot) -> None:
    """« budjet » is not a command, and the bot asks whether « budget » was meant."""
    assert say(bot, "lea.dupont", "budjet") == (
        "Je ne connais pas la commande « budjet ». Vouliez-vous dire budget ? Tapez aide pour la liste.")


def test_a_word_far_from_any_command_gets_no_suggestion(bot: Bot) -> None:
    """Nothing close to « xyzzy »: the bot only points to « aide »."""
    assert say(bot, "lea.dupont", "xyzzy") == "Je ne connais pas la commande « xyzzy ». Tapez aide pour la liste."


def test_history_of_a_startup_name_says_what_a_reference_looks_like_and_offers_recent_ones(bot: Bot) -> None:
    """`historique dedale` is not a reference: the bot shows the format and Dédale's latest references."""
    said = say(bot, "lea.dupont", "devis dedale; 5000; Scopyleft; Sprint 1")
    ref = next(word for word in said.replace(".", " ").split() if word.startswith("D-"))
    answer = say(bot, "lea.dupont", "historique dedale")
    assert answer.startswith("« dedale » n'est pas une référence : elle s'écrit D-2026-0001 pour un devis")
    assert f"Les plus récentes de Dédale : {ref}" in answer


def test_history_of_someone_elses_startup_offers_no_references(bot: Bot) -> None:
    """A coach of other startups asking `historique dedale` gets the format only, not Dédale's references."""
    say(bot, "lea.dupont", "devis dedale; 5000; Scopyleft; Sprint 1")
    answer = say(bot, "thomas.roux", "historique dedale")
    assert "n'est pas une référence" in answer and "D-2026" not in answer.split("service fait.")[1]
