"""The payments file of ``incubot import-payments``: read and checked line by line, then matched to the ledger.

**The file** is what a manager saves from CHORUS or a spreadsheet: columns ``reference;amount;paid_on``
(in any order, names case-insensitive), ``;`` separator, UTF-8 with or without BOM, one payment
a line. ``reference`` is a service done (``SF-2026-0001``) or the order's EJ number (ten digits,
spaces, dots or dashes between them allowed); ``amount`` is read by the project's one amount
parser (:func:`handlers.money.parse_amount`: ``1250``, ``1 250,50``, ``1250.50``; a payment is
TTC, so ``HT`` is refused); ``paid_on`` is ``AAAA-MM-JJ`` or ``JJ/MM/AAAA`` (a French
spreadsheet's date), never in the future. Blank lines are skipped; the same service done twice
in one file is a fault (an SF is paid once), the same EJ twice is not (two instalments).

**Matching** (:func:`import_payments`), line by line, in the file's order:

* ``SF-…``: that service done. Certified, same amount: **matched** (its payment is recorded on
  ``paid_on`` by :func:`storage.ledger.record_payment`). Already paid, same amount: **already
  recorded** (whatever the date). Unknown reference: **unknown** (reported, not a fault: a
  CHORUS extract lists other payments too).
* An EJ number: the order carrying it (unknown EJ: **unknown**). A service done of that order
  already paid on ``paid_on`` for that amount and not used by an earlier line: **already
  recorded**; otherwise the **oldest** certified unpaid service done of that order for exactly
  that amount: **matched**. Several of the same amount are interchangeable (same money, same
  order), so taking the oldest is a rule, not a guess; no amount is ever split or summed.
* Faults, which refuse the whole file: an amount that differs from the service done's (SF
  line), an EJ line whose amount matches no certified unpaid service done of the order (the
  reason lists what is waiting), a service done not certified or refused, an order without
  its bon de commande, and every refusal of the ledger — above all a payment the year's CP
  cannot cover (never above the year's CP).

Every line is checked before anything is looked up, then every line is matched, so the
operator gets every fault at once (:class:`PaymentsFileError`, line and reason); the caller
runs the whole import in one transaction and rolls it back on any fault: nothing is recorded.
Running the same file twice records nothing the second time (every line already recorded).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session

from handlers.errors import CommandError
from handlers.i18n import Translator
from handlers.markup import user
from handlers.money import parse_amount
from storage import exchange, ledger
from storage.errors import InsufficientCredits, LedgerRefusal, NoAllocation, OrderNotPlaced, WrongStatus
from storage.models import Quote, ServiceDone, ServiceDoneStatus
from storage.platforms import PlatformName

COLUMNS = ("reference", "amount", "paid_on")
MAX_BYTES = 10 * 1024 * 1024  # a year of payments is a few hundred lines; 10 MiB is far above it
_SERVICE_DONE = re.compile(r"SF-[0-9]{4}-[0-9]{1,9}", re.IGNORECASE)
# An EJ (engagement juridique) as CHORUS gives it: ten digits (as storage.ledger.normalize_ej reads them).
_EJ = re.compile(r"[0-9]{10}")
_EJ_SEPARATORS = re.compile(r"[\s.\-]")
_FRENCH_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


@dataclass(frozen=True)
class PaymentLine:
    line: int  # the line of the file, counting the header as line 1
    reference: str  # ``SF-…`` upper-cased, or an EJ's ten digits
    amount_cents: int
    paid_on: date

    @property
    def is_service_done(self) -> bool:
        return self.reference.startswith("SF-")


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str  # a sentence for the operator, translated, in the neutral markup (handlers.markup)


class PaymentsFileError(Exception):
    """The file is refused whole: every faulty line with its reason."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(errors)
        self.errors = errors


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(data: bytes, t: Translator) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PaymentsFileError([LineError(_line_of_offset(data, exc.start), t(
            "le fichier n'est pas en UTF-8 (enregistrez-le en « CSV UTF-8 »)"))]) from None


def _header(cells: list[str], t: Translator) -> dict[str, int] | LineError:
    names = [cell.strip().lower() for cell in cells]
    expected = ";".join(COLUMNS)
    if len(names) == 1 and ("," in names[0] or "\t" in names[0]):
        return LineError(1, t("les colonnes se séparent par « ; » : la première ligne doit être {expected}",
                              expected=expected))
    for name in names:
        if name not in COLUMNS:
            return LineError(1, t("colonne inconnue « {name} » (les colonnes sont {expected})",
                                  name=user(name), expected=expected))
        if names.count(name) > 1:
            return LineError(1, t("la colonne « {name} » apparaît deux fois", name=name))
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        return LineError(1, t.plural("il manque la colonne {names} (les colonnes sont {expected})",
                                     "il manque les colonnes {names} (les colonnes sont {expected})",
                                     len(missing), names=", ".join(missing), expected=expected))
    return {name: names.index(name) for name in COLUMNS}


