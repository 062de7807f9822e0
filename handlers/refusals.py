"""Storage refusals, said in the user's language."""

from __future__ import annotations

from datetime import date

from handlers.i18n import N_, Translator
from handlers.markup import user
from storage.committees import EnvelopeEnded, EnvelopeExceeded
from storage.errors import (
    AlreadyDecided,
    AlreadySuspended,
    ConventionEnded,
    ConventionNotStarted,
    ConventionSuspended,
    EJAlreadyUsed,
    ExceedsOrder,
    InsufficientCredits,
    InvalidEJ,
    LedgerRefusal,
    NoAllocation,
    NoConvention,
    NotFound,
    NotSuspended,
    OrderNotPlaced,
    OrdersClosed,
    QuoteNotValidated,
    ServiceDoneWaiting,
    WrongStatus,
)
from storage.models import QuoteStatus, ServiceDoneStatus

STATUS_FR: dict[str, str] = {
    QuoteStatus.PENDING: N_("en attente"),
    QuoteStatus.VALIDATED: N_("validé"),
    QuoteStatus.REFUSED: N_("refusé"),
    QuoteStatus.ORDERED: N_("commandé"),
    QuoteStatus.CLOSED: N_("soldé"),
    QuoteStatus.WITHDRAWN: N_("retiré"),
    ServiceDoneStatus.CERTIFIED: N_("certifié"),
    ServiceDoneStatus.PAID: N_("payé"),
}
# What a step needs, said after « REF est STATUS : » (storage.errors.WrongStatus.step).
STEP_FR: dict[str, str] = {
    "order": N_("seul un devis validé peut être commandé"),
    "close": N_("seule une commande passée (EJ enregistré) peut être soldée"),
    "withdraw": N_("seul un devis en attente peut être retiré"),
    "pay": N_("seul un service fait certifié peut être payé"),
    "service_done": N_("un service fait ne porte que sur un devis validé ou commandé"),
}


def status_label(t: Translator, status: str) -> str:
    return t(STATUS_FR.get(status, status))


def explain(t: Translator, exc: LedgerRefusal) -> str:
    if isinstance(exc, NotFound):
        typed = user(exc.key[:40])  # what the person typed: escaped like any user text
        if exc.what == "quote":
            return t("Je ne trouve pas le devis {ref}. Les références ressemblent à D-2026-0001.", ref=typed)
        if exc.what == "service_done":
            return t("Je ne trouve pas le service fait {ref}. Les références ressemblent à SF-2026-0001.",
                     ref=typed)
        return t("Je ne trouve pas « {key} ».", key=typed)
    if isinstance(exc, AlreadyDecided):
        return t("{ref} est déjà {status} (par {who}, le {when}) : rien n'a changé.",
                 ref=exc.reference, status=status_label(t, exc.status), who=exc.decided_by or "?",
                 when=t.datetime(exc.decided_at) if exc.decided_at else "?")
    if isinstance(exc, NoAllocation):
        return t("Aucune dotation n'est enregistrée pour {year} : rien ne peut être engagé ni payé "
                 "sur cette année. Un administrateur doit l'importer.", year=exc.year)
    if isinstance(exc, InsufficientCredits):
        kind = "AE" if exc.kind == "ae" else "CP"
        return t("Crédits insuffisants : il reste {available} en {kind} {year}, la demande est de "
                 "{requested}. Rien n'a été enregistré ; les gestionnaires sont prévenus.",
                 available=t.money(exc.available_cents), kind=kind, year=exc.year,
                 requested=t.money(exc.requested_cents))
    if isinstance(exc, ExceedsOrder):
        return t("Le montant ({requested}) dépasse ce qu'il reste à certifier sur {ref} ({remaining}).",
                 requested=t.money(exc.requested_cents), ref=exc.reference,
                 remaining=t.money(exc.remaining_cents))
    if isinstance(exc, QuoteNotValidated):
        return t("Le devis {ref} est {status} : un service fait ne peut porter que sur un devis validé.",
                 ref=exc.reference, status=status_label(t, exc.status))
    chain = _explain_chain(t, exc)
    if chain is not None:
        return chain
    if isinstance(exc, EnvelopeEnded):  # the startup's envelope, named (handlers/envelopes.py)
        return t("L'enveloppe de {startup} (comité du {held_on}) a pris fin le {until} : une nouvelle décision du "
                 "comité est nécessaire. Rien n'a été enregistré.", startup=exc.startup_name,
                 held_on=t.date(exc.held_on), until=t.date(exc.ends_on))
    if isinstance(exc, EnvelopeExceeded):
        return t("Enveloppe dépassée : l'enveloppe de {startup} (comité du {held_on}, jusqu'au {until}) est de "
                 "{amount}, il en reste {left} ; la demande est de {requested}. Rien n'a été enregistré.",
                 startup=exc.startup_name, held_on=t.date(exc.held_on), until=t.date(exc.ends_on),
                 amount=t.money(exc.amount_cents), left=t.money(exc.left_cents),
                 requested=t.money(exc.requested_cents))
    convention = _explain_convention(t, exc)
    if convention is not None:
        return convention
    return t("Demande refusée.")


