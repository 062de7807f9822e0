"""Text folding for lookups typed by people ("dedale" finds "Dédale")."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lowercase, without accents, keeping only letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).lower()
