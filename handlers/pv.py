"""The PV de service fait (procès-verbal) of a certified service done, as a document to sign.

What the délégataire signs before the invoice (DOMAIN: the BC number, the period, the amount ordered,
the amount certified now and before, the deliverables): the convention and its CHORUS references,
the order (quote, EJ and BC once recorded), this service done and its share of the order, the
intrapreneur's certification (name, date) and a box for the délégataire's signature.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from handlers.documents import (
    Block,
    Document,
    Heading,
    KeyValues,
    Money,
    Paragraph,
    Rate,
    Signature,
    Signatures,
    Value,
    render,
)
from handlers.errors import CommandError
from handlers.i18n import Translator
from handlers.markup import user
from handlers.refusals import status_label
from storage.models import ServiceDoneStatus
from storage.reports import ServiceDoneRecord, service_done_record


def _text(value: str | None) -> str:
    return value.strip() if value and value.strip() else "—"


def find_certified(*, session: Session, reference: str, t: Translator) -> ServiceDoneRecord:
    """The record of ``SF-…``; refused with a French sentence when it is unknown or not certified."""
    record = service_done_record(session=session, reference=reference)
    if record is None:
        raise CommandError(t("Je ne trouve pas le service fait {ref}. Les références ressemblent à SF-2026-0001.",
                             ref=user(reference.strip()[:40])))
    row = record.service_done
    if row.status in (ServiceDoneStatus.PENDING, ServiceDoneStatus.REFUSED) or row.decided_at is None:
        raise CommandError(t("{ref} n'est pas certifié (il est {status}) : le PV de service fait s'établit une fois "
                             "le service fait certifié par l'intrapreneur.", ref=row.reference,
                             status=status_label(t, row.status)))
    return record


def pv_document(record: ServiceDoneRecord, t: Translator, *, created: datetime | None = None) -> Document:
    row, quote, startup, convention = record.service_done, record.quote, record.startup, record.convention
    assert row.decided_at is not None
    metadata: list[str] = []
    if convention is not None:
        metadata.append(t("Convention {ref} — {title}", ref=convention.reference, title=convention.title))
        metadata.append(t("Délégant : {delegant} · délégataire : {delegataire} · UO {uo}",
                          delegant=convention.delegant, delegataire=convention.delegataire,
                          uo=convention.operational_unit))
    metadata.append(t("Startup : {startup}", startup=startup.name))
    ej: str | None = getattr(quote, "ej", None)  # the order chain's EJ and BC, once the order is recorded
    bc: str | None = getattr(quote, "bc", None)
    order: list[tuple[str, Value]] = [
        (t("Devis"), quote.reference),
        (t("Fournisseur"), quote.supplier),
        (t("Objet de la commande"), quote.object),
        (t("Engagement juridique (EJ)"), ej or t("non encore enregistré")),
        (t("Bon de commande (BC)"), bc or t("non encore enregistré")),
        (t("Montant commandé TTC"), Money(quote.amount_cents)),
    ]
    if quote.amount_ht_cents is not None:
        order.append((t("Montant commandé HT"), Money(quote.amount_ht_cents)))
    blocks: list[Block] = [Heading(t("Commande")), KeyValues(tuple(order))]
    if convention is not None:
        blocks += [Heading(t("Imputation CHORUS")), KeyValues((
            (t("Axe ministériel"), _text(convention.chorus_axe_ministeriel)),
            (t("Domaine fonctionnel"), _text(convention.chorus_domaine_fonctionnel)),
            (t("Centre financier"), _text(convention.chorus_centre_financier)),
            (t("Activité"), _text(convention.chorus_activite)),
            (t("Centre de coût"), _text(convention.chorus_centre_de_cout)),
            (t("Unité opérationnelle"), _text(convention.operational_unit)),
        ))]
    blocks += [Heading(t("Service fait")), KeyValues((
        (t("Référence"), row.reference),
        (t("Période"), _text(row.period)),
        (t("Montant de ce service fait TTC"), Money(row.amount_cents)),
        (t("Part de la commande (ce PV)"), Rate(row.amount_cents, quote.amount_cents)),
        (t("Déjà certifié avant ce PV"), Money(record.certified_before_cents)),
        (t("Cumul certifié, ce PV compris"), Money(record.certified_through_cents)),
        (t("Part de la commande (cumul)"), Rate(record.certified_through_cents, quote.amount_cents)),
        (t("Reste à certifier"), Money(quote.amount_cents - record.certified_through_cents)),
    ))]
    blocks += [Heading(t("Livrables")),
               Paragraph(t("{object} — période : {period}.", object=quote.object, period=_text(row.period)))]
    certifier = record.certifier.name if record.certifier else _text(row.decided_by)
    submitter = record.submitter.name if record.submitter else _text(row.submitted_by)
    delegataire = convention.delegataire if convention is not None else t("le délégataire")
    blocks += [Heading(t("Certification et signature")), Signatures((
        Signature(t("Service fait certifié par l'intrapreneur"), (
            t("Certifié par {name}, intrapreneur de {startup}, le {when}.",
              name=certifier, startup=startup.name, when=t.datetime(row.decided_at)),
            t("Demande déposée par {name} le {when}.", name=submitter, when=t.datetime(row.created_at)))),
        Signature(t("Pour le délégataire ({name})", name=delegataire),
                  (t("Nom et qualité :"), t("Date :"), t("Signature :"))),
    ))]
    ref = convention.reference if convention is not None else ""
    return Document(
        title=t("Procès-verbal de service fait {ref}", ref=row.reference),
        metadata=tuple(metadata), blocks=tuple(blocks),
        author=delegataire, subject=t("PV de service fait {ref} sur {quote}", ref=row.reference,
                                      quote=quote.reference),
        created=created or row.decided_at,
        footer=t("incubot · {pv} · commande {quote} · convention {ref}", pv=row.reference, quote=quote.reference,
                 ref=ref) if ref else t("incubot · {pv} · commande {quote}", pv=row.reference,
                                        quote=quote.reference))


def pv_line(t: Translator, reference: str) -> str:
    """The line a certification adds: where the PV de service fait to sign comes from."""
    return t("📄 PV de service fait à faire signer par le délégataire : `incubot pv {ref} --output {ref}.pdf`",
             ref=reference)


def pv_attached_line(t: Translator, reference: str) -> str:
    """The line of the message that carries the PV (``PV-SF-….pdf``)."""
    return t("📄 Ci-joint le PV de service fait {ref} (PV-{ref}.pdf), à faire signer par le délégataire.",
             ref=reference)


def pv_file(*, session: Session, reference: str, t: Translator, fmt: str = "pdf") -> bytes:
    """The PV of ``SF-…`` as a ``fmt`` file (PDF for signing; Markdown to read it in chat)."""
    return render(pv_document(find_certified(session=session, reference=reference, t=t), t), fmt, t)
