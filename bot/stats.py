"""``GET /stats`` (public HTML, French, readable on a phone) and ``GET /stats.json``.

The figures come from :mod:`storage.stats` (aggregates only: no person appears);
this module only renders them: a small self-contained page, no script, no
external asset, an inline SVG chart of AE/CP consumption per year.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route

from bot.runtime import Runtime
from handlers.i18n import Translator
from handlers.money import decimal_euros
from storage.db import unit_of_work
from storage.models import QuoteStatus
from storage.stats import PublicStats, YearFigures, public_stats

PHASES_FR = {
    "investigation": "Investigation",
    "construction": "Construction",
    "acceleration": "Accélération",
    "consolidation": "Consolidation",
}
REMINDERS_FR = {
    "reminder.committee": "Rappels de comité",
    "reminder.monthly_report": "Rapports mensuels",
    "reminder.digest": "Relances de décisions en attente",
    "reminder.budget.ae": "Alertes de seuil AE",
    "reminder.budget.cp": "Alertes de seuil CP",
    "reminder.projection": "Alertes de crédits inemployés",
    "reminder.convention": "Rappels de fin de convention",
}
CACHE = {"Cache-Control": "public, max-age=60"}
UNAVAILABLE = ('<!doctype html><html lang="fr"><meta charset="utf-8"><title>Statistiques indisponibles</title>'
               "<p>Les statistiques sont momentanément indisponibles. Réessayez dans quelques minutes.</p></html>")
log = logging.getLogger("incubot.stats")


def stats_json(stats: PublicStats) -> dict[str, Any]:
    """The page's figures as JSON: amounts as decimal strings in euros, durations in seconds."""
    return {
        "years": [
            {"year": y.year,
             "ae": {"allocated": decimal_euros(y.ae_cents), "committed": decimal_euros(y.ae_committed_cents)},
             "cp": {"allocated": decimal_euros(y.cp_cents), "consumed": decimal_euros(y.cp_consumed_cents)},
             "quotes_validated": y.quotes_validated}
            for y in stats.years
        ],
        "quotes": {"validated": stats.quotes_validated, "by_status": stats.quotes},
        "service_done": {"by_status": stats.service_done},
        "median_time_to_decision_seconds": {"quotes": stats.median_quote_decision_seconds,
                                            "service_done": stats.median_service_done_decision_seconds},
        "startups_by_phase": {phase: len(names) for phase, names in stats.startups_by_phase.items()},
        "startups": [{"name": n, "phase": p} for p, names in stats.startups_by_phase.items() for n in names],
        "reminders_sent": {"total": stats.reminders_sent_total, "by_kind": stats.reminders_sent},
    }


def duration_fr(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} j {hours} h" if hours else f"{days} j"
    if hours:
        return f"{hours} h {minutes:02d}" if minutes else f"{hours} h"
    return f"{max(minutes, 1)} min"


def chart_svg(years: list[YearFigures], t: Translator) -> str:
    """Horizontal bars per year: the allocation (light) and what is used of it (dark), AE then CP."""
    if not years:
        return ""
    width, label_w, bar_h, gap, row_gap = 640, 64, 18, 6, 22
    scale_w = width - label_w - 8
    biggest = max(max(y.ae_cents, y.cp_cents) for y in years) or 1
    height = len(years) * (2 * bar_h + gap + row_gap) + 30
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg" font-size="13">',
             '<title id="chart-title">Consommation des AE et des CP par année</title>']
    y_pos = 10
    for y in years:
        parts.append(f'<text x="0" y="{y_pos + bar_h + gap // 2 + 4}" font-weight="bold">{y.year}</text>')
        for label, used, allocated, color, light in (
            ("AE", y.ae_committed_cents, y.ae_cents, "#000091", "#cacafb"),
            ("CP", y.cp_consumed_cents, y.cp_cents, "#18753c", "#b8fec9"),
        ):
            full = scale_w * allocated // biggest
            part = scale_w * min(used, allocated) // biggest
            rate = t.percent(used, allocated)
            title = f"{label} {y.year} : {t.money(used)} sur {t.money(allocated)} ({rate})"
            parts.append(f'<g><title>{escape(title)}</title>'
                         f'<rect x="{label_w}" y="{y_pos}" width="{max(full, 1)}" height="{bar_h}" fill="{light}"/>'
                         f'<rect x="{label_w}" y="{y_pos}" width="{part}" height="{bar_h}" fill="{color}"/>'
                         # A white halo keeps the label readable over the dark, the light and no bar alike.
                         f'<text x="{label_w + 4}" y="{y_pos + bar_h - 5}" fill="#161616" stroke="#fff" '
                         f'stroke-width="3" paint-order="stroke">{label} {escape(rate)}</text></g>')
            y_pos += bar_h + gap
        y_pos += row_gap
    parts.append(f'<text x="{label_w}" y="{height - 6}" fill="#666">Barre claire : dotation · barre foncée : '
                 'AE engagées / CP consommés</text>')
    parts.append("</svg>")
    return "".join(parts)


