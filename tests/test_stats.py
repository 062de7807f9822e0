"""The public /stats page and /stats.json, and /healthz: what anyone on the internet can read."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from bot.scheduler import sweep
from bot.server import create_app
from storage import ledger
from storage.db import make_engine, unit_of_work
from tests.chat import RecordingSender, composed

PARIS = ZoneInfo("Europe/Paris")
PEOPLE = ("Camille", "Martin", "Hugo", "Bernard", "Claire", "Petit", "Julien", "Moreau", "Sophie", "Laurent",
          "Nadia", "Benali", "Léa", "Dupont", "Thomas", "Roux", "example.org", "camille.martin", "lea.dupont", "@")


@pytest.fixture
def site(engine, world, clock):  # type: ignore[no-untyped-def]
    """The HTTP app on the demo world, with two decided quotes, one waiting, and the reminders of 1 December."""
    incubot = composed(engine, clock, RecordingSender())
    runtime = incubot.runtime
    t0 = datetime(2026, 10, 5, 10, tzinfo=PARIS)
    with unit_of_work(world) as session:
        for startup, intra, cents, hours, fate in (("dedale", "julien.moreau", 10_000_00, 2, "validate"),
                                                   ("euphrosyne", "sophie.laurent", 300_000_00, 30, "validate"),
                                                   ("locadocs", "nadia.benali", 2_000_00, 4, "refuse"),
                                                   ("dedale", "julien.moreau", 1_000_00, 0, None)):
            q = ledger.create_quote(session=session, startup_id=startup, submitted_by="lea.dupont",
                                    amount_cents=cents, amount_ht_cents=None, supplier="Scopyleft",
                                    object="Sprints", platform="console", now=t0, year=2026)
            if fate == "validate":
                ledger.validate_quote(session=session, reference=q.reference, actor_id=intra, platform="console",
                                      now=t0 + timedelta(hours=hours), year=2026)
            elif fate == "refuse":
                ledger.refuse_quote(session=session, reference=q.reference, actor_id=intra, platform="console",
                                    reason="Hors périmètre", now=t0 + timedelta(hours=hours))
        from sqlmodel import select

        from storage.committees import record_decision
        from storage.models import Committee

        committee = session.exec(select(Committee).order_by(Committee.held_on)).first()
        assert committee is not None
        record_decision(session=session, startup_id="dedale", committee=committee, kind="poursuite",
                        amount_cents=120_000_00, until=date(2027, 6, 30), note="Belle traction",
                        actor_id="camille.martin", platform="console", now=t0)
    sweep(runtime, datetime(2026, 12, 1, 9, tzinfo=PARIS))
    return TestClient(create_app(incubot))


class _Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_stats_page_is_public_french_readable_on_a_phone_with_its_charts(site: TestClient) -> None:
    """Anyone gets the page: French, a viewport for phones, the key figures, bars whose labels are text."""
    response = site.get("/stats")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    parsed = _Parsed()
    parsed.feed(html)
    text = " ".join(parsed.text)
    assert '<html lang="fr">' in html and 'name="viewport"' in html
    assert 'class="fill fill-ae" style="width:20.6%"' in html  # 310 000 of 1 500 000, to a tenth
    assert "script" not in parsed.tags and "img" not in parsed.tags and "link" not in parsed.tags
    assert "Statistiques de l'incubateur" in text
    assert "devis validés" in text and "délai médian" in text
    assert "4 h" in text  # median of 2 h, 4 h and 30 h
    assert "310 000,00 €" in text and "1 500 000,00 €" in text  # AE 2026 committed / allocated
    assert "Construction" in text and "Dédale" in text and "Euphrosyne" in text
    assert "Rapports mensuels : 1" in text
    assert "AE engagées 310 000,00 € sur 1 500 000,00 € (21 %)" in " ".join(text.split())


def test_stats_page_wears_the_state_s_header_and_links_each_startup(site: TestClient) -> None:
    """The header block names the ministry and the service; each startup links to its own page; the
    committee decisions are counted; the date of the data is said; the table scrolls on a phone."""
    html = site.get("/stats").text
    assert '<header class="header" role="banner">' in html
    assert '<p class="marque">Ministère<br>de la Culture</p>' in html and "Liberté<br>Égalité<br>Fraternité" in html
    assert "Incubateur de startups d'État" in html and "#000091" in html and "#e1000f" in html
    assert '<a href="/stats/dedale">Dédale</a>' in html and '<a href="/stats/locadocs">Locadocs</a>' in html
    assert "<b>1</b>décisions de comité d'investissement" in html
    assert "1 décision de comité" in html  # Dédale's card
    assert "Données au 5 nov. 2026 à 10 h 00" in html  # the clock of the tests
    assert 'class="table-wrap" tabindex="0"' in html and "overflow-x: auto" in html
    assert "http" not in html.split("<body>")[0]  # nothing fetched from anywhere else: inline CSS only


def test_a_startup_has_its_own_public_page(site: TestClient) -> None:
    """/stats/dedale: its phase, its money per year, its last committee decision (no note, no person)."""
    response = site.get("/stats/dedale")
    assert response.status_code == 200
    text = " ".join(response.text.split())
    assert "<h1>Dédale</h1>" in text and "en phase <strong>construction</strong>" in text
    assert "AE engagées</span><span><strong>11 000,00 €</strong>" not in text  # the pending 1 000 € is not there
    assert "<strong>10 000,00 €</strong>" in text
    assert "<strong>poursuite</strong>, 120 000,00 € jusqu'au 30 juin 2027" in text
    assert "Belle traction" not in text and "Camille" not in text
    data = site.get("/stats/dedale.json").json()
    assert data["years"] == [{"year": 2026, "ae": {"committed": "10000.00"}, "cp": {"consumed": "0.00"},
                              "quotes_validated": 1}]
    assert data["last_decision"] == {"kind": "poursuite", "amount": "120000.00", "until": "2027-06-30",
                                     "decided_on": "2026-10-05"}


def test_an_unknown_startup_page_is_a_french_404(site: TestClient) -> None:
    """/stats/inconnue: 404, in French, with the way back; its JSON is a 404 too."""
    response = site.get("/stats/inconnue")
    assert response.status_code == 404 and "Startup introuvable" in response.text
    assert '<a href="/stats">' in response.text
    assert site.get("/stats/inconnue.json").status_code == 404


def test_stats_show_no_personal_data(site: TestClient) -> None:
    """No person's name, id or e-mail on the page or in the JSON — startups only."""
    for path in ("/stats", "/stats.json", "/stats/dedale", "/stats/dedale.json"):
        body = site.get(path).text
        for needle in PEOPLE:
            assert needle not in body, f"{needle!r} leaks on {path}"