def parse_paid_on(text: str, t: Translator, *, today: date) -> date:
    """``AAAA-MM-JJ`` or ``JJ/MM/AAAA``, not after ``today``; :class:`CommandError` otherwise."""
    raw = text.strip()
    found = _FRENCH_DATE.fullmatch(raw)
    try:
        if found:
            day, month, year = map(int, found.groups())
            value = date(year, month, day)
        elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            value = datetime.strptime(raw, "%Y-%m-%d").date()
        else:
            raise ValueError(raw)
    except ValueError:
        if not raw:
            raise CommandError(t("il manque la date de paiement")) from None
        raise CommandError(t("« {text} » n'est pas une date (AAAA-MM-JJ ou JJ/MM/AAAA, par exemple 2026-11-30)",
                             text=user(raw))) from None
    if value > today:
        raise CommandError(t("la date de paiement {day} est dans le futur", day=t.date(value)))
    return value


def _reference(text: str, t: Translator) -> str:
    raw = text.strip()
    if not raw:
        raise CommandError(t("il manque la référence (SF-2026-0001 ou un numéro d'EJ)"))
    if raw.upper().startswith("SF-"):
        if not _SERVICE_DONE.fullmatch(raw):
            raise CommandError(t("« {text} » n'est pas une référence de service fait (SF-2026-0001)", text=user(raw)))
        return raw.upper()
    digits = _EJ_SEPARATORS.sub("", raw)
    if not _EJ.fullmatch(digits):
        raise CommandError(t("« {text} » n'est ni une référence de service fait (SF-2026-0001) ni un numéro d'EJ "
                             "(dix chiffres)", text=user(raw)))
    return digits


def _amount(text: str, t: Translator) -> int:
    amount = parse_amount(text, t)
    if amount.tax_free:
        raise CommandError(t("un paiement se donne TTC, sans « HT » ({text})", text=user(text.strip())))
    return amount.cents


