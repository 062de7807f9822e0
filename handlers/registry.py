"""Every command family of incubot, registered explicitly by :func:`register_all`.

This is the one module that imports the handler modules. ``handlers.core`` (the :class:`Bot`
and the :class:`Registry` it routes with) imports none of them: each handler module imports
the core to register itself, and the composition root builds the registry once
(``Bot(services, register_all())``), so no import cycle is hidden in a function.
"""

from __future__ import annotations

from handlers import (
    budget,
    committees,
    final_report,
    help,
    history,
    orders,
    pending,
    preparation,
    quotes,
    reports,
    service_done,
    startups,
    suspension,
)
from handlers.core import Registry

# In the order « aide » lists them.
FAMILIES = (help, budget, quotes, service_done, orders, pending, history, committees, preparation, reports,
            final_report, startups, suspension)


def register_all(registry: Registry | None = None) -> Registry:
    """``registry`` (a new one by default) with every command, button and form of incubot."""
    registry = Registry() if registry is None else registry
    for module in FAMILIES:
        module.register(registry)
    return registry
