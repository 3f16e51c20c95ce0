"""Write the figures of the last `make bench` (bench/results/*.json) into bench/RESULTS.md between
its markers, with issue 11's targets and whether each is met; print the same table.

    python -m bench.report                 (after python -m bench)
    python -m bench.report --save-before   (also keep these figures as the "before" column)

The "before" column comes from bench/before.json when it exists (a run of this same harness,
saved with --save-before), otherwise from the run of 2026-11-21 with the old harness, whose
figures were measured unfairly (see RESULTS.md) and are shown only as a rough reference.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from bench.harness import RESULTS, ROOT, median, summary

START, END = "<!-- figures:start -->", "<!-- figures:end -->"
# The delivery scenario (bench/delivery.py) has a section of its own: its figures are counts
# over a whole storm per dispatcher count, not windows compared with a baseline.
DELIVERY_START, DELIVERY_END = "<!-- delivery:start -->", "<!-- delivery:end -->"
BEFORE = ROOT / "bench" / "before.json"
TIERS = ("app", "db", "load")
FULL = {"seconds": 10, "rounds": 2, "tickets": 1_000_000}  # `make bench`'s defaults


@dataclass(frozen=True)
class Row:
    group: str
    key: str
    label: str
    baseline: str  # "insert" or "page"
    target: dict | None  # ratio, rps, p99_ms
    old: str = ""  # the 2026-11-21 ratio (old harness), where a comparable figure exists
    profile: str = ""  # the in-process profiler that shows where this scenario's time goes


ROWS = (
    Row(
        "booking",
        "booking",
        "booking, 10 hot slots, 64 clients (`POST /api/v1/bookings`)",
        "insert",
        {"ratio": 0.5, "rps": 500, "p99_ms": 250},
        "0.08x, steady booking",
        "python -m bench.profile_booking --profile",
    ),
    Row(
        "booking",
        "venue_pages",
        "venue search and 14-day pages, signed in",
        "page",
        {"ratio": 0.4},
        profile="python -m bench.profile_pages --profile pages",
    ),
    Row(
        "booking",
        "availability_api",
        "availability API (`GET /api/v1/venues/<id>/availability`)",
        "page",
        {"ratio": 0.4},
        "~0.05x, issue 11",
        "python -m bench.profile_pages --profile api",
    ),
    Row(
        "booking",
        "anonymous_pages",
        "venue search and 14-day pages, anonymous",
        "page",
        {"ratio": 1.0},
        "0.17x",
        "python -m bench.profile_pages --profile anonymous",
    ),
    Row(
        "parking",
        "parking_reservation",
        "parking reservation, large pool (`POST /api/v1/parking/reservations`)",
        "insert",
        {"ratio": 0.4},
        "0.08x, rush",
        "python -m bench.profile_parking --profile",
    ),
    Row("parking", "parking_feed", "parking open data feed", "page", None, "0.22x"),
    Row(
        "repairs",
        "repairs_queue",
        "manager queue",
        "page",
        {"ratio": 0.3},
        "0.12x",
        "python -m bench.profile_repairs --profile --only repairs_queue",
    ),
    Row(
        "repairs",
        "repairs_town",
        "town dashboard",
        "page",
        {"ratio": 0.3},
        "0.12x",
        "python -m bench.profile_repairs --profile --only repairs_town",
    ),
    Row(
        "repairs",
        "repairs_district",
        "district dashboard",
        "page",
        {"ratio": 0.3},
        "0.08x",
        "python -m bench.profile_repairs --profile --only repairs_district",
    ),
    Row(
        "repairs",
        "repairs_rating",
        "district company rating",
        "page",
        {"ratio": 0.3},
        "0.07x",
        "python -m bench.profile_repairs --profile --only repairs_rating",
    ),
)
BASELINE_LABELS = {
    "insert": "baseline: insert one row",
    "page": "baseline: read one row, render an 8 KB page",
}


def load(directory=RESULTS) -> dict:
    """Each group's results file, as written by `python -m bench`."""
    found = {}
    for group in ("booking", "parking", "repairs"):
        path = directory / f"{group}.json"
        if path.exists():
            found[group] = json.loads(path.read_text())
    return found


