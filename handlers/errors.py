"""Refusals a person sees as they are."""

from __future__ import annotations

from collections.abc import Mapping


class CommandError(Exception):
    """A business refusal: ``message`` is a sentence for the user, already translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FieldErrors(CommandError):
    """Several fields of a form are wrong; each gets its own message."""

    def __init__(self, errors: Mapping[str, str], summary: str) -> None:
        super().__init__(summary)
        self.errors = dict(errors)
