"""The chat platforms: one folder each, each exporting ``PLUG`` (a :class:`bot.port.Plug`).

The composition root (``bot/compose.py``) lists them in ``PLATFORMS``; nothing else in the
code names a platform's folder.
"""
