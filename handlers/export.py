"""Every quote, flat, for ``incubot export`` (CSV or JSON): state, amounts, dates, actors, CHORUS."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from storage import ledger, reference


def _euros(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents // 100}.{cents % 100:02d}"


def export_rows(*, session: Session) -> list[dict[str, Any]]:
    convention = reference.current_convention(session=session)
    names = {p.id: p.name for p in reference.people(session=session)}
    startups = {s.id: s.name for s in reference.startups(session=session)}
    chorus = {
        "chorus_axe_ministeriel": convention.chorus_axe_ministeriel if convention else "",
        "chorus_domaine_fonctionnel": convention.chorus_domaine_fonctionnel if convention else "",
        "chorus_centre_financier": convention.chorus_centre_financier if convention else "",
        "chorus_activite": convention.chorus_activite if convention else "",
        "chorus_centre_de_cout": convention.chorus_centre_de_cout if convention else "",
        "convention": convention.reference if convention else "",
        "operational_unit": convention.operational_unit if convention else "",
    }
    rows = []
    for q in ledger.all_quotes(session=session):
        rows.append({
            "reference": q.reference,
            "status": q.status,
            "startup_id": q.startup_id,
            "startup": startups.get(q.startup_id, q.startup_id),
            "supplier": q.supplier,
            "object": q.object,
            "amount_ttc": _euros(q.amount_cents),
            "amount_ht": _euros(q.amount_ht_cents),
            "certified": _euros(q.certified_cents),
            "remaining": _euros(q.amount_cents - q.certified_cents) if q.status == "validated" else "",
            "submitted_by": names.get(q.submitted_by, q.submitted_by),
            "submitted_at": q.created_at.isoformat(),
            "decided_by": names.get(q.decided_by, q.decided_by) if q.decided_by else "",
            "decided_at": q.decided_at.isoformat() if q.decided_at else "",
            "commitment_year": q.commitment_year or "",
            "refusal_reason": q.refusal_reason or "",
            "platform": q.platform,
            **chorus,
        })
    return rows
