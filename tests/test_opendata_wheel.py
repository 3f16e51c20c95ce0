"""Installing for production (issue 15): a wheel built from the repository carries the message
catalogues compiled at build time (setup.py), and the templates, static files and migrations,
so a plain `pip install` speaks Chinese without `make`.

The wheel is built from a copy of the working tree in a temporary folder (so no build/ or
egg-info is left in the repository), with the current environment's setuptools and Babel
(`--no-build-isolation`: no index needed), and then imported from the unpacked wheel in a
separate interpreter, never from the repository: it finds its pages, builds its schema from
the migrations it carries (`flask db upgrade`, as the README's "Go live" does) and speaks
Chinese."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.packaging

CHECK = r"""
import sys
from flask_babel import force_locale, gettext
import app as portal
from app import create_app

unpacked, database = sys.argv[1], sys.argv[2]
assert portal.__file__.startswith(unpacked), portal.__file__
flask_app = create_app({"SQLALCHEMY_DATABASE_URI": database, "TESTING": True})
assert flask_app.template_folder.startswith(unpacked), flask_app.template_folder
assert flask_app.static_folder.startswith(unpacked), flask_app.static_folder
assert flask_app.jinja_env.get_template("base.html")
with flask_app.app_context():  # `flask db upgrade` from the migrations in the wheel
    from flask_migrate import upgrade
    from sqlalchemy import inspect

    from app.extensions import db

    upgrade()
    assert {"district", "system_message"} <= set(inspect(db.engine).get_table_names())
with flask_app.test_request_context("/"), force_locale("zh_CN"):
    print(gettext("Sign in"))
"""


def _source_copy(target: Path) -> None:
    """The files git would ship (tracked and new, not ignored) copied to `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / os.fsdecode(name)
        if source.is_file():
            destination = target / os.fsdecode(name)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


def test_the_wheel_carries_compiled_catalogues_and_speaks_chinese(tmp_path):
    source, wheels, unpacked = tmp_path / "src", tmp_path / "wheels", tmp_path / "site"
    _source_copy(source)
    assert not list(source.rglob("*.mo")), "the copy must not bring compiled catalogues along"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
         "--no-build-isolation", "-q", "-w", str(wheels)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = wheels.glob("citizen_portal-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(unpacked)
    assert "app/translations/zh_Hans_CN/LC_MESSAGES/messages.mo" in names
    assert "app/bundled/templates/base.html" in names
    assert "app/bundled/migrations/env.py" in names
    assert "parking/outlines/310112.json" in names
    assert "app/accounts/data/common-passwords.txt" in names

    env = {**os.environ, "PYTHONPATH": str(unpacked), "PORTAL_INSTANCE_DIR": str(tmp_path / "i")}
    answer = subprocess.run(
        [sys.executable, "-c", CHECK, str(unpacked), f"sqlite:///{tmp_path / 'portal.db'}"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert answer.stdout.strip() == "登录"
