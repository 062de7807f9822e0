"""English versions of the bot's French sentences (INCUBOT_LANGUAGE=en)."""

ENGLISH: dict[str, str] = {}
