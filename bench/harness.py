"""Timing side by side: each measurement runs after a warm-up, at least RUNS times, in this one
process, against a baseline measured in the same run; results go to results.md / results.json."""

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django.db import connection, reset_queries

RUNS = 20
WARM_UP = 3
HERE = Path(__file__).resolve().parent


@dataclass
class Result:
    name: str
    scale: str
    median_ms: float
    p95_ms: float
    baseline_median_ms: float | None = None
    ratio: float | None = None
    target: float | None = None
    met: bool | None = None
    queries: int | None = None


def timings(action, *, runs=RUNS, warm_up=WARM_UP):
    """Milliseconds of each of `runs` calls of `action`, after `warm_up` calls."""
    for _ in range(warm_up):
        action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def queries_of(action):
    """The number of SQL queries one call of `action` runs."""
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def compare(name, *, scale, action, baseline, target=None, runs=RUNS):
    """`action` against `baseline`, interleaved run by run so that noise hits both alike."""
    ours, theirs = [], []
    for _ in range(WARM_UP):
        action()
        baseline()
    for _ in range(runs):
        ours.extend(timings(action, runs=1, warm_up=0))
        theirs.extend(timings(baseline, runs=1, warm_up=0))
    ratio = statistics.median(ours) / statistics.median(theirs)
    return Result(
        name=name,
        scale=scale,
        median_ms=round(statistics.median(ours), 2),
        p95_ms=round(p95(ours), 2),
        baseline_median_ms=round(statistics.median(theirs), 2),
        ratio=round(ratio, 3),
        target=target,
        met=None if target is None else ratio <= target,
        queries=queries_of(action),
    )


def measure(name, *, scale, action, target_ms=None, runs=RUNS, count_queries=True):
    samples = timings(action, runs=runs)
    median = statistics.median(samples)
    return Result(
        name=name,
        scale=scale,
        median_ms=round(median, 2),
        p95_ms=round(p95(samples), 2),
        met=None if target_ms is None else median <= target_ms,
        queries=queries_of(action) if count_queries else None,
    )


def machine():
    """The machine and database server, for the results; asks the database for its version, so
    call it while the database is still there."""
    memory, processor = "", ""
    meminfo, cpuinfo = Path("/proc/meminfo"), Path("/proc/cpuinfo")
    if meminfo.exists():
        kilobytes = int(meminfo.read_text().split()[1])
        memory = f"{kilobytes / 1024 / 1024:.0f} GiB"
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        processor = f" ({names[0].split(':', 1)[1].strip()})" if names else ""
    server = connection.vendor
    if connection.vendor == "postgresql":
        version = connection.pg_version
        server = f"PostgreSQL {version // 10000}.{version % 10000}"
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores{processor}, "
        f"{memory} memory, Python {platform.python_version()}, {server}"
    )


def write(results, *, notes=(), directory=HERE, machine_text=None):
    rows = [asdict(result) for result in results]
    (directory / "results.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine_text or machine()}.",
        "",
        "| what | scale | median ms | p95 ms | baseline median ms | ratio | target | met "
        "| queries |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        cells = [row[key] for key in asdict(results[0])]
        lines.append("| " + " | ".join("" if cell is None else str(cell) for cell in cells) + " |")
    lines += ["", *notes]
    (directory / "results.md").write_text("\n".join(lines) + "\n")
