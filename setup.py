"""Build hooks for `pip install .` and wheels (metadata and dependencies stay in setup.cfg).

A plain install must speak Chinese and find its pages without the Makefile:
- the message catalogues (app/translations/*/LC_MESSAGES/messages.po) are compiled to .mo
  files here, at build time, straight into the build directory (the .mo files are build
  output and not in git);
- templates/, static/ and migrations/ sit beside the packages in the repository; a wheel has
  no "beside", so they are copied into the app package as app/bundled/, which app/config.py
  (RESOURCE_ROOT) prefers when it exists. An editable install (`pip install -e .`, what
  `make setup` does) has no app/bundled and keeps reading the repository's own folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("templates", "static", "migrations")


def compile_catalogues(source: Path, target: Path) -> list[Path]:
    """Compile every messages.po under `source` into the same place under `target` (fuzzy
    entries included, as `make translations` does); the .mo files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=True)
        written.append(mo_path)
    if not written:
        raise SystemExit(f"no message catalogues under {source}: the install would serve English")
    return written


class BuildWithCatalogues(build_py):
    """build_py, then the compiled catalogues and the bundled folders into the build."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # the repository itself is used: nothing to copy
            return
        build_lib = Path(self.build_lib)
        compile_catalogues(ROOT / "app" / "translations", build_lib / "app" / "translations")
        for name in BUNDLED:
            target = build_lib / "app" / "bundled" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(
                ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )


setup(cmdclass={"build_py": BuildWithCatalogues})
