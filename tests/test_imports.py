"""The layering holds without tricks: the core loads no command family, and every module of handlers/
and storage/ imports on its own in a fresh interpreter (no cycle hidden by an import inside a function)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What handlers.core really needs; a handler module (a command family) is never among them.
CORE_DEPENDENCIES = {"handlers.core", "handlers.errors", "handlers.i18n", "handlers.markup", "handlers.permissions",
                     "handlers.refusals", "handlers.services", "handlers.types"}


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _modules(package: str) -> list[str]:
    return sorted(f"{package}.{path.stem}" for path in (ROOT / package).glob("*.py") if path.stem != "__init__")


def test_importing_the_core_loads_no_handler_module() -> None:
    """`import handlers.core` loads the core's own dependencies and not one command family (budget, quotes, …)."""
    loaded, registered = json.loads(_python(
        "import handlers.core, sys, json\n"
        "loaded = [m for m in sys.modules if m.startswith('handlers.')]\n"
        "import handlers.registry\n"
        "print(json.dumps([loaded, [m.__name__ for m in handlers.registry.FAMILIES]]))"))
    assert set(loaded) == CORE_DEPENDENCIES
    assert "handlers.budget" in registered and not set(registered) & set(loaded)


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """Each module of handlers/ and storage/, imported first (the others forgotten), imports: no cycle."""
    names = [*_modules("handlers"), *[m for m in _modules("storage") if m != "storage.models"]]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m.startswith(('handlers', 'storage'))]:\n"
        "        if loaded != 'storage.models':\n"
        "            del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
        "print('ok')\n"
    )
    assert _python(code).strip() == "ok"


def test_no_module_of_handlers_or_storage_imports_incubot_inside_a_function() -> None:
    """incubot's own modules are imported at the top of each module of handlers/ and storage/, where a
    cycle would show; a library loaded only when needed (Alembic to migrate, openpyxl for a spreadsheet)
    may be imported where it is used."""
    ours = ("handlers", "storage", "bot")
    inside: list[str] = []
    for package in ("handlers", "storage"):
        for path in sorted((ROOT / package).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    inside += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(node)
                               if isinstance(n, ast.Import | ast.ImportFrom)
                               and any(name.split(".")[0] in ours for name in _names(n))]
    assert inside == []


def _names(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or "."] if node.level == 0 else ["handlers"]  # a relative import is one of ours
    return [alias.name for alias in node.names]
