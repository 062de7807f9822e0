"""``incubot`` — the command line (``python -m bot`` too): one parser, one module per command family.

* :mod:`bot.cli.entry` — ``main``: ``.env``, settings, the parser, one French sentence per error;
* :mod:`bot.cli.parser` — the parser (argparse's own sentences through the catalogs too);
* :mod:`bot.cli.wiring` — the one place that builds the runtime and the platforms' senders;
* a module per family, each adding its sub-commands and what they run:
  :mod:`~bot.cli.shell` (shell), :mod:`~bot.cli.serving` (serve, clock),
  :mod:`~bot.cli.reference` (import, demo), :mod:`~bot.cli.database` (db, backup, restore),
  :mod:`~bot.cli.reading` (budget), :mod:`~bot.cli.documents` (report, pv),
  :mod:`~bot.cli.exchange` (export, import-payments),
  :mod:`~bot.cli.outbox` (reminders, outbox).
"""

from bot.cli.entry import main

__all__ = ["main"]
