"""Demo data: the seed convention mapped onto this year and the two before, four
startups of the Atelier numérique, fictional people, and quotes at every step of the order chain."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from importlib import resources

from sqlmodel import Session, select

from handlers.importer import parse_reference
from storage import ledger
from storage.db import SessionFactory, unit_of_work
from storage.ledger.writes import merge as ledger_merge
from storage.ledger.writes import move_month
from storage.models import Quote, QuoteStatus, ServiceDone, ServiceDoneStatus, Startup
from storage.platforms import PlatformName
from storage.reference import import_reference

# (startup, submitter, amount in cents, HT cents or None, supplier, object, days ago, fate, service done parts)
# Fates walk the order chain: validated (AE réservées, order not placed yet), ordered (an EJ: AE
# engagées), closed (ordered, then solded), refused, withdrawn, pending. Each part is certified
# (CP à payer) and, when ``paid``, paid two weeks later (CP consommés).
ORDERED, CLOSED, WITHDRAWN = QuoteStatus.ORDERED, QuoteStatus.CLOSED, QuoteStatus.WITHDRAWN
SAMPLE_QUOTES: list[tuple[str, str, int, int | None, str, str, int, QuoteStatus, list[tuple[int, str, bool]]]] = [
    ("collectif-objets", "lea.dupont", 9_600_000, 8_000_000, "Scopyleft", "Développement — sprints 1 à 6",
     120, ORDERED, [(2_400_000, "juillet", True), (2_400_000, "août", False)]),
    ("dedale", "lea.dupont", 4_500_000, None, "Octo Technology", "Design de service — recherche utilisateurs",
     60, ORDERED, [(1_500_000, "septembre", False)]),
    ("euphrosyne", "thomas.roux", 12_000_000, None, "Fabernovel", "Développement de la plateforme d'analyse",
     90, QuoteStatus.VALIDATED, []),
    ("locadocs", "thomas.roux", 1_800_000, 1_500_000, "Atelier Pixel", "Investigation — entretiens usagers",
     20, QuoteStatus.REFUSED, []),
    ("euphrosyne", "thomas.roux", 3_600_000, 3_000_000, "Atelier Pixel", "Tests utilisateurs — vague 1",
     110, CLOSED, [(2_400_000, "juin-juillet", True)]),
    ("locadocs", "thomas.roux", 900_000, None, "Arawa", "Atelier de cadrage", 10, WITHDRAWN, []),
    ("dedale", "lea.dupont", 3_000_000, None, "Scopyleft", "Accompagnement au déploiement",
     5, QuoteStatus.PENDING, []),
    ("collectif-objets", "lea.dupont", 2_250_000, None, "Arawa", "Audit d'accessibilité RGAA",
     3, QuoteStatus.PENDING, []),
]
INTRAPRENEUR = {"collectif-objets": "claire.petit", "dedale": "julien.moreau", "euphrosyne": "sophie.laurent",
                "locadocs": "nadia.benali"}
MANAGER = "hugo.bernard"


def _orders_open(at: datetime) -> datetime:
    """A day orders could be placed on: after the fin de gestion (12 December), the 12th."""
    return at.replace(day=12) if at.month == 12 and at.day > 12 else at


def demo_reference_text(year: int) -> str:
    template = resources.files("bot").joinpath("demo.toml").read_text(encoding="utf-8")
    return template.format(Y0=year - 2, Y1=year - 1, Y2=year)


def load_demo(sessions: SessionFactory, now: datetime) -> None:
    """Fill an empty database with the demo reference data and sample quotes, walking the order chain
    as people would have: validated, ordered with its EJ, certified, paid, closed — each step dated."""
    data = parse_reference(demo_reference_text(now.year))
    ej = iter(f"21000{n:05d}" for n in range(4512, 4600))  # the EJ numbers CHORUS would have given (ten digits)
    with unit_of_work(sessions) as session:
        import_reference(session=session, data=data, now=now)
        console = PlatformName.CONSOLE
        for startup, who, ttc, ht, supplier, obj, days, fate, parts in SAMPLE_QUOTES:
            at = _orders_open(now - timedelta(days=days))
            quote = ledger.create_quote(session=session, startup_id=startup, submitted_by=who, amount_cents=ttc,
                                        amount_ht_cents=ht, supplier=supplier, object=obj, platform=console,
                                        now=at, year=at.year)
            decided = _orders_open(at + timedelta(days=1))
            decider = INTRAPRENEUR[startup]
            if fate == WITHDRAWN:
                ledger.withdraw_quote(session=session, reference=quote.reference, actor_id=who, platform=console,
                                      now=decided, reason="Remplacé par un devis plus complet.")
            elif fate == QuoteStatus.REFUSED:
                ledger.refuse_quote(session=session, reference=quote.reference, actor_id=decider,
                                    platform=console, reason="Le périmètre doit d'abord être validé en comité.",
                                    now=decided)
            elif fate != QuoteStatus.PENDING:
                ledger.validate_quote(session=session, reference=quote.reference, actor_id=decider,
                                      platform=console, now=decided, year=decided.year)
            if fate in (ORDERED, CLOSED):
                ordered = max(decided, _orders_open(decided + timedelta(days=4)))
                ledger.place_order(session=session, reference=quote.reference, ej=next(ej),
                                   bc=f"BC-{ordered.year}-{quote.seq:03d}", actor_id=MANAGER, platform=console,
                                   now=ordered, year=ordered.year)
            last = decided
            for i, (amount, period, paid) in enumerate(parts):
                sd_at = decided + timedelta(days=30 * (i + 1))
                row, _ = ledger.create_service_done(session=session, quote_reference=quote.reference,
                                                    submitted_by=who, amount_cents=amount, period=period,
                                                    platform=console, now=sd_at, year=sd_at.year)
                certified = sd_at + timedelta(days=1)
                ledger.certify_service_done(session=session, reference=row.reference, actor_id=decider,
                                            platform=console, now=certified, year=certified.year)
                last = certified
                if paid:
                    paid_at = min(certified + timedelta(days=14), now)
                    ledger.record_payment(session=session, reference=row.reference, paid_on=paid_at.date(),
                                          actor_id=MANAGER, platform=console, now=paid_at)
                    last = paid_at
            if fate == CLOSED:
                closed = min(last + timedelta(days=7), now)
                ledger.close_order(session=session, reference=quote.reference, actor_id=MANAGER, platform=console,
                                   now=closed, year=closed.year, reason="Prestation terminée, reliquat non utilisé.")
        # One service done waiting for certification, on an order whose bon de commande is not recorded yet.
        euphrosyne = [q for q in ledger.open_orders(session=session)
                      if q.startup_id == "euphrosyne" and q.status == QuoteStatus.VALIDATED][0]
        ledger.create_service_done(session=session, quote_reference=euphrosyne.reference,
                                   submitted_by="thomas.roux", amount_cents=4_000_000, period="octobre",
                                   platform=console, now=now - timedelta(days=4), year=now.year)


def generate_quotes(sessions: SessionFactory, now: datetime, count: int, *, batch: int = 2000) -> None:
    """Add ``count`` quotes spread over the startups, at every step of the order chain, for load
    measurements: pending and refused ones, and orders (an EJ and a BC, half of them with a paid
    service done, one in ten closed).

    Written in bulk (no audit rows, the year's counters stay those of the demo): this is data for
    benchmarks, not a history anyone decided. The monthly report's moves are written as the steps
    would have (one row per startup and month, :func:`_month_moves`), so ``rapport`` reads a table
    of the size it would have.
    """
    rng = random.Random(42)
    fates = (QuoteStatus.PENDING, QuoteStatus.REFUSED, QuoteStatus.REFUSED, QuoteStatus.ORDERED,
             QuoteStatus.ORDERED, QuoteStatus.CLOSED)
    with unit_of_work(sessions) as session:
        startups = [s.id for s in session.exec(select(Startup)).all()]
    done = 0
    while done < count:
        with unit_of_work(sessions) as session:
            size = min(batch, count - done)
            # Numbers taken from the year's counter, as every submission does (one UPDATE a batch).
            seq = ledger.reserve_numbers(session=session, prefix=ledger.QUOTE_PREFIX, year=now.year, count=size) - 1
            quotes: list[Quote] = []
            for _ in range(size):
                seq += 1
                done += 1
                status = rng.choice(fates)
                at = now - timedelta(days=rng.randint(0, 300))
                decided = status != QuoteStatus.PENDING
                ordered = status in (QuoteStatus.ORDERED, QuoteStatus.CLOSED)
                amount = rng.randint(1_000_00, 50_000_00)
                quote = Quote(reference=f"D-{now.year}-{seq:04d}", year=now.year, seq=seq,
                              startup_id=rng.choice(startups), submitted_by="lea.dupont", platform="bench",
                              amount_cents=amount, supplier="Fournisseur généré",
                              object="Devis généré pour les mesures", status=status.value, created_at=at,
                              decided_at=at if decided else None, decided_by="claire.petit" if decided else None,
                              refusal_reason="généré" if status == QuoteStatus.REFUSED else None)
                if ordered:
                    quote.commitment_year, quote.ordered_at, quote.ordered_by = now.year, at, "hugo.bernard"
                    quote.ej, quote.bc = f"{3_000_000_000 + now.year % 100 * 10_000_000 + seq:010d}", f"BC-{seq}"
                if status == QuoteStatus.CLOSED:
                    quote.closed_at, quote.closed_by, quote.released_cents = at, "hugo.bernard", amount
                quotes.append(quote)
            session.add_all(quotes)
            session.flush()
            paid = [q for q in quotes if q.status == QuoteStatus.ORDERED and rng.random() < 0.5]
            if paid:
                sd_seq = ledger.reserve_numbers(session=session, prefix=ledger.SERVICE_DONE_PREFIX, year=now.year,
                                                count=len(paid)) - 1
                for quote in paid:
                    sd_seq += 1
                    half = quote.amount_cents // 2
                    quote.certified_cents = quote.paid_cents = half
                    session.add(ServiceDone(
                        reference=f"SF-{now.year}-{sd_seq:04d}", year=now.year, seq=sd_seq, quote_id=quote.id or 0,
                        submitted_by="lea.dupont", platform="bench", amount_cents=half,
                        status=ServiceDoneStatus.PAID.value, created_at=quote.created_at,
                        decided_at=quote.created_at, decided_by="claire.petit", consumption_year=now.year,
                        paid_on=quote.created_at.date(), payment_year=now.year, paid_at=quote.created_at,
                        paid_by="hugo.bernard"))
            _month_moves(session, quotes, paid)


def _month_moves(session: Session, quotes: list[Quote], paid: list[Quote]) -> None:
    """What the generated steps would have written in ``startup_month_move``: each quote submitted, decided
    and (an order) engaged in the month of its date, released if closed, half paid if in ``paid``."""
    moves: dict[tuple[str, datetime], list[tuple[int, str, int]]] = defaultdict(list)
    for q in quotes:
        month = q.created_at.replace(day=1, hour=12, minute=0, second=0, microsecond=0)
        steps = moves[(q.startup_id, month)]
        if q.status == QuoteStatus.PENDING:
            steps += [(q.year, "pending_quotes", 1), (q.year, "pending_cents", q.amount_cents)]
        if q.ordered_at is not None:
            steps += [(q.year, "engaged_cents", q.amount_cents), (q.year, "restes_cents", q.amount_cents)]
        if q.closed_at is not None:
            steps += [(q.year, "engaged_cents", -q.released_cents), (q.year, "restes_cents", -q.released_cents)]
    for q in paid:
        month = q.created_at.replace(day=1, hour=12, minute=0, second=0, microsecond=0)
        moves[(q.startup_id, month)] += [(q.year, "paid_cents", q.paid_cents), (q.year, "restes_cents", -q.paid_cents)]
    for (startup_id, month), steps in moves.items():
        move_month(session, startup_id, ledger_merge(*steps), at=month)