def figures_of(results: dict) -> dict:
    """{(group, key): summary} for every scenario and each group's baselines, with ratios."""
    out = {}
    for group, data in results.items():
        base = data["meta"]["baseline"]
        for kind in ("insert", "page"):
            if base.get(kind):
                out[(group, f"baseline:{kind}")] = base[kind]
        for row in ROWS:
            if row.group == group and row.key in data.get("scenarios", {}):
                figures = summary(data["scenarios"][row.key]["runs"])
                reference = base.get(row.baseline) or {}
                figures["ratio"] = (
                    figures["rps"] / reference["rps"] if reference.get("rps") else None
                )
                out[(group, row.key)] = figures
    return out


def verdict(row: Row, f: dict) -> str:
    if not row.target:
        return "—"
    missed = []
    if "ratio" in row.target and (f.get("ratio") or 0) < row.target["ratio"]:
        missed.append("ratio")
    if "rps" in row.target and f["rps"] < row.target["rps"]:
        missed.append("req/s")
    if "p99_ms" in row.target and f["p99_ms"] > row.target["p99_ms"]:
        missed.append("p99")
    return "**met**" if not missed else "missed (" + ", ".join(missed) + ")"


def target_text(target: dict | None) -> str:
    if not target:
        return "—"
    parts = []
    if "ratio" in target:
        parts.append(f"≥ {target['ratio']:g}x")
    if "rps" in target:
        parts.append(f"≥ {target['rps']}/s")
    if "p99_ms" in target:
        parts.append(f"p99 ≤ {target['p99_ms']} ms")
    return ", ".join(parts)


def _cells(f: dict) -> list[str]:
    cpu = f["cpu_ms_per_request"]
    return [
        f"{f['rps']:.1f}",
        f"{f['p50_ms']:.0f}",
        f"{f['p95_ms']:.0f}",
        f"{f['p99_ms']:.0f}",
        str(f["errors"]),
        *(f"{cpu[t]:.2f}" for t in TIERS),
    ]


def _before(before: dict | None, group: str, row: Row) -> str:
    if before and (group, row.key) in before:
        b = before[(group, row.key)]
        ratio = f"{b['ratio']:.2f}x" if b.get("ratio") is not None else "—"
        cpu = b["cpu_ms_per_request"]
        tiers = " / ".join(f"{cpu[t]:.1f}" for t in TIERS)
        return f"{ratio}, CPU ms/req app / db / load {tiers}"
    return f"{row.old} (old harness)" if row.old else "—"