def parse_payments(data: bytes, t: Translator, *, today: date) -> list[PaymentLine]:
    """Every payment of the file, in order; :class:`PaymentsFileError` with each faulty line otherwise."""
    if len(data) > MAX_BYTES:
        raise PaymentsFileError([LineError(1, t("le fichier dépasse {size} Mo", size=MAX_BYTES // (1024 * 1024)))])
    text = _decode(data, t)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    errors: list[LineError] = []
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise PaymentsFileError([LineError(1, t("le fichier est vide : la première ligne doit être {expected}",
                                                    expected=";".join(COLUMNS)))])
        columns = _header(header, t)
        if isinstance(columns, LineError):
            raise PaymentsFileError([LineError(reader.line_num, columns.reason)])
        lines: list[PaymentLine] = []
        first_line: dict[str, int] = {}
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(COLUMNS):
                errors.append(LineError(number, t.plural("{n} colonne au lieu de 3 (séparateur « ; »)",
                                                         "{n} colonnes au lieu de 3 (séparateur « ; »)", len(cells))))
                continue
            try:
                reference = _reference(cells[columns["reference"]], t)
                amount = _amount(cells[columns["amount"]], t)
                paid_on = parse_paid_on(cells[columns["paid_on"]], t, today=today)
            except CommandError as exc:
                errors.append(LineError(number, exc.message))
                continue
            if reference.startswith("SF-") and reference in first_line:
                errors.append(LineError(number, t("{reference} figure déjà ligne {line} : un service fait se paie "
                                                  "une fois", reference=reference, line=first_line[reference])))
                continue
            first_line.setdefault(reference, number)
            lines.append(PaymentLine(number, reference, amount, paid_on))
    except csv.Error as exc:
        errors.append(LineError(reader.line_num, t("ligne illisible ({reason})", reason=str(exc))))
    if errors:
        raise PaymentsFileError(errors)
    return lines


# --------------------------------------------------------------------------- matching against the ledger


@dataclass(frozen=True)
class Outcome:
    """What became of one line: ``matched`` (recorded now), ``already`` (recorded before) or ``unknown``."""

    line: PaymentLine
    kind: str
    service_done: str = ""  # the SF paid (or found paid)
    order: str = ""  # its quote
    paid_on: date | None = None  # for ``already``: the date recorded


@dataclass
class Reconciliation:
    outcomes: list[Outcome] = field(default_factory=list)

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]


def _refusal(t: Translator, line: PaymentLine, refusal: LedgerRefusal) -> str:
    """A ledger's refusal of one payment, as the file's reason."""
    if isinstance(refusal, InsufficientCredits):
        return t("les CP {year} ne peuvent pas payer {amount} : il en reste {available} (un paiement ne dépasse "
                 "jamais les CP de son année)", year=refusal.year, amount=t.money(refusal.requested_cents),
                 available=t.money(refusal.available_cents))
    if isinstance(refusal, OrderNotPlaced):
        return t("la commande {order} de {reference} n'a pas encore son bon de commande : enregistrez-le d'abord "
                 "(commande {order}; EJ …)", order=refusal.order, reference=refusal.reference)
    if isinstance(refusal, NoAllocation):
        return t("aucune dotation pour {year} : un paiement de {year} ne peut pas être enregistré", year=refusal.year)
    if isinstance(refusal, WrongStatus):
        return t("{reference} n'est plus à payer", reference=refusal.reference)
    return t("paiement refusé ({reason})", reason=type(refusal).__name__)


class _Matcher:
    """Matches the lines in order inside the caller's transaction; a service done is used by one line only."""

    def __init__(self, session: Session, t: Translator, *, actor_id: str | None, now: datetime) -> None:
        self.session, self.t, self.actor_id, self.now = session, t, actor_id, now
        self.used: set[int] = set()
        self.errors: list[LineError] = []
        self.result = Reconciliation()

    def fault(self, line: PaymentLine, reason: str) -> None:
        self.errors.append(LineError(line.line, reason))

    def pay(self, line: PaymentLine, row: ServiceDone, quote: Quote) -> None:
        # Without --as the command line names no one: paid_by and the audit row's actor are NULL (both columns
        # are nullable; record_payment's annotation says str because every chat caller has a person).
        actor: str = self.actor_id  # type: ignore[assignment]
        try:
            ledger.record_payment(session=self.session, reference=row.reference, paid_on=line.paid_on,
                                  actor_id=actor, platform=PlatformName.CONSOLE.value, now=self.now)
        except LedgerRefusal as refusal:
            self.fault(line, f"{row.reference} — " + _refusal(self.t, line, refusal))
            return
        self.used.add(row.id or 0)
        self.result.outcomes.append(Outcome(line, "matched", row.reference, quote.reference))

    def already(self, line: PaymentLine, row: ServiceDone, quote: Quote) -> None:
        self.used.add(row.id or 0)
        self.result.outcomes.append(Outcome(line, "already", row.reference, quote.reference, row.paid_on))

    def service_done_line(self, line: PaymentLine) -> None:
        t = self.t
        row = exchange.service_done_by_reference(session=self.session, reference=line.reference)
        if row is None:
            self.result.outcomes.append(Outcome(line, "unknown"))
            return
        quote = self.session.get(Quote, row.quote_id)
        assert quote is not None
        differs = row.amount_cents != line.amount_cents
        if row.status == ServiceDoneStatus.PAID.value and not differs and (row.id or 0) not in self.used:
            self.already(line, row, quote)
        elif differs:
            self.fault(line, t("{reference} est de {expected}, le fichier dit {amount} : un paiement porte le montant "
                               "exact du service fait", reference=row.reference,
                               expected=t.money(row.amount_cents), amount=t.money(line.amount_cents)))
        elif row.status == ServiceDoneStatus.PENDING.value:
            self.fault(line, t("{reference} n'est pas encore certifié : on paie un service fait certifié",
                               reference=row.reference))
        elif row.status == ServiceDoneStatus.REFUSED.value:
            self.fault(line, t("{reference} a été refusé : il n'y a rien à payer", reference=row.reference))
        else:
            self.pay(line, row, quote)

    def ej_line(self, line: PaymentLine) -> None:
        t = self.t
        quote = ledger.order_with_ej(session=self.session, ej=line.reference)
        if quote is None:
            self.result.outcomes.append(Outcome(line, "unknown"))
            return
        def of_order(status: ServiceDoneStatus) -> list[ServiceDone]:
            found = exchange.service_done_of_order(session=self.session, quote_id=quote.id or 0, status=status.value,
                                                   amount_cents=line.amount_cents)
            return [row for row in found if (row.id or 0) not in self.used]

        for row in of_order(ServiceDoneStatus.PAID):  # paid before, that day: this line was imported already
            if row.paid_on == line.paid_on:
                self.already(line, row, quote)
                return
        for row in of_order(ServiceDoneStatus.CERTIFIED):  # the oldest of that amount
            self.pay(line, row, quote)
            return
        waiting = [r for r in exchange.payable_of_order(session=self.session, quote_id=quote.id or 0)
                   if (r.id or 0) not in self.used]
        if not waiting:
            self.fault(line, t("la commande {order} (EJ {ej}) n'a aucun service fait certifié à payer",
                               order=quote.reference, ej=line.reference))
            return
        listed = ", ".join(f"{r.reference} ({t.money(r.amount_cents)})" for r in waiting)
        self.fault(line, t("la commande {order} (EJ {ej}) n'a aucun service fait certifié de {amount} à payer ; "
                           "à payer : {listed}", order=quote.reference, ej=line.reference,
                           amount=t.money(line.amount_cents), listed=listed))


def import_payments(*, session: Session, lines: list[PaymentLine], t: Translator, actor_id: str | None,
                    now: datetime) -> Reconciliation:
    """Record the file's payments in the caller's transaction; :class:`PaymentsFileError` (the caller rolls back)
    when any line cannot be recorded as it says. See :mod:`this module <handlers.payments_file>` for the rules."""
    matcher = _Matcher(session, t, actor_id=actor_id, now=now)
    for line in lines:
        if line.is_service_done:
            matcher.service_done_line(line)
        else:
            matcher.ej_line(line)
    if matcher.errors:
        raise PaymentsFileError(matcher.errors)
    return matcher.result