def test_stats_json_gives_the_same_figures(site: TestClient) -> None:
    """/stats.json: amounts as decimal strings in euros, counts, median in seconds, phases, reminders sent."""
    data = site.get("/stats.json").json()
    y2026 = next(y for y in data["years"] if y["year"] == 2026)
    assert y2026["ae"] == {"allocated": "1500000.00", "committed": "310000.00"}
    assert y2026["quotes_validated"] == 2
    assert data["quotes"]["validated"] == 2 and data["quotes"]["by_status"]["pending"] == 1
    assert data["median_time_to_decision_seconds"]["quotes"] == 4 * 3600
    assert data["startups_by_phase"] == {"investigation": 1, "construction": 2, "acceleration": 1, "consolidation": 0}
    assert data["reminders_sent"]["by_kind"]["reminder.monthly_report"] == 1
    assert data["reminders_sent"]["total"] >= 3
    assert data["committee_decisions"] == 1 and data["data_as_of"] == "2026-11-05T10:00:00+01:00"
    dedale = next(s for s in data["startups"] if s["name"] == "Dédale")
    assert dedale == {"name": "Dédale", "phase": "construction", "id": "dedale", "url": "/stats/dedale",
                      "committee_decisions": 1}


def test_stats_on_an_empty_database(engine) -> None:  # type: ignore[no-untyped-def]
    """A fresh install renders the page with an empty state that says what to import (no year, no startup)."""
    incubot = composed(engine)
    client = TestClient(create_app(incubot))
    response = client.get("/stats")
    assert response.status_code == 200
    assert "Aucune donnée pour l'instant" in response.text and "incubot import convention.toml" in response.text
    assert "République<br>française" in response.text  # no convention yet: the Republic's name in the header
    assert client.get("/stats.json").json()["median_time_to_decision_seconds"]["quotes"] is None


def test_healthz_is_200_when_the_database_takes_a_write_and_counts_what_waits(site: TestClient) -> None:
    """/healthz writes its heartbeat row, says ok, and how many messages wait or failed, and requests wait."""
    response = site.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "outbox": {"pending": 0, "failed": 0}, "inbox": {"pending": 0}}
    runtime = site.app.state.incubot.runtime  # type: ignore[attr-defined]
    from sqlmodel import select

    from storage import outbox
    from storage.models import Heartbeat

    with unit_of_work(runtime.services.sessions) as session:
        assert len(session.exec(select(Heartbeat)).all()) == 1
        outbox.enqueue(session=session, kind="note", target="managers", occurrence="x",
                       payload={"reply": {"text": "a"}}, due_at=runtime.services.clock())
        failed = outbox.enqueue(session=session, kind="note", target="managers", occurrence="y",
                                payload={"reply": {"text": "b"}}, due_at=runtime.services.clock())
        assert failed is not None
        failed.status = "failed"
    assert site.get("/healthz").json()["outbox"] == {"pending": 1, "failed": 1}


def test_healthz_is_503_when_the_database_answers_reads_but_refuses_writes(engine, world) -> None:  # type: ignore[no-untyped-def]
    """A read-only SQLite database (PRAGMA query_only, which stops root too): SELECT 1 works, /healthz is 503."""
    import sqlalchemy as sa

    read_only = make_engine(engine.url.render_as_string(hide_password=False))
    sa.event.listen(read_only, "connect", lambda conn, _record: conn.execute("PRAGMA query_only = ON"))
    incubot = composed(read_only)
    response = TestClient(create_app(incubot)).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "not writable"}
    read_only.dispose()


def test_healthz_is_503_and_stats_unavailable_when_the_database_is_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A database that does not answer: /healthz 503 (the load balancer stops sending), /stats 503, no traceback."""
    down = make_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'incubot.db'}")
    incubot = composed(down)
    client = TestClient(create_app(incubot), raise_server_exceptions=False)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json() == {"status": "unavailable", "database": "down"}
    assert client.get("/stats").status_code == 503
    assert client.get("/stats.json").status_code == 503


@pytest.mark.postgres
def test_healthz_is_503_when_postgresql_does_not_answer() -> None:
    """A PostgreSQL server that is not there (closed port): 503, quickly."""
    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    incubot = composed(down)
    assert TestClient(create_app(incubot)).get("/healthz").status_code == 503