def _explain_chain(t: Translator, exc: LedgerRefusal) -> str | None:
    """The order chain's refusals (storage/ledger/orders.py, service_done.py), said; None: not one of them."""
    if isinstance(exc, WrongStatus):
        step = STEP_FR.get(exc.step)
        return t("{ref} est {status} : {rule}. Rien n'a changé.", ref=exc.reference,
                 status=status_label(t, exc.status), rule=t(step) if step else exc.step)  # type: ignore[call-overload]
    if isinstance(exc, InvalidEJ):
        return t("Numéro d'EJ illisible : « {value} ». Un engagement juridique CHORUS a 10 chiffres "
                 "(par exemple 2100123456). Rien n'a changé.", value=user(exc.value))
    if isinstance(exc, EJAlreadyUsed):
        return t("L'EJ {ej} est déjà celui de la commande {ref} : un EJ ne sert qu'une commande. Rien n'a changé.",
                 ej=exc.ej, ref=exc.reference)
    if isinstance(exc, OrderNotPlaced):
        return t("Le bon de commande de {order} n'est pas encore enregistré : {ref} sera payé une fois l'EJ saisi "
                 "(commande {order}; EJ …). Rien n'a changé.", order=exc.order, ref=exc.reference)
    if isinstance(exc, ServiceDoneWaiting):
        return t("{ref} ne peut pas être soldé : un service fait attend encore sa certification ({waiting}). "
                 "Rien n'a changé.", ref=exc.reference, waiting=", ".join(exc.waiting))
    return None


def _explain_convention(t: Translator, exc: LedgerRefusal) -> str | None:
    """The convention's rules (storage/rules.py, storage/convention.py), said; None: not one of them."""
    if isinstance(exc, ConventionNotStarted):
        return t("La convention {ref} n'a pas encore commencé : elle prend effet le {starts}. Aucun devis ne peut "
                 "être validé ni commandé avant cette date ; rien n'a changé.", ref=exc.reference,
                 starts=t.date(exc.starts))
    if isinstance(exc, ConventionEnded):
        if exc.terminated:
            text = t("La convention {ref} a pris fin le {day} (résiliation, art. 7) : aucun devis ne peut plus être "
                     "validé ni commandé ; rien n'a changé.", ref=exc.reference, day=t.date(exc.ended_on))
            return text + (" " + t("Motif : {reason}", reason=user(exc.reason)) if exc.reason else "")
        return t("La convention {ref} a pris fin le {day} : aucun devis ne peut plus être validé ni commandé ; "
                 "rien n'a changé. Un avenant ou une nouvelle convention doit prendre le relais.",
                 ref=exc.reference, day=t.date(exc.ended_on))
    if isinstance(exc, ConventionSuspended | AlreadySuspended):
        head = t("L'exécution de la convention {ref} est suspendue depuis le {since} par {who} (art. 5) — motif : "
                 "{reason}.", ref=exc.reference, since=t.datetime(exc.since), who=exc.by or "?",
                 reason=user(exc.reason))
        if isinstance(exc, AlreadySuspended):
            return head + " " + t("Elle l'est déjà : rien n'a changé. Tapez **reprendre** pour lever la suspension.")
        return head + " " + t("Aucun devis ne peut être validé ni commandé avant la reprise ; les paiements des "
                              "services faits continuent. Rien n'a changé.")
    if isinstance(exc, NotSuspended):
        return t("L'exécution de la convention {ref} n'est pas suspendue : rien n'a changé.", ref=exc.reference)
    if isinstance(exc, NoConvention):
        return t("Aucune convention n'est enregistrée : un administrateur doit importer le fichier de référence.")
    if isinstance(exc, OrdersClosed):
        head = t("Fin de gestion {year} : plus de validation de devis ni de commande après le {day} ; rien n'a "
                 "changé.", year=exc.year, day=t.date(exc.orders_until))
        if exc.next_possible is not None:
            return head + " " + t("La prochaine sera possible le {day}, sur les crédits {year}.",
                                  day=t.date(exc.next_possible), year=exc.next_possible.year)
        if exc.convention_ends is not None:
            return head + " " + t("La convention prend fin le {day} : il n'y en aura plus d'autre.",
                                  day=t.date(exc.convention_ends))
        return head + " " + t("Elles reprendront le {day}, une fois la dotation {year} importée.",
                              day=t.date(date(exc.year + 1, 1, 1)), year=exc.year + 1)
    return None
