"""How long 10,000 households take to import (issue 15: "seconds, not minutes").

    .venv/bin/python bench/import_households.py [--profile]

An empty SQLite database in a temporary directory (tables from the models), one district, town
and estate, then a dry run, the import, and a re-import (all unchanged) of a 10,000-row CSV."""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROWS = 10_000


def main() -> None:
    from app import create_app
    from app.extensions import db
    from app.imports.kinds import kind_of
    from app.imports.services import run_import
    from app.places.models import District, Estate, Town

    folder = tempfile.mkdtemp()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db", "TESTING": True})
    with app.app_context():
        db.create_all()
        district = District(code="310112", name_zh="闵行区", name_en="Minhang")
        town = Town(district=district, code="xz", name_zh="莘庄镇", name_en="Xinzhuang")
        db.session.add(
            Estate(town=town, name_zh="莘城苑", name_en="Xincheng", address_zh="-", address_en="-")
        )
        db.session.commit()
        lines = ["district,town,estate,building,unit,room,phone"] + [
            f"闵行区,莘庄镇,莘城苑,{n // 500 + 1}号楼,{n // 100 % 5 + 1},{n % 100 + 101},"
            f"{13900000000 + n if n % 3 == 0 else ''}"
            for n in range(ROWS)
        ]
        data = "\n".join(lines).encode()
        kind = kind_of("households")
        profile = cProfile.Profile() if "--profile" in sys.argv else None
        for label, dry in (("dry run", True), ("import", False), ("re-import", False)):
            if profile and label == "import":
                profile.enable()
            started = time.perf_counter()
            result = run_import(db.session, None, kind, data, dry_run=dry)
            took = time.perf_counter() - started
            if profile and label == "import":
                profile.disable()
            print(f"{label}: {took:.2f} s, {result.counts}")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
