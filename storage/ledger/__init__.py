"""Quotes, orders, service done, payments and the AE/CP counters: every money rule of the
convention, as the order chain of SPEC.md ("The order chain", version 2).

    quote   pending ─valider→ validated (AE réservées) ─commande→ ordered (AE engagées) ─solder→ closed
               └─refuser→ refused   └─retirer→ withdrawn
    service pending ─certifier→ certified (CP à payer) ─paiement→ paid (CP consommés)
    done       └─refuser→ refused

Each step is one transaction made of guarded statements (:mod:`storage.ledger.writes`):

* the request changes status only if it is still in the state the step starts from (a double
  click or two people at once change it once);
* the year's counters move only while they stay under the allocation
  (``UPDATE allocation SET x = x + :a WHERE year = :y AND x + :a <= ceiling``); the year of
  each movement is the year it happens (a quote validated on 20 December and ordered on
  5 January moves its reservation to January's year, guarded there);
* the per startup and year counters (``startup_year_total``) move by one upsert;
* the audit row(s), and what the caller enqueues (``then``), are written in the same transaction.

A step runs under a savepoint: when a guard says no, it is rolled back to it (nothing it
wrote stays) and the refusal is raised, so the caller's transaction can go on (the handlers
alert the managers in it). The CHECK constraints of :mod:`storage.models` are the backstop.

**Restes à payer** = engaged − paid over the open orders of every year, kept as counters
(``allocation.restes_cents`` per year of the order, ``startup_year_total.restes_cents`` per
startup and year), never summed over orders at read time. See :mod:`storage.ledger.orders`
for what closing an order does, in its year or a later one.

Modules: :mod:`~storage.ledger.writes` (guarded writes, audit), :mod:`~storage.ledger.numbering`,
:mod:`~storage.ledger.subjects` (loading a request), :mod:`~storage.ledger.quotes`,
:mod:`~storage.ledger.orders`, :mod:`~storage.ledger.service_done`, :mod:`~storage.ledger.queries`.
Everything is re-exported here: ``from storage import ledger; ledger.validate_quote(…)``.
"""

from __future__ import annotations

from storage.ledger.numbering import QUOTE_PREFIX, SERVICE_DONE_PREFIX, insert_numbered, reserve_numbers
from storage.ledger.orders import (
    EJ_DIGITS,
    MAX_BC,
    close_order,
    normalize_ej,
    order_with_ej,
    place_order,
    waiting_service_done,
)
from storage.ledger.queries import (
    StartupUsage,
    YearBalance,
    all_quotes,
    allocation_years,
    open_orders,
    orders_to_place,
    payments_due,
    pending_by_startup,
    pending_quotes,
    pending_service_done,
    startup_usage,
    year_balance,
)
from storage.ledger.quotes import create_quote, quote_state, refuse_quote, validate_quote, withdraw_quote
from storage.ledger.service_done import (
    PAYABLE_ORDER_STATUSES,
    certify_service_done,
    create_service_done,
    pending_service_done_cents,
    record_payment,
    refuse_service_done,
    service_done_state,
)
from storage.ledger.subjects import Subject, get_quote, get_service_done, load_quote, load_service_done
from storage.ledger.writes import Then, audit_trail, record_audit

__all__ = [
    "EJ_DIGITS", "MAX_BC", "PAYABLE_ORDER_STATUSES", "QUOTE_PREFIX", "SERVICE_DONE_PREFIX", "StartupUsage", "Subject",
    "Then",
    "YearBalance", "all_quotes", "allocation_years", "audit_trail", "certify_service_done", "close_order",
    "create_quote", "create_service_done", "get_quote", "get_service_done", "insert_numbered", "load_quote",
    "load_service_done", "normalize_ej", "open_orders", "order_with_ej", "orders_to_place", "payments_due",
    "pending_by_startup", "pending_quotes", "pending_service_done", "pending_service_done_cents", "place_order",
    "quote_state", "record_audit", "record_payment", "refuse_quote", "refuse_service_done", "reserve_numbers",
    "service_done_state", "startup_usage", "validate_quote", "waiting_service_done", "withdraw_quote",
    "year_balance",
]
