"""Who may do what. The one place for these rules (SPEC, "Who may do what").

* coaches, intrapreneurs and managers submit quotes and service done for the
  startups they belong to (managers for any);
* only an intrapreneur of the startup decides (validate/refuse, certify/refuse);
* everyone known sees the year's totals and the startups' names, phases and teams;
  a startup's own money only its team and the managers; managers also the breakdown and reports;
* managers record orders (EJ), payments and closings, and suspend and resume the delegation (art. 5);
* a pending quote is withdrawn by its submitter or a manager;
* admins import and edit reference data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.models import Person, StartupRole


@dataclass(frozen=True)
class Actor:
    """A known person with their roles, as seen by the rules below."""

    person: Person
    roles: dict[str, set[str]] = field(default_factory=dict)  # startup id -> {"intrapreneur", "coach"}

    @property
    def id(self) -> str:
        return self.person.id

    @property
    def is_manager(self) -> bool:
        return self.person.is_manager

    @property
    def is_admin(self) -> bool:
        return self.person.is_admin

    def startups_as(self, role: str) -> set[str]:
        return {sid for sid, roles in self.roles.items() if role in roles}

    @property
    def intrapreneur_of(self) -> set[str]:
        return self.startups_as(StartupRole.INTRAPRENEUR.value)

    @property
    def coach_of(self) -> set[str]:
        return self.startups_as(StartupRole.COACH.value)

    @property
    def member_of(self) -> set[str]:
        return set(self.roles)


def can_submit(actor: Actor, startup_id: str) -> bool:
    return actor.is_manager or startup_id in actor.member_of


def can_decide(actor: Actor, startup_id: str) -> bool:
    """Only an intrapreneur of that very startup decides, managers included."""
    return startup_id in actor.intrapreneur_of


def can_see_startup(actor: Actor, startup_id: str) -> bool:
    """A startup's money (``budget STARTUP``, its line in ``startups``): its team and the managers."""
    return actor.is_manager or startup_id in actor.member_of


def can_see_breakdown(actor: Actor) -> bool:
    return actor.is_manager


def can_report(actor: Actor) -> bool:
    return actor.is_manager


def can_suspend(actor: Actor) -> bool:
    """Suspending the delegation and resuming it (art. 5): the managers."""
    return actor.is_manager


def can_order(actor: Actor) -> bool:
    """Recording a bon de commande (EJ), a payment, closing an order: the managers."""
    return actor.is_manager


def can_withdraw(actor: Actor, submitted_by: str) -> bool:
    """Withdrawing a pending quote: the person who submitted it, or a manager."""
    return actor.is_manager or actor.id == submitted_by


def can_admin(actor: Actor) -> bool:
    return actor.is_admin


def submittable_startups(actor: Actor, all_ids: list[str]) -> list[str]:
    return [sid for sid in all_ids if can_submit(actor, sid)]
