"""The ids of the bot's buttons and forms: what a click or a submitted form names, and the key it
is registered under (``registry.actions`` / ``registry.forms``). Written here once; a card, a list
and the decision flow all use these names, and a platform carries them as opaque strings."""

from __future__ import annotations

import enum


class ActionId(enum.StrEnum):
    QUOTE_VALIDATE = "quote.validate"
    QUOTE_REFUSE = "quote.refuse"  # the button, and the form that asks the reason
    QUOTE_SUBMIT = "quote.submit"  # the form of a new quote
    SERVICE_DONE_CERTIFY = "service_done.certify"
    SERVICE_DONE_REFUSE = "service_done.refuse"
    SERVICE_DONE_SUBMIT = "service_done.submit"
    COMMITTEE_DECISION = "committee.decision"  # the form of a committee decision
    ORDER_PLACE = "order.place"  # a manager's Passer commande, and the form that asks the EJ
    COMMITTEE_INPUTS = "committee.inputs"  # the button and form of a coach's inputs before a committee
