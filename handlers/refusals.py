"""Storage refusals, said in the user's language."""

from __future__ import annotations

from handlers.i18n import N_, Translator
from handlers.markup import user
from storage.committees import EnvelopeEnded, EnvelopeExceeded
from storage.errors import (
    AlreadyDecided,
    ExceedsOrder,
    InsufficientCredits,
    LedgerRefusal,
    NoAllocation,
    NotFound,
    QuoteNotValidated,
)
from storage.models import QuoteStatus, ServiceDoneStatus

STATUS_FR: dict[str, str] = {
    QuoteStatus.PENDING: N_("en attente"),
    QuoteStatus.VALIDATED: N_("validé"),
    QuoteStatus.REFUSED: N_("refusé"),
    ServiceDoneStatus.CERTIFIED: N_("certifié"),
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
    return t("Demande refusée.")
