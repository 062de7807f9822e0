"""``GET /stats`` and ``GET /stats/STARTUP`` (public HTML, French, readable on a phone) and their JSON.

The figures come from :mod:`storage.stats` (aggregates only: no person appears); this module only
renders them in the visual language of the State's sites (DSFR): a header block with the ministry's
name and the service's, bleu France (#000091) and rouge Marianne (#E1000F) on a grey scale, system
fonts, contrasts above WCAG AA. Self-contained: inline CSS, no script, no asset from anywhere else,
and no CSS at-rule (the page holds no ``@`` at all, so no address can ever hide in it). The charts
are HTML bars whose labels are text at the page's size, legible on a phone; tables scroll sideways.
"""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

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
from storage.stats import PublicConvention, PublicStartup, PublicStats, StartupStats, public_stats, startup_stats

PHASES_FR = {
    "investigation": "Investigation",
    "construction": "Construction",
    "acceleration": "Accélération",
    "consolidation": "Consolidation",
}
DECISIONS_FR = {"poursuite": "poursuite", "relais": "relais", "acceleration": "accélération", "arret": "arrêt"}
REMINDERS_FR = {
    "reminder.committee": "Rappels de comité",
    "reminder.monthly_report": "Rapports mensuels",
    "reminder.digest": "Relances de décisions en attente",
    "reminder.budget.ae": "Alertes de seuil AE",
    "reminder.budget.cp": "Alertes de seuil CP",
    "reminder.projection": "Alertes de crédits inemployés",
    "reminder.convention": "Rappels de fin de convention",
    "reminder.final_report": "Bilans de fin de convention",
}
CACHE = {"Cache-Control": "public, max-age=60"}
UNAVAILABLE = ('<!doctype html><html lang="fr"><meta charset="utf-8"><title>Statistiques indisponibles</title>'
               "<p>Les statistiques sont momentanément indisponibles. Réessayez dans quelques minutes.</p></html>")
log = logging.getLogger("incubot.stats")