def table(results: dict, before: dict | None) -> list[str]:
    figures = figures_of(results)
    lines = [
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | app CPU ms/req "
        "| db CPU ms/req | load CPU ms/req | vs baseline | target | met | before |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    shown_sessions = set()
    for group, data in results.items():
        session = data["meta"].get("session")
        if session not in shown_sessions:  # each session's baseline once
            shown_sessions.add(session)
            for kind in ("insert", "page"):
                f = figures.get((group, f"baseline:{kind}"))
                if f:
                    label = f"{BASELINE_LABELS[kind]} (median of {f['runs']} runs)"
                    lines.append(
                        "| " + " | ".join([label, *_cells(f), "baseline", "", "", ""]) + " |"
                    )
        for row in ROWS:
            f = figures.get((group, row.key))
            if f is None:
                continue
            label = row.label
            if group == "repairs":
                label += f", {data['tickets']:,} tickets"
            ratio = f"{f['ratio']:.3f}x" if f.get("ratio") is not None else "—"
            lines.append(
                "| "
                + " | ".join(
                    [
                        label,
                        *_cells(f),
                        ratio,
                        target_text(row.target),
                        verdict(row, f),
                        _before(before, group, row),
                    ]
                )
                + " |"
            )
    return lines


def missed(results: dict) -> list[str]:
    """For each target missed, the profiler that shows where the remaining time goes; the
    profiles of the last full run are read in RESULTS.md's "Where the remaining time goes"."""
    figures = figures_of(results)
    lines = []
    for row in ROWS:
        f = figures.get((row.group, row.key))
        if f is None or not verdict(row, f).startswith("missed"):
            continue
        lines.append(
            f"- {row.label}: {verdict(row, f)}; where the time goes: `{row.profile}` "
            '(see "Where the remaining time goes" below)'
        )
    return (["Targets missed, and the profile of each:", "", *lines, ""]) if lines else []


def few_requests(results: dict, least: int = 200) -> list[str]:
    """A warning for figures resting on too few requests for their percentiles to mean much."""
    few = [
        f"{row.key} ({f['requests']})"
        for (group, key), f in figures_of(results).items()
        for row in ROWS
        if row.group == group and row.key == key and f["requests"] < least
    ]
    if not few:
        return []
    return [f"Few requests measured (percentiles unreliable): {', '.join(few)}.", ""]


def checks(results: dict) -> list[str]:
    lines = []
    booking = results.get("booking", {}).get("rush")
    if booking:
        ok = (
            booking["overbookings"] == 0
            and booking["ledger_drift"] == 0
            and booking["sold"] == booking["slots"] * booking["capacity"]
        )
        lines.append(
            f"- Booking rush ({booking['slots']} slots x {booking['capacity']} places, "
            f"{booking['figures']['requests']} requests at {booking['figures']['rps']:.0f}/s, "
            f"p99 {booking['figures']['p99_ms']:.0f} ms): {booking['sold']} places sold, "
            f"overbookings {booking['overbookings']}, ledger drift {booking['ledger_drift']}: "
            + ("**met**" if ok else "**missed**")
        )
    parking = results.get("parking", {}).get("rush")
    if parking:
        ok = (
            parking["oversold"] == 0
            and parking["ledger_drift"] == 0
            and parking["sold"] == parking["times"] * parking["pool"]
        )
        lines.append(
            f"- Parking rush ({parking['times']} arrival times x {parking['pool']} spaces, "
            f"{parking['figures']['requests']} requests at {parking['figures']['rps']:.0f}/s, "
            f"p99 {parking['figures']['p99_ms']:.0f} ms): {parking['sold']} spaces reserved, "
            f"oversold {parking['oversold']}, ledger drift {parking['ledger_drift']}: "
            + ("**met**" if ok else "**missed**")
        )
    repairs = results.get("repairs")
    if repairs and repairs.get("sweep_seconds"):
        parts = ", ".join(
            f"{name.split('.')[0]} {seconds:.2f} s"
            for name, seconds in repairs["sweep_seconds"].items()
        )
        total = sum(repairs["sweep_seconds"].values())
        lines.append(
            f"- One sweep (`flask sweep`'s work) over {repairs['tickets']:,} tickets: "
            f"{total:.2f} s ({parts})."
        )
    return lines


def connections(results: dict) -> list[str]:
    """Which pool each side ran with, and how many connections each opened while measured."""
    figures = figures_of(results)
    meta = next(iter(results.values()))["meta"]
    engines = meta.get("engines", {})
    opened = ", ".join(
        f"{row.key} {figures[(row.group, row.key)]['connections_opened_per_1000']:.0f}"
        for row in ROWS
        if (row.group, row.key) in figures
    )
    base = ", ".join(
        f"{kind} {meta['baseline'][kind]['connections_opened_per_1000']:.0f}"
        for kind in ("insert", "page")
        if meta["baseline"].get(kind)
    )
    return [
        f"Engine options: portal {engines.get('portal_options')}; baseline "
        f"{engines.get('baseline_options')} ({engines.get('pool')} per worker).",
        f"PostgreSQL connections opened per 1,000 requests in the measured windows: {opened}; "
        f"baseline {base}.",
    ]


def page_weight() -> list[str]:
    path = RESULTS / "page_weight.json"
    if not path.exists():
        return []
    lines = [
        "",
        "Page weight in bytes, as sent (gzip level 6):",
        "",
        "| mode | page | HTML | CSS | JS | total |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in json.loads(path.read_text())["pages"]:
        total = r["html"] + r["css"] + r["js"]
        total_gz = r["html_gz"] + r["css_gz"] + r["js_gz"]
        lines.append(
            f"| {r['mode']} | {r['page']} | {r['html']:,} ({r['html_gz']:,}) "
            f"| {r['css']:,} ({r['css_gz']:,}) | {r['js']:,} ({r['js_gz']:,}) "
            f"| {total:,} ({total_gz:,}) |"
        )
    return lines


def noise(results: dict) -> str:
    """How much of the machine other processes took during the measured windows."""
    shares = [
        run["others_cpu_share"]
        for data in results.values()
        for runs in [
            *data["meta"]["baseline_runs"].values(),
            *(s["runs"] for s in data.get("scenarios", {}).values()),
        ]
        for run in runs
        if "others_cpu_share" in run
    ]
    if not shares:
        return ""
    return (
        f" Other processes on the machine took {median(shares):.0%} of its CPU time during the "
        f"measured windows (median; at most {max(shares):.0%})."
    )


def render(results: dict, before: dict | None, note: str = "") -> str:
    if not results:
        return "No results yet: run `make bench`."
    meta = next(iter(results.values()))["meta"]
    load = meta.get("load_average", {}).get("start", ["?"])[0]
    tickets = results.get("repairs", {}).get("tickets", FULL["tickets"])
    smoke = (
        meta["seconds"] < FULL["seconds"]
        or meta["rounds"] < FULL["rounds"]
        or tickets < FULL["tickets"]
    )
    lines = [
        *(
            ["**Smoke run**: shorter than `make bench`'s defaults; not figures to compare.", ""]
            if smoke
            else []
        ),
        *([note, ""] if note else []),
        f"Measured {meta['date']} on {meta['machine']}, PostgreSQL 15, gunicorn "
        f"({meta['gunicorn']}), locust headless on the same machine (loopback); "
        f"{meta['clients']} clients; each figure the median of {meta['rounds']} run(s) of "
        f"{meta['seconds']:g} s after a warm-up of at least {meta['warmup']:g} s; load average "
        f"{load if isinstance(load, str) else f'{load:.1f}'} when the session started."
        + noise(results)
        + " CPU ms/req: CPU time of the tier during the measured window / requests completed "
        "in it.",
        "",
        *table(results, before),
        "",
        *few_requests(results),
        *missed(results),
        *checks(results),
        "",
        *connections(results),
        *page_weight(),
    ]
    return "\n".join(lines)


def delivery_section(data: dict) -> str:
    """The delivery storm's table: one row per number of dispatcher processes."""
    meta = data["meta"]
    lines = [
        *(
            [
                "**Smoke run**: fewer messages than `make bench`'s 10,000; not figures to compare.",
                "",
            ]
            if data["messages"] < 10_000
            else []
        ),
        f"Measured {meta['date']} on {meta['machine']}, PostgreSQL 15; {data['messages']:,} "
        f"SMS alerts per run; the stub holds each request {data['latency_ms']:.0f} ms; "
        f"load average {meta['load_average']['start'][0]:.1f} when the session started. "
        "CPU ms/msg: CPU time of the dispatcher processes (all of them) and of PostgreSQL "
        "from their release to the last send / messages sent.",
        "",
        "| dispatchers | messages | sent | msg/s | duplicates | retried | lost | delay p50 ms "
        "| delay p99 ms | storm s | drain s | dispatchers CPU ms/msg | PostgreSQL CPU ms/msg "
        "| met |",
        "|" + " ---: |" * 13 + " --- |",
    ]
    for count, r in sorted(data["runs"].items(), key=lambda item: int(item[0])):
        met = r["duplicates"] == 0 and r["lost"] == 0 and r["sent"] == r["messages"]
        lines.append(
            f"| {count} | {r['messages']:,} | {r['sent']:,} | {r['messages_per_second']:.0f} "
            f"| {r['duplicates']} | {r.get('retried', 0)} | {r['lost']} | {r['delay_p50_ms']:.0f} "
            f"| {r['delay_p99_ms']:.0f} | {r['storm_seconds']:.1f} "
            f"| {r.get('drain_seconds', 0):.1f} "
            f"| {r['cpu_ms_per_message']['dispatchers']:.2f} "
            f"| {r['cpu_ms_per_message']['db']:.2f} | {'**met**' if met else '**missed**'} |"
        )
    return "\n".join(lines)


def _between(text: str, start: str, end: str, body: str) -> str:
    head, rest = text.split(start, 1)
    _previous, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--save-before",
        action="store_true",
        help="keep these figures in bench/before.json as the 'before' column",
    )
    parser.add_argument("--note", default="", help="a remark on this run, shown above the table")
    args = parser.parse_args(argv)
    results = load()
    before = None
    if BEFORE.exists():
        before = {
            tuple(key.split("/", 1)): value for key, value in json.loads(BEFORE.read_text()).items()
        }
    path = ROOT / "bench" / "RESULTS.md"
    delivery_file = RESULTS / "delivery.json"
    if delivery_file.exists():
        section = delivery_section(json.loads(delivery_file.read_text()))
        path.write_text(_between(path.read_text(), DELIVERY_START, DELIVERY_END, section))
        print(section)
        if not results:  # `python -m bench delivery` alone: the other figures stay as they are
            print(f"\nwrote {path}")
            return 0
    text = render(results, before, args.note)
    if args.save_before:
        saved = {f"{g}/{k}": f for (g, k), f in figures_of(results).items()}
        BEFORE.write_text(json.dumps(saved, indent=2) + "\n")
        print(f"wrote {BEFORE}")
    path.write_text(_between(path.read_text(), START, END, text))
    print(text)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