def stats_html(stats: PublicStats, t: Translator) -> str:
    years_rows = "".join(
        f"<tr><th scope='row'>{y.year}</th><td>{t.money(y.ae_cents)}</td><td>{t.money(y.ae_committed_cents)}</td>"
        f"<td>{t.percent(y.ae_committed_cents, y.ae_cents)}</td><td>{t.money(y.cp_cents)}</td>"
        f"<td>{t.money(y.cp_consumed_cents)}</td><td>{t.percent(y.cp_consumed_cents, y.cp_cents)}</td>"
        f"<td>{y.quotes_validated}</td></tr>"
        for y in stats.years
    )
    phases = "".join(
        f"<li><strong>{escape(PHASES_FR.get(phase, phase))}</strong> : {len(names)}"
        + (f" — {escape(', '.join(names))}" if names else "") + "</li>"
        for phase, names in stats.startups_by_phase.items()
    )
    reminders = "".join(
        f"<li>{escape(REMINDERS_FR.get(kind, kind))} : {n}</li>" for kind, n in stats.reminders_sent.items()
    ) or "<li>Aucun pour l'instant.</li>"
    pending = stats.quotes.get(QuoteStatus.PENDING, 0)
    refused = stats.quotes.get(QuoteStatus.REFUSED, 0)
    return f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Statistiques de l'incubateur — incubot</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 52rem;
       padding: 1rem; color: #161616; line-height: 1.45; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 2rem; }}
.cards {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .75rem; }}
.card {{ border: 1px solid #ddd; border-radius: .5rem; padding: .75rem; }}
.card b {{ display: block; font-size: 1.5rem; }}
.table {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
th, td {{ padding: .35rem .5rem; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }}
th:first-child, td:first-child {{ text-align: left; }}
footer {{ margin-top: 2rem; color: #666; font-size: .85rem; }}
</style>
</head>
<body>
<h1>Statistiques de l'incubateur</h1>
<p>Ce que l'incubateur engage et consomme au titre de la convention de délégation de gestion,
et la vitesse à laquelle les décisions sont prises. Chiffres agrégés, sans donnée personnelle.</p>
<div class="cards">
<div class="card"><b>{stats.quotes_validated}</b>devis validés</div>
<div class="card"><b>{duration_fr(stats.median_quote_decision_seconds)}</b>délai médian de décision sur un devis</div>
<div class="card"><b>{duration_fr(stats.median_service_done_decision_seconds)}</b>délai médian de certification
d'un service fait</div>
<div class="card"><b>{stats.reminders_sent_total}</b>rappels et alertes envoyés</div>
</div>
<p>Devis en attente : {pending} · refusés : {refused}.</p>
<h2>Consommation des crédits par année</h2>
{chart_svg(stats.years, t)}
<div class="table"><table>
<thead><tr><th scope="col">Année</th><th scope="col">AE allouées</th><th scope="col">AE engagées</th>
<th scope="col">Taux</th><th scope="col">CP alloués</th><th scope="col">CP consommés</th><th scope="col">Taux</th>
<th scope="col">Devis validés</th></tr></thead>
<tbody>{years_rows}</tbody>
</table></div>
<h2>Startups par phase</h2>
<ul>{phases}</ul>
<h2>Rappels envoyés</h2>
<ul>{reminders}</ul>
<footer>Données aussi disponibles en JSON : <a href="/stats.json">/stats.json</a>.</footer>
</body>
</html>
"""


def _read(runtime: Runtime) -> PublicStats:
    with unit_of_work(runtime.services.sessions) as session:
        return public_stats(session=session)


def routes(runtime: Runtime) -> list[BaseRoute]:
    # The public page is in French whatever INCUBOT_LANGUAGE says: it is the ministry's public page.
    t = Translator("fr", runtime.services.tz)

    async def page(_request: Request) -> HTMLResponse:
        try:
            stats = await run_in_threadpool(_read, runtime)
        except SQLAlchemyError:
            log.exception("/stats: database unavailable")
            return HTMLResponse(UNAVAILABLE, status_code=503)
        return HTMLResponse(stats_html(stats, t), headers=CACHE)

    async def data(_request: Request) -> JSONResponse:
        try:
            stats = await run_in_threadpool(_read, runtime)
        except SQLAlchemyError:
            log.exception("/stats.json: database unavailable")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse(stats_json(stats), headers=CACHE)

    return [Route("/stats", page, methods=["GET"]), Route("/stats.json", data, methods=["GET"])]
