"""CPU time of each tier, read from /proc: the app (a gunicorn master and its workers), PostgreSQL
(every process of the throwaway cluster) and the load generator (the locust process itself).

CPU time stays comparable on a shared machine when requests per second do not: a request costs
about the same milliseconds of CPU whoever else is running. Each figure counts a process's own
time (utime + stime) and that of its children it has reaped (cutime + cstime), so a PostgreSQL
backend or a gunicorn worker that exits during a measurement is still counted (by its parent).
"""

from __future__ import annotations

import os
from pathlib import Path

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may contain spaces), so that
    index 0 is the state (field 3 in proc(5))."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended meanwhile
        return None
    return text[text.rindex(")") + 2 :].split()


def _ticks(fields: list[str]) -> int:
    # utime, stime, cutime, cstime: proc(5) fields 14-17
    return sum(int(value) for value in fields[11:15])


def _processes():
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                yield int(entry.name), fields


def session_ms(session_id: int) -> float:
    """CPU milliseconds of every process in a session (a gunicorn master started with
    start_new_session=True leads its own session, which its workers join)."""
    # field 6 (session) is index 3 here
    return sum(_ticks(f) for _pid, f in _processes() if int(f[3]) == session_id) * TICK_MS


def tree_ms(root_pid: int) -> float:
    """CPU milliseconds of a process and its direct children (the postmaster and its backends
    and auxiliary processes)."""
    # field 4 (ppid) is index 1 here
    return (
        sum(_ticks(f) for pid, f in _processes() if pid == root_pid or int(f[1]) == root_pid)
        * TICK_MS
    )


def self_ms() -> float:
    fields = _stat(os.getpid())
    return _ticks(fields) * TICK_MS if fields else 0.0


def postmaster_pid(data_dir: Path) -> int:
    """The cluster's postmaster, from the first line of its postmaster.pid."""
    return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])


def machine_ms() -> float:
    """CPU milliseconds the whole machine has been busy (every CPU, /proc/stat): what the tiers
    used plus what everything else on the machine did, the noise in a figure."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) * TICK_MS


def snapshot(app_session: int | None, postmaster: int | None) -> dict[str, float]:
    """CPU milliseconds used so far by each tier, and by the machine as a whole."""
    return {
        "app": session_ms(app_session) if app_session else 0.0,
        "db": tree_ms(postmaster) if postmaster else 0.0,
        "load": self_ms(),
        "machine": machine_ms(),
    }