# DSFR tokens: bleu France, rouge Marianne, the grey scale; focus ring #0a76f6. No at-rule anywhere.
CSS = """
:root { --blue: #000091; --blue-light: #e3e3fd; --red: #e1000f; --text: #161616; --muted: #3a3a3a;
        --grey: #666666; --line: #dddddd; --bg-alt: #f6f6f6; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--text); background: #fff; line-height: 1.5;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       font-size: 1rem; }
a { color: var(--blue); text-underline-offset: .2em; }
a:focus-visible, [tabindex]:focus-visible { outline: 2px solid #0a76f6; outline-offset: 2px; }
.skip { position: absolute; left: -100vw; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem 1rem; z-index: 2; }
.container { width: 100%; max-width: 62rem; margin: 0 auto; padding: 0 clamp(1rem, 4vw, 1.5rem); }
.header { border-bottom: 1px solid var(--line); box-shadow: 0 6px 12px -8px rgba(0, 0, 18, .16); }
.header-body { display: flex; flex-wrap: wrap; align-items: center; gap: .75rem 2rem; padding-top: 1rem;
               padding-bottom: 1rem; }
.marque { margin: 0; font-weight: 700; text-transform: uppercase; letter-spacing: -.01em; line-height: 1.05;
          font-size: 1.05rem; }
.marque::before { content: ""; display: block; width: 2.6rem; height: .35rem; margin-bottom: .45rem;
                  background: linear-gradient(90deg, var(--blue) 33.3%, #fff 33.3% 66.6%, var(--red) 66.6%);
                  border: 1px solid var(--line); }
.devise { margin: .35rem 0 0; font-style: italic; font-size: .75rem; line-height: 1.15; color: var(--muted); }
.service { border-left: 1px solid var(--line); padding-left: 1.25rem; min-width: 12rem; flex: 1; }
.service-title { display: inline-block; font-weight: 700; font-size: 1.25rem; color: var(--text);
                 text-decoration: none; }
.service-tagline { margin: .1rem 0 0; color: var(--muted); font-size: .875rem; }
main { padding-top: 2rem; padding-bottom: 3rem; }
.breadcrumb { font-size: .875rem; color: var(--muted); margin: 0 0 1rem; }
h1 { font-size: clamp(1.6rem, 5vw, 2.25rem); line-height: 1.2; margin: 0 0 .75rem; }
h2 { font-size: clamp(1.3rem, 3.6vw, 1.6rem); line-height: 1.25; margin: 2.5rem 0 1rem; }
h3 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
.lead { font-size: 1.1rem; margin: 0 0 1rem; max-width: 46rem; }
.badge { display: inline-block; background: var(--blue-light); color: var(--blue); font-weight: 700;
         font-size: .875rem; padding: .15rem .6rem; border-radius: .25rem; margin: 0 .4rem .4rem 0; }
.tag { display: inline-block; background: #eeeeee; color: var(--text); font-size: .8rem; padding: .05rem .55rem;
       border-radius: 1rem; margin-left: .35rem; white-space: nowrap; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 9.5rem), 1fr)); gap: .75rem;
         margin: 1.5rem 0 0; padding: 0; list-style: none; }
.tile { border: 1px solid var(--line); border-bottom: 4px solid var(--blue); padding: .8rem .9rem;
        font-size: .95rem; line-height: 1.35; }
.tile b { display: block; font-size: 1.75rem; line-height: 1.2; color: var(--blue); }
.callout { border-left: 4px solid var(--blue); background: var(--bg-alt); padding: 1.25rem 1.5rem; margin: 1.5rem 0; }
.callout h2 { margin-top: 0; }
.callout code, code { background: #fff; border: 1px solid var(--line); padding: .05rem .3rem; font-size: .9em;
                      overflow-wrap: anywhere; }
.year { margin: 0 0 1.25rem; }
.meter { margin: .35rem 0 .7rem; }
.meter-label { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0 1rem; font-size: .95rem; }
.meter-label strong { white-space: nowrap; }
.meter-label span + span { margin-left: auto; text-align: right; }
.track { height: 1rem; background: #eeeeee; border: 1px solid #cecece; margin-top: .2rem; }
.fill { height: 100%; }
.fill-ae { background: var(--blue); }
.fill-cp { background: var(--red); }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line); }
table { border-collapse: collapse; width: 100%; min-width: 38rem; font-size: .9rem; }
th, td { padding: .55rem .7rem; text-align: right; white-space: nowrap; border-top: 1px solid var(--line); }
thead th { background: var(--bg-alt); border-bottom: 2px solid var(--text); }
th:first-child, td:first-child { text-align: left; }
.scroll-hint { font-size: .8rem; color: var(--grey); margin: .3rem 0 0; }
.startups { list-style: none; margin: 0; padding: 0; display: grid; gap: .75rem;
            grid-template-columns: repeat(auto-fill, minmax(min(100%, 16rem), 1fr)); }
.startups li { border: 1px solid var(--line); padding: .8rem 1rem; }
.startups a { font-weight: 700; font-size: 1.05rem; }
.startups p { margin: .25rem 0 0; color: var(--muted); font-size: .9rem; }
ul.plain { padding-left: 1.2rem; }
.footer { border-top: 2px solid var(--blue); margin-top: 2rem; padding: 1.5rem 0 2rem; font-size: .875rem;
          color: var(--muted); }
.footer p { margin: .25rem 0; }
"""


def stats_json(stats: PublicStats, now: datetime | None = None) -> dict[str, Any]:
    """The page's figures as JSON: amounts as decimal strings in euros, durations in seconds (keys are only
    ever added: programs read them)."""
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
        "startups": [{"name": s.name, "phase": s.phase, "id": s.id, "url": startup_path(s.id),
                      "committee_decisions": s.committee_decisions} for s in stats.startups],
        "reminders_sent": {"total": stats.reminders_sent_total, "by_kind": stats.reminders_sent},
        "committee_decisions": stats.committee_decisions,
        "data_as_of": now.isoformat() if now is not None else None,
    }


def startup_json(stats: StartupStats, now: datetime | None = None) -> dict[str, Any]:
    s = stats.startup
    last = stats.last_decision
    return {
        "id": s.id, "name": s.name, "phase": s.phase,
        "phase_started": s.phase_started.isoformat() if s.phase_started else None,
        "years": [{"year": y.year, "ae": {"committed": decimal_euros(y.ae_committed_cents)},
                   "cp": {"consumed": decimal_euros(y.cp_consumed_cents)}, "quotes_validated": y.quotes_validated}
                  for y in stats.years],
        "quotes": {"by_status": stats.quotes}, "service_done": {"by_status": stats.service_done},
        "median_time_to_decision_seconds": {"quotes": stats.median_quote_decision_seconds},
        "committee_decisions": s.committee_decisions,
        "last_decision": None if last is None else {
            "kind": last.kind, "amount": decimal_euros(last.amount_cents), "until": last.until.isoformat(),
            "decided_on": last.decided_at.date().isoformat()},
        "data_as_of": now.isoformat() if now is not None else None,
    }


def startup_path(startup_id: str) -> str:
    return "/stats/" + quote(startup_id, safe="")


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


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n <= 1 else many}"  # French: 0 and 1 take the singular


