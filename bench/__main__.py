"""`python -m bench [page_weight] [booking] [parking] [repairs] [delivery]`: the scenarios in one
session (all by default), then `python -m bench.report` writes bench/RESULTS.md."""

from __future__ import annotations

import sys

from bench import booking_rush, delivery, page_weight, parking_rush, repairs_load
from bench.session import run

GROUPS = {  # page_weight first: it copies the demo data before the others change it
    "page_weight": page_weight.Group,
    "booking": booking_rush.Group,
    "parking": parking_rush.Group,
    "repairs": repairs_load.Group,
    "delivery": delivery.Group,  # the outbox's dispatchers under a repair-alert storm
}

if __name__ == "__main__":
    names = sys.argv[1:] or list(GROUPS)
    raise SystemExit(run([GROUPS[name] for name in names]))
