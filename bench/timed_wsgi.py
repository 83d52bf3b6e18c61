"""A gunicorn worker's own time per request, for ``gunicorn_bench.py --timed DIR``:
each side's app wrapped so that every request's wall time and the CPU time
of its thread are recorded, and written to ``DIR/<side>-<pid>.json`` when the
worker exits (``<side>-<database>-<pid>.json``). Wall minus CPU is waiting: on the database, on a lock, or for
a core (2 cores are shared by wrk, four workers and the database).

    .venv/bin/python bench/gunicorn_bench.py --only submit --timed /tmp/timed
    .venv/bin/python bench/timed_wsgi.py /tmp/timed      # the summary
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def create(side: str, out: str, url: str | None = None) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    if side == "prefill":
        from app import create_app

        inner: Any = create_app({"DATABASE_URL": url} if url else None)
    else:
        from bench.baseline_wsgi import create as create_baseline

        inner = create_baseline(url)
    times: list[tuple[str, float, float]] = []
    database = (url or os.environ.get("DATABASE_URL", "")).split(":")[0].split("+")[0] or "sqlite"

    def timed(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        wall, cpu = time.perf_counter(), time.thread_time()
        body = b"".join(inner(environ, start_response))  # the whole answer made, as gunicorn would write it
        times.append((environ["PATH_INFO"], time.perf_counter() - wall, time.thread_time() - cpu))
        return [body]

    def write() -> None:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"{side}-{database}-{os.getpid()}.json").write_text(json.dumps(times))

    atexit.register(write)
    timed.write = write  # type: ignore[attr-defined]  # for a test: a worker writes at exit
    return timed


def summary(folder: str) -> str:
    """Per side, database and path: requests, and the median and 99th percentile of wall
    and CPU time per request, in ms."""
    rows: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for path in sorted(Path(folder).glob("*.json")):
        side, database, _pid = path.stem.split("-")
        for where, wall, cpu in json.loads(path.read_text()):
            rows.setdefault((database, side, where), []).append((wall, cpu))
    lines = []
    for (database, side, where), times in sorted(rows.items()):
        if len(times) < 100:
            continue  # a probe or a warm-up page
        walls, cpus = sorted(t[0] for t in times), sorted(t[1] for t in times)

        def q(values: list[float], p: float) -> float:
            return values[int(p * (len(values) - 1))] * 1000

        lines.append(f"{database:<10} {side:<9} {where:<42} {len(times):>6}"
                     f"  wall p50 {q(walls, .5):5.2f} p99 {q(walls, .99):6.2f}"
                     f"  cpu p50 {q(cpus, .5):5.2f} p99 {q(cpus, .99):6.2f} ms")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(sys.argv[1]))