def _width(used: int, allocated: int) -> str:
    """The bar's width in percent, exact to a tenth, within 0–100 (integers only)."""
    if allocated <= 0:
        return "0"
    tenths = max(0, min(1000, used * 1000 // allocated))
    return f"{tenths // 10}.{tenths % 10}"


def meter(label: str, used: int, allocated: int | None, kind: str, t: Translator) -> str:
    """A labelled bar: « AE engagées — 310 000,00 € sur 1 500 000,00 € (21 %) »; the text says it all, the bar
    repeats it for the eye (hidden from screen readers)."""
    if allocated is None:
        figure = f"<strong>{t.money(used)}</strong>"
        bar = ""
    else:
        figure = (f"<strong>{t.money(used)}</strong> sur {t.money(allocated)} "
                  f"({escape(t.percent(used, allocated))})")
        bar = (f'<div class="track" aria-hidden="true"><div class="fill fill-{kind}" '
               f'style="width:{_width(used, allocated)}%"></div></div>')
    return (f'<div class="meter"><div class="meter-label"><span>{escape(label)}</span><span>{figure}</span></div>'
            f"{bar}</div>")


def _marque(convention: PublicConvention | None) -> str:
    """The ministry's name as the State's header block writes it: uppercase, broken after « Ministère »."""
    name = convention.delegant if convention is not None else "République française"
    words = name.split(" ", 1)
    if len(words) == 2 and words[0].lower() in ("ministère", "république", "secrétariat", "premier"):
        return f"{escape(words[0])}<br>{escape(words[1])}"
    return escape(name)


def page(title: str, body: str, convention: PublicConvention | None, *, crumbs: str = "",
         json_path: str = "/stats.json") -> str:
    tagline = ("Convention de délégation de gestion " + escape(convention.reference) + " · "
               + escape(convention.delegant) + " / " + escape(convention.delegataire)) if convention else \
        "Convention de délégation de gestion"
    return f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{escape(title)} — incubateur</title>
<style>{CSS}</style>
</head>
<body>
<a class="skip" href="#contenu">Aller au contenu</a>
<header class="header" role="banner">
<div class="container header-body">
<div class="brand"><p class="marque">{_marque(convention)}</p>
<p class="devise">Liberté<br>Égalité<br>Fraternité</p></div>
<div class="service"><a class="service-title" href="/stats">Incubateur de startups d'État</a>
<p class="service-tagline">{tagline}</p></div>
</div>
</header>
<main id="contenu" class="container" tabindex="-1">
{crumbs}{body}
</main>
<footer class="footer" role="contentinfo">
<div class="container">
<p>Page publique prévue par la convention (art. 4 : chaque équipe publie ses indicateurs d'impact).
Chiffres agrégés, sans donnée personnelle.</p>
<p>Données aussi disponibles en JSON : <a href="{json_path}">{json_path}</a>. Page produite par incubot,
logiciel libre.</p>
</div>
</footer>
</body>
</html>
"""


def _as_of(now: datetime | None, t: Translator) -> str:
    return f'<p class="badge">Données au {escape(t.datetime(now))}</p>' if now is not None else ""


def _empty_state() -> str:
    return ("<section class=\"callout\" aria-labelledby=\"vide\"><h2 id=\"vide\">Aucune donnée pour l'instant</h2>"
            "<p>Cette page se remplit dès que la convention est chargée. Importez le fichier de référence — "
            "convention, dotations AE et CP de chaque année, startups, personnes, comités :</p>"
            "<p><code>incubot import convention.toml</code></p>"
            "<p>Le modèle du fichier est dans <code>examples/convention-culture.toml</code>. Les montants "
            "engagés et consommés apparaissent au premier devis validé.</p></section>")


def _startup_items(startups: list[PublicStartup], t: Translator) -> str:
    if not startups:
        return ("<p>Aucune startup n'est enregistrée : ajoutez-les au fichier de référence (une section "
                "<code>[[startup]]</code> chacune) puis relancez <code>incubot import</code>.</p>")
    items = []
    for s in startups:
        since = f" depuis le {escape(t.date(s.phase_started))}" if s.phase_started else ""
        items.append(f'<li><a href="{startup_path(s.id)}">{escape(s.name)}</a>'
                     f'<p>{escape(PHASES_FR.get(s.phase, s.phase))}{since} · '
                     f'{_plural(s.committee_decisions, "décision de comité", "décisions de comité")}</p></li>')
    return f'<ul class="startups">{"".join(items)}</ul>'


def stats_html(stats: PublicStats, t: Translator, now: datetime | None = None) -> str:
    tiles = (
        f'<ul class="tiles"><li class="tile"><b>{stats.quotes_validated}</b>devis validés</li>'
        f'<li class="tile"><b>{duration_fr(stats.median_quote_decision_seconds)}</b>délai médian de décision sur '
        f'un devis</li><li class="tile"><b>{duration_fr(stats.median_service_done_decision_seconds)}</b>délai '
        f'médian de certification d\'un service fait</li>'
        f'<li class="tile"><b>{stats.committee_decisions}</b>décisions de comité d\'investissement</li>'
        f'<li class="tile"><b>{stats.reminders_sent_total}</b>rappels et alertes envoyés</li></ul>'
    )
    intro = ("<h1>Statistiques de l'incubateur</h1><p class=\"lead\">Ce que l'incubateur engage et consomme au "
             "titre de la convention de délégation de gestion, et la vitesse à laquelle les décisions sont "
             "prises.</p>" + _as_of(now, t))
    if stats.is_empty:
        return page("Statistiques de l'incubateur", intro + _empty_state(), stats.convention)
    pending = stats.quotes.get(QuoteStatus.PENDING, 0)
    refused = stats.quotes.get(QuoteStatus.REFUSED, 0)
    bars = "".join(
        f'<div class="year"><h3>{y.year}</h3>'
        + meter("AE engagées", y.ae_committed_cents, y.ae_cents, "ae", t)
        + meter("CP consommés", y.cp_consumed_cents, y.cp_cents, "cp", t) + "</div>"
        for y in reversed(stats.years)
    ) or "<p>Aucune dotation n'est enregistrée : ajoutez les <code>[[allocation]]</code> au fichier de " \
         "référence.</p>"
    rows = "".join(
        f"<tr><th scope='row'>{y.year}</th><td>{t.money(y.ae_cents)}</td><td>{t.money(y.ae_committed_cents)}</td>"
        f"<td>{t.percent(y.ae_committed_cents, y.ae_cents)}</td><td>{t.money(y.cp_cents)}</td>"
        f"<td>{t.money(y.cp_consumed_cents)}</td><td>{t.percent(y.cp_consumed_cents, y.cp_cents)}</td>"
        f"<td>{y.quotes_validated}</td></tr>"
        for y in stats.years
    )
    table = (
        '<h3 id="tableau-credits">Dotations, engagements et consommations par année</h3>'
        '<div class="table-wrap" tabindex="0" role="region" aria-labelledby="tableau-credits"><table>'
        '<thead><tr><th scope="col">Année</th><th scope="col">AE allouées</th><th scope="col">AE engagées</th>'
        '<th scope="col">Taux AE</th><th scope="col">CP alloués</th><th scope="col">CP consommés</th>'
        f'<th scope="col">Taux CP</th><th scope="col">Devis validés</th></tr></thead><tbody>{rows}</tbody>'
        '</table></div><p class="scroll-hint">Sur un écran étroit, le tableau défile horizontalement.</p>'
    ) if stats.years else ""
    phases = "".join(f"<li><strong>{escape(PHASES_FR.get(phase, phase))}</strong> : {len(names)}</li>"
                     for phase, names in stats.startups_by_phase.items())
    reminders = "".join(
        f"<li>{escape(REMINDERS_FR.get(kind, kind))} : {n}</li>" for kind, n in stats.reminders_sent.items()
    ) or "<li>Aucun pour l'instant.</li>"
    body = (
        intro + tiles
        + f"<p>Devis en attente : {pending} · refusés : {refused}.</p>"
        + "<h2>Consommation des crédits par année</h2>" + bars + table
        + f"<h2>Les startups ({len(stats.startups)})</h2>" + _startup_items(stats.startups, t)
        + f'<h3>Par phase</h3><ul class="plain">{phases}</ul>'
        + f'<h2>Rappels envoyés</h2><ul class="plain">{reminders}</ul>'
    )
    return page("Statistiques de l'incubateur", body, stats.convention)


def startup_html(stats: StartupStats, t: Translator, now: datetime | None = None) -> str:
    s = stats.startup
    since = f" depuis le {escape(t.date(s.phase_started))}" if s.phase_started else ""
    crumbs = (f'<nav class="breadcrumb" aria-label="Vous êtes ici"><a href="/stats">Statistiques de '
              f"l'incubateur</a> › {escape(s.name)}</nav>")
    last = stats.last_decision
    decision = (
        f"<p>Dernière décision du comité d'investissement : <strong>{escape(DECISIONS_FR.get(last.kind, last.kind))}"
        f"</strong>, {t.money(last.amount_cents)} jusqu'au {escape(t.date(last.until))} "
        f"(décidée le {escape(t.date(last.decided_at.astimezone(t.tz).date()))}).</p>"
    ) if last is not None else "<p>Aucune décision de comité d'investissement n'est encore enregistrée.</p>"
    certified = sum(n for status, n in stats.service_done.items() if status not in ("pending", "refused"))
    tiles = (
        f'<ul class="tiles"><li class="tile"><b>{stats.quotes_validated}</b>devis validés</li>'
        f'<li class="tile"><b>{duration_fr(stats.median_quote_decision_seconds)}</b>délai médian de décision sur '
        f'un devis</li><li class="tile"><b>{certified}</b>services faits certifiés</li>'
        f'<li class="tile"><b>{s.committee_decisions}</b>décisions de comité d\'investissement</li></ul>'
    )
    bars = "".join(
        f'<div class="year"><h3>{y.year}</h3>' + meter("AE engagées", y.ae_committed_cents, None, "ae", t)
        + meter("CP consommés", y.cp_consumed_cents, None, "cp", t) + "</div>"
        for y in reversed(stats.years)
    ) or "<p>Aucun devis validé pour l'instant.</p>"
    body = (
        f"<h1>{escape(s.name)}</h1><p class=\"lead\">Startup d'État de l'incubateur, en phase "
        f"<strong>{escape(PHASES_FR.get(s.phase, s.phase).lower())}</strong>{since}.</p>"
        + _as_of(now, t) + tiles + "<h2>Comité d'investissement</h2>" + decision
        + "<h2>Crédits engagés et consommés par année</h2>" + bars
        + '<p><a href="/stats">← Toutes les startups de l\'incubateur</a></p>'
    )
    return page(s.name, body, stats.convention, crumbs=crumbs, json_path=startup_path(s.id) + ".json")


def not_found_html(startup_id: str, convention: PublicConvention | None) -> str:
    body = (f"<h1>Startup introuvable</h1><p>Aucune startup de l'incubateur ne porte l'identifiant "
            f"« {escape(startup_id[:100])} ».</p><p><a href=\"/stats\">← Toutes les startups de l'incubateur</a></p>")
    return page("Startup introuvable", body, convention)


def _read(runtime: Runtime) -> PublicStats:
    with unit_of_work(runtime.services.sessions) as session:
        return public_stats(session=session)


def _read_startup(runtime: Runtime, startup_id: str) -> tuple[StartupStats | None, PublicConvention | None]:
    with unit_of_work(runtime.services.sessions) as session:
        found = startup_stats(session=session, startup_id=startup_id)
        return found, (found.convention if found is not None else public_stats(session=session).convention)


def routes(runtime: Runtime) -> list[BaseRoute]:
    # The public page is in French whatever INCUBOT_LANGUAGE says: it is the ministry's public page.
    t = Translator("fr", runtime.services.tz)

    async def html(_request: Request) -> HTMLResponse:
        try:
            stats = await run_in_threadpool(_read, runtime)
        except SQLAlchemyError:
            log.exception("/stats: database unavailable")
            return HTMLResponse(UNAVAILABLE, status_code=503)
        return HTMLResponse(stats_html(stats, t, runtime.services.now()), headers=CACHE)

    async def data(_request: Request) -> JSONResponse:
        try:
            stats = await run_in_threadpool(_read, runtime)
        except SQLAlchemyError:
            log.exception("/stats.json: database unavailable")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse(stats_json(stats, runtime.services.now()), headers=CACHE)

    async def one(request: Request) -> HTMLResponse | JSONResponse:
        name = str(request.path_params["startup"])
        as_json = name.endswith(".json")
        startup_id = name[:-5] if as_json else name
        try:
            found, convention = await run_in_threadpool(_read_startup, runtime, startup_id)
        except SQLAlchemyError:
            log.exception("/stats/%s: database unavailable", startup_id[:100])
            return JSONResponse({"status": "unavailable"}, status_code=503) if as_json else \
                HTMLResponse(UNAVAILABLE, status_code=503)
        if found is None:
            return JSONResponse({"status": "not found"}, status_code=404) if as_json else \
                HTMLResponse(not_found_html(startup_id, convention), status_code=404)
        now = runtime.services.now()
        if as_json:
            return JSONResponse(startup_json(found, now), headers=CACHE)
        return HTMLResponse(startup_html(found, t, now), headers=CACHE)

    return [Route("/stats", html, methods=["GET"]), Route("/stats.json", data, methods=["GET"]),
            Route("/stats/{startup}", one, methods=["GET"])]
