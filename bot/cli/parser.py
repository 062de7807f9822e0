"""The ``incubot`` parser: each command family adds its sub-commands; every text goes through the catalogs.

argparse's own sentences (usage, errors, ``-h``) are looked up through its module-level ``_`` and
``ngettext`` at each call: they are mapped to French sentences of the catalog, so the command line
speaks one language from end to end (French by default, English with ``INCUBOT_LANGUAGE=en``).
"""

from __future__ import annotations

import argparse

from bot.cli import convention, database, documents, exchange, outbox, reading, reference, serving, shell
from handlers.i18n import N_, Translator

FAMILIES = (shell, serving, reference, convention, reading, documents, exchange, database, outbox)

# argparse's English sentence → its French one (a msgid of the catalogs; the English msgstr is argparse's own).
ARGPARSE = {
    "usage: ": N_("utilisation : "),
    "positional arguments": N_("arguments"),
    "options": N_("options"),
    "show this help message and exit": N_("afficher cette aide et quitter"),
    "the following arguments are required: %s": N_("ces arguments sont obligatoires : %s"),
    "unrecognized arguments: %s": N_("arguments inconnus : %s"),
    "argument %(argument_name)s: %(message)s": N_("argument %(argument_name)s : %(message)s"),
    "invalid choice: %(value)r (choose from %(choices)s)": N_("choix invalide : %(value)r (choisissez parmi "
                                                              "%(choices)s)"),
    "invalid %(type)s value: %(value)r": N_("valeur invalide (%(type)s attendu) : %(value)r"),
    "expected one argument": N_("une valeur est attendue"),
    "expected at most one argument": N_("une valeur au plus est attendue"),
    "expected at least one argument": N_("une valeur au moins est attendue"),
    "not allowed with argument %s": N_("incompatible avec l'argument %s"),
    "ignored explicit argument %r": N_("valeur ignorée : %r"),
    "%(prog)s: error: %(message)s\n": N_("%(prog)s : erreur : %(message)s\n"),
    "ambiguous option: %(option)s could match %(matches)s": N_("option ambiguë : %(option)s peut désigner "
                                                               "%(matches)s"),
    "unexpected option string: %s": N_("option inattendue : %s"),
}


def speak_in_argparse(t: Translator) -> None:
    """argparse's sentences in the language of ``t`` (the English catalog gives argparse's own back)."""

    def gettext(message: str) -> str:
        return t(ARGPARSE[message]) if message in ARGPARSE else message

    def ngettext(singular: str, plural: str, n: int) -> str:
        if singular == "expected %s argument":
            return t.plural("{n} valeur attendue", "{n} valeurs attendues", n).replace(str(n), "%s", 1)
        return singular if n == 1 else plural

    argparse._ = gettext  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]


def build_parser(t: Translator | None = None) -> argparse.ArgumentParser:
    t = t or Translator()
    parser = argparse.ArgumentParser(prog="incubot", description=t("L'assistant budgétaire de l'incubateur."))
    parser.add_argument("--database", help=t("URL SQLAlchemy (sinon DATABASE_URL, sinon sqlite:///incubot.db)"))
    sub = parser.add_subparsers(dest="command", required=True, title=t("commandes"), metavar=t("COMMANDE"))
    for family in FAMILIES:
        family.add_parsers(sub, t)
    return parser
