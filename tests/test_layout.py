"""The shape every package keeps (ARCHITECTURE.md): one unit of work owns every write, services
read no Flask globals, service packages share one skeleton and never import each other. Read
from the source, so a new module that breaks a rule fails here by name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = ("app", "bookings", "venues", "parking", "repairs", "accessibility", "opendata")
SERVICES = ("venues", "parking", "repairs")
SKELETON = ("models.py", "services/__init__.py", "forms.py", "views.py", "api.py", "demo.py")
# Where a transaction may end: the unit of work itself, and the frame's error handlers, which
# roll back whatever a failed request left open.
COMMITS = {"commit": {"app/db.py"}, "rollback": {"app/db.py", "app/__init__.py"}}
TRANSACTION_HELPERS = {"write_transaction", "commit_keeping_loaded"}
FLASK_GLOBALS = {"current_app", "request", "g", "current_user", "session"}


def _modules():
    for package in CODE:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


MODULES = dict(_modules())


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            yield name, node.lineno


def test_only_the_unit_of_work_ends_a_transaction():
    found = []
    for path, tree in MODULES.items():
        for name, line in _calls(tree):
            if name in COMMITS and path not in COMMITS[name]:
                found.append(f"{path}:{line} calls {name}()")
            if name in TRANSACTION_HELPERS and path != "app/db.py":
                found.append(f"{path}:{line} calls {name}() (use app.db.unit_of_work)")
    assert found == [], "\n".join(found)


def _imported_names(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                yield node.module or "", alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, "", node.lineno


def test_services_read_no_flask_globals():
    """Services take a session, the actor and their settings as arguments (no request, no
    current_app.config), so tests and commands call them as they are."""
    found = []
    for path, tree in MODULES.items():
        if "/services/" not in path and not path.startswith("bookings/"):
            continue
        for module, name, line in _imported_names(tree):
            if module in ("flask", "flask_login") and name in FLASK_GLOBALS:
                found.append(f"{path}:{line} imports {module}.{name}")
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("package", SERVICES)
def test_every_service_package_has_the_same_skeleton(package):
    missing = [part for part in SKELETON if not (ROOT / package / part).exists()]
    assert missing == []


def test_service_packages_never_import_each_other():
    found = []
    for path, tree in MODULES.items():
        owner = path.split("/")[0]
        for module, _name, line in _imported_names(tree):
            top = module.split(".")[0]
            if owner != top and top in SERVICES and owner in (*SERVICES, "bookings", "app"):
                found.append(f"{path}:{line} imports {module}")
    assert found == [], "\n".join(found)
