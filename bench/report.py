"""Write the figures of the last `make bench` into bench/RESULTS.md (between its markers), with
the machine and the date; the text around them is kept as written.

    python -m bench.report
"""

from __future__ import annotations

import datetime
import json

from bench.harness import ROOT, machine

START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def _row(name: str, r: dict, base: dict | None = None) -> str:
    ratio = f"{r['rps'] / base['rps']:.2f}x" if base and base.get("rps") else "baseline"
    return (
        f"| {name} | {r['rps']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r.get('p99_ms', 0):.0f} | "
        f"{r['errors']} | {ratio} |"
    )


def figures() -> str:
    results = ROOT / "bench" / "results"
    load = lambda name: (
        json.loads((results / f"{name}.json").read_text())
        if (results / f"{name}.json").exists()
        else None
    )
    lines = [
        f"Measured {datetime.date.today().isoformat()} on {machine()}, PostgreSQL 15, gunicorn "
        "(2 workers x 16 threads), locust headless on the same machine (loopback).",
        "",
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | vs baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    booking = load("booking_rush")
    if booking:
        lines += [
            _row("baseline: insert one row", booking["baseline"]),
            _row(
                f"booking rush, {booking['clients']} clients, {booking['slots']}x{booking['capacity']} places",
                booking["portal"],
                booking["baseline"],
            ),
            _row(
                "steady booking across the 50 venues", booking["steady"], booking["baseline_steady"]
            ),
            _row("baseline: render a page", booking["baseline_page"]),
            _row(
                "venue search and 14-day availability pages",
                booking["pages"],
                booking["baseline_page"],
            ),
        ]
    parking = load("parking_rush")
    if parking:
        lines += [
            _row("baseline: insert one row (parking)", parking["baseline_insert"]),
            _row(
                f"parking reservation rush, {parking['times']}x{parking['pool']} spaces",
                parking["rush"],
                parking["baseline_insert"],
            ),
            _row("baseline: render a page (feed)", parking["baseline_page"]),
            _row("open data feed", parking["feed"], parking["baseline_page"]),
        ]
    repairs = load("repairs_load")
    if repairs:
        base = {**repairs["baseline"], "errors": 0}
        lines.append(
            _row(f"baseline: render a page (repairs, {repairs['tickets']:,} tickets)", base)
        )
        for name, r in repairs["pages"].items():
            lines.append(
                _row(name.replace("portal: ", ""), {**r, "p99_ms": r.get("p99_ms", 0)}, base)
            )
    lines.append("")
    if booking:
        lines.append(
            f"Booking rush: {booking['sold']} places sold of {booking['slots'] * booking['capacity']}, "
            f"overbookings {booking['overbookings']}, ledger drift {booking['ledger_drift']}."
        )
    if parking:
        lines.append(
            f"Parking rush: {parking['sold']} spaces reserved of {parking['times'] * parking['pool']}, "
            f"oversold {parking['oversold']}, ledger drift {parking['ledger_drift']}."
        )
    if repairs:
        lines.append(
            f"Sweep over {repairs['tickets']:,} tickets: {repairs['sweep_seconds']:.2f} s."
        )
    weight = load("page_weight")
    if weight:
        lines += [
            "",
            "Page weight in bytes, as sent (gzip level 6):",
            "",
            "| mode | page | HTML | CSS | JS | total |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for r in weight:
            lines.append(
                f"| {r['mode']} | {r['page']} | {r['html']:,} ({r['html_gz']:,}) | {r['css']:,} ({r['css_gz']:,}) | "
                f"{r['js']:,} ({r['js_gz']:,}) | {r['html'] + r['css'] + r['js']:,} "
                f"({r['html_gz'] + r['css_gz'] + r['js_gz']:,}) |"
            )
    return "\n".join(lines)


def main() -> int:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    before, rest = text.split(START, 1)
    _old, after = rest.split(END, 1)
    path.write_text(f"{before}{START}\n{figures()}\n{END}{after}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
