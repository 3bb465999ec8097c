"""Query benchmark: dsviz through the calls users make, side by side with plain DuckDB,
polars and pandas, on the same Parquet file.

    python benchmarks/query.py                       # 1M and 10M rows
    python benchmarks/query.py --sizes 1000000       # one size
    python benchmarks/query.py --huge                # also 100M rows
    python benchmarks/query.py --systems dsviz duckdb --scenarios first_page --runs 7
    python benchmarks/query.py --json out.json       # also the raw numbers

Per size, a Parquet file (id, score, label, n_boxes, %_vegetation, caption; cached in a
temp dir keyed by size) is logged into a dsviz store (``dv.Table.from_parquet`` as an
artifact; cached per version of the package's code), in a process of its own whose peak RSS
is reported (issue 15: <= 1 GB at 100M rows). Every system then reads the very Parquet
file the store wrote, with the OS cache warm (the file is read once first).

Systems (``_query_systems.py``): ``dsviz`` = ``dv.use_artifact(...).get(...)`` then
``table.query(...)``; ``widget`` = the widget made on that table, sent the browser's
requests (``page``, ``summary``) through its message handler without a browser;
``duckdb`` = SQL over ``read_parquet`` (LIMIT/OFFSET); ``polars`` = ``scan_parquet ...
collect``; ``pandas`` = ``read_parquet`` + the operation.

First-call scenarios run once per fresh process, ``--runs`` processes each (imports and the
system's setup are not timed; the dsviz engine is made by the first call, which is timed).
Reuse scenarios (later pages of one view, the same ``table.query`` repeated) run
``--repeats`` calls after a first one in one process; the browsing session runs a person's
steps (``BROWSE``) one after the other in one process, once: its peak RSS is the kernel's
while browsing (issue 15: <= 1 GB at 100M rows). Each process's peak RSS is its VmHWM. Processes are interleaved (run 1 of every scenario and system, then run 2, ...)
so that load from other work on the machine falls on all systems alike.

The systems' answers (the page's ids, counts, groups, bins) are checked against DuckDB's;
a disagreement is printed in the table and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, markdown_table, peak_rss_mb
from _query_systems import (
    ARTIFACT,
    CLASSES,
    ENTRY,
    FIRST_CALL,
    REUSE,
    SCENARIOS,
    SYSTEMS,
    WARM_ARTIFACT,
    Skip,
)

REPO = Path(__file__).resolve().parents[1]
DATA_VERSION = 1  # bump when make_data changes: cached files are keyed by it
WARM_ROWS = 1000  # the file each process warms up on (see System.warm_up)
PARTIAL = "results.jsonl"  # in the cache dir: every measuring process's result, appended

LABELS = {
    "first_page": "first page",
    "filtered_rows": "filtered first page (rows)",
    "filtered_count": "filtered count",
    "sorted_page": "sorted first page",
    "deep_new_sort": "first deep page of a new sort (N/2)",
    "later_pages": "later pages of that view",
    "repeated_query": "same deep `table.query` again",
    "group_by": "group-by label: count + mean",
    "summary_float": "summary: histogram of score",
    "summary_string": "summary: top values of caption",
    "first_get": "first `get()` (others: open + row count)",
    "browse": "a browsing session in one process",
}
# The targets: ("ratio", x) = dsviz median <= x times DuckDB's in the same run;
# ("ms", x) = dsviz median <= x ms; ("mb", x) = dsviz process's peak RSS <= x MB.
TARGETS: dict[str, tuple[str, float]] = {
    "first_page": ("ratio", 1.0),
    "filtered_rows": ("ratio", 1.2),
    "sorted_page": ("ratio", 1.0),
    "deep_new_sort": ("ratio", 0.5),
    "later_pages": ("ms", 10),
    "repeated_query": ("ms", 50),
    "group_by": ("ratio", 1.0),
    "summary_float": ("ratio", 1.0),
    "summary_string": ("ratio", 1.0),
    "first_get": ("ms", 100),
    "browse": ("mb", 1024),
}
INGEST_TARGET_MB = 1024  # logging the table (issue 15: 100M rows in <= 1 GB)
DSVIZ_PATHS = ("dsviz", "widget")


# ---- data ----------------------------------------------------------------------------------


def make_data(path: Path, n: int) -> None:
    """``n`` rows in 1M-row batches (row groups of 128k rows), written to a temp name and
    renamed, so an interrupted run never leaves a partial file in the cache."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    labels = np.array(["cat", "dog", "car", "tree", "person", "bike", "bus", "sky"])
    part = path.with_suffix(".part")
    writer = None
    step = 1_000_000
    for start in range(0, n, step):
        m = min(step, n - start)
        ids = pa.array(np.arange(start, start + m))
        batch = pa.table(
            {
                "id": ids,
                "score": pa.array(rng.random(m)),
                "label": pa.array(labels[rng.integers(0, len(labels), m)]),
                "n_boxes": pa.array(rng.integers(0, 12, m)),
                "%_vegetation": pa.array(rng.random(m)),
                "caption": pc.binary_join_element_wise("image ", pc.cast(ids, pa.string()), ""),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(part, batch.schema)
        writer.write_table(batch, row_group_size=128 * 1024)
    assert writer is not None
    writer.close()
    part.rename(path)


def code_key() -> str:
    """A digest of the package's code: a store logged by other code is logged again."""
    h = hashlib.sha256()
    for f in sorted((REPO / "dsviz_widget").rglob("*.py")):
        h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def prepare(n: int, cache: Path, env: dict[str, str]) -> dict[str, Any]:
    """The cached Parquet file and store for ``n`` rows (made if missing); returns the
    stored Parquet file's path and how long logging took."""
    cache.mkdir(parents=True, exist_ok=True)
    data = cache / f"data-v{DATA_VERSION}-{n}.parquet"
    if not data.exists():
        t0 = time.perf_counter()
        make_data(data, n)
        print(f"# {n:,} rows written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    warm = cache / f"warm-v{DATA_VERSION}.parquet"
    if not warm.exists():
        make_data(warm, WARM_ROWS)
    store = cache / f"store-v{DATA_VERSION}-{n}-{code_key()}"
    done = store / "bench-logged.json"
    if not done.exists():
        for old in cache.glob(f"store-v{DATA_VERSION}-{n}-*"):
            shutil.rmtree(old, ignore_errors=True)
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _LOG, str(store), str(data), str(warm)],
            capture_output=True,
            text=True,
            env=env,
            cwd=cache,
        )
        if out.returncode:
            raise RuntimeError(f"logging {n:,} rows failed:\n{out.stderr}")
        info = json.loads(out.stdout.strip().splitlines()[-1])
        info["seconds"] = time.perf_counter() - t0
        done.write_text(json.dumps(info))
        print(
            f"# {n:,} rows logged in {info['seconds']:.1f} s (peak RSS {info['rss_mb']:.0f} MB)",
            file=sys.stderr,
        )
    return {"store": str(store), "warm": str(warm), **json.loads(done.read_text())}


# Logging runs in a process of its own: the parent stays small, and the store's run ends.
_LOG = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import dsviz_widget as dv
from _common import peak_rss_mb
store, data, warm = sys.argv[1], sys.argv[2], sys.argv[3]
with dv.init(project="query-bench", job_type="log", dir=store) as run:
    for name, path in (({ARTIFACT!r}, data), ({WARM_ARTIFACT!r}, warm)):
        art = dv.Artifact(name.split(":")[0], type="dataset")
        art.add(dv.Table.from_parquet(path), {ENTRY!r})
        run.log_artifact(art)
    table = run.use_artifact({ARTIFACT!r}).get({ENTRY!r})
    (parquet,) = table.engine_source().parquet
print(json.dumps({{"parquet": parquet, "rss_mb": peak_rss_mb()}}))
"""


def warm(path: str) -> None:
    """Read the file once so every system starts with it in the OS cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# ---- one process -----------------------------------------------------------------------------


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in the measuring process: set up one system, run the scenarios asked."""
    out: dict[str, Any] = {}
    try:
        system = CLASSES[spec["system"]](spec["parquet"], spec["store"], spec["n"], spec["repeats"])
        system.warm_up(spec["warm"], WARM_ROWS)
    except Exception as exc:
        err = _error(exc)
        return {"results": {s: err for s in spec["scenarios"]}, "rss_mb": peak_rss_mb()}
    for scenario in spec["scenarios"]:
        try:
            out[scenario] = system.run(scenario)
        except Skip as exc:
            out[scenario] = {"skip": str(exc) or "no call"}
        except Exception as exc:
            out[scenario] = _error(exc)
    # The results are in: a failure to close must not lose them.
    with contextlib.suppress(Exception):
        system.close()
    got = {"results": out, "rss_mb": peak_rss_mb()}
    # Also kept next to the cached data as it comes: a run stopped before its end (a 100M-row
    # run takes hours on a loaded machine) keeps every process's numbers.
    with contextlib.suppress(OSError), open(Path(spec["store"]).parent / PARTIAL, "a") as f:
        f.write(json.dumps({"at": time.time(), "spec": spec, **got}) + "\n")
    return got


def _error(exc: BaseException) -> dict[str, str]:
    """The exception's own message for the table, its traceback for the JSON."""
    first = (traceback.format_exception_only(type(exc), exc) or [repr(exc)])[0].strip()
    return {"error": first, "traceback": traceback.format_exc(limit=6)}


def spawn(spec: dict[str, Any], env: dict[str, str], timeout: float) -> dict[str, Any]:
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--_child", json.dumps(spec)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {
            "results": {s: {"error": f"timed out after {timeout:.0f} s"} for s in spec["scenarios"]}
        }
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        err = f"exit {out.returncode}: {out.stderr.strip()[-1500:]}"
        return {"results": {s: {"error": err} for s in spec["scenarios"]}}
    got: dict[str, Any] = json.loads(lines[-1])
    return got


# ---- the run ---------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    """Nearest rank: with 5 runs this is the slowest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measure_size(n: int, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    prepared = prepare(n, args.cache_dir, env)
    warm(prepared["parquet"])
    load_before = os.getloadavg()
    systems = [s for s in args.systems if not (s == "pandas" and n > 10_000_000)]
    first_call = [s for s in args.scenarios if s in FIRST_CALL]
    reuse = [s for s in args.scenarios if s in REUSE]
    cells: dict[tuple[str, str], dict[str, Any]] = {}

    def base(system: str, scenarios: list[str], repeats: int) -> dict[str, Any]:
        return {
            "system": system,
            "scenarios": scenarios,
            "parquet": prepared["parquet"],
            "store": prepared["store"],
            "n": n,
            "repeats": repeats,
            "warm": prepared["warm"],
        }

    def record(system: str, got: dict[str, Any]) -> None:
        for scenario, r in got["results"].items():
            cell = cells.setdefault(
                (scenario, system),
                {
                    "scenario": scenario,
                    "system": system,
                    "times": [],
                    "first": [],
                    "rss_mb": [],
                    "answers": [],
                },
            )
            for key in ("skip", "error"):
                if key in r:
                    cell[key] = r[key]
            if "times" in r:
                cell["times"].extend(r["times"])
                if r.get("first") is not None:
                    cell["first"].append(r["first"])
                if got.get("rss_mb") is not None:
                    cell["rss_mb"].append(got["rss_mb"])
                cell["answers"].append(r["answer"])
                cell.update({k: v for k, v in r.items() if k not in ("times", "first", "answer")})
                if "rest_seconds" in r:
                    cell.setdefault("rest", []).append(r["rest_seconds"])
            status = r.get("error", r.get("skip", ""))
            took = f"{r['times'][-1] * 1000:9.1f} ms" if "times" in r else ""
            print(
                f"{n:>12,} {scenario:15} {system:7} {took} {status.splitlines()[-1] if status else ''}",
                file=sys.stderr,
                flush=True,
            )

    if args.one_process:
        # Smoke mode (tests): one process per system, every scenario in it. The timings
        # then include caches of earlier scenarios and are not the benchmark's.
        for system in systems:
            record(system, spawn(base(system, first_call + reuse, args.repeats), env, args.timeout))
    else:
        for run in range(args.runs):
            for scenario in first_call + (reuse if run == 0 else []):
                for system in systems:
                    cell = cells.get((scenario, system), {})
                    if "skip" in cell or "error" in cell:
                        continue  # do not ask again what the system cannot do
                    record(system, spawn(base(system, [scenario], args.repeats), env, args.timeout))
    return {
        "rows": n,
        "logged": prepared,
        "load_average": [load_before, os.getloadavg()],
        "cells": list(cells.values()),
    }


def check(size: dict[str, Any]) -> list[str]:
    """Every system's answers must equal DuckDB's (else the first system's); returns the
    disagreements and marks their cells."""
    problems = []
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for cell in size["cells"]:
        by_scenario.setdefault(cell["scenario"], []).append(cell)
    for scenario, cells in by_scenario.items():
        answered = [c for c in cells if c["answers"]]
        if not answered:
            continue
        ref = next((c for c in answered if c["system"] == "duckdb"), answered[0])
        want = ref["answers"][0]
        for c in answered:
            bad = [a for a in c["answers"] if not _agrees(a, want)]
            if bad:
                c["mismatch"] = ref["system"]
                problems.append(
                    f"{size['rows']:,} rows, {scenario}: {c['system']} answered "
                    f"{_short(bad[0])}, {ref['system']} {_short(want)}"
                )
    return problems


def _agrees(answer: Any, want: Any) -> bool:
    """Equal, or a sampled top-values answer within what it claims of the exact one: the
    whole has at least ``distinct_min`` distinct values and no value's count in the sample
    is above the whole's largest count."""
    if isinstance(answer, dict) and "sample" in answer and isinstance(want, dict):
        if "sample" in want or "distinct" not in want:
            return answer == want
        top = max(want["counts"], default=0)
        return answer["distinct_min"] <= want["distinct"] and all(
            c <= top for c in answer["counts"]
        )
    return answer == want


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 160 else text[:157] + "..."


# ---- report ----------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f}" if ms < 10 else f"{ms:,.0f}"


def _cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    if "error" in cell and not cell["times"]:
        return "error"
    if "skip" in cell and not cell["times"]:
        return "—"
    t = cell["times"]
    text = f"{_ms(statistics.median(t))} / {_ms(p95(t))} ms · {max(cell['rss_mb'] or [0]):,.0f} MB"
    if "mismatch" in cell:
        text += f" **≠ {cell['mismatch']}**"
    return text


def _median(cell: dict[str, Any] | None) -> float | None:
    if not cell or not cell["times"] or "mismatch" in cell:
        return None
    return statistics.median(cell["times"])


def verdict(scenario: str, cells: dict[str, dict[str, Any]]) -> tuple[str, str, str]:
    """(ratio to DuckDB, target, met/missed) over every dsviz path measured."""
    duck = _median(cells.get("duckdb"))
    ours = {p: _median(cells.get(p)) for p in DSVIZ_PATHS}
    ours = {p: m for p, m in ours.items() if m is not None}
    ratio = " · ".join(f"{p} {m / duck:.2f}×" for p, m in ours.items()) if duck else ""
    if scenario not in TARGETS:
        return ratio, "", ""
    kind, bound = TARGETS[scenario]
    unit = {"ratio": "×", "ms": " ms", "mb": " MB"}[kind]
    target = f"≤ {bound:g}{unit}"
    if kind == "mb":
        # Memory is judged on the process's peak, whatever the timings: the largest of its runs.
        ours = {
            p: max(c["rss_mb"])
            for p in DSVIZ_PATHS
            if (c := cells.get(p)) and c["rss_mb"] and "mismatch" not in c
        }
    if not ours or (kind == "ratio" and not duck):
        return ratio, target, "n/a"
    value = {
        p: (m / duck if kind == "ratio" else m * 1000 if kind == "ms" else m)
        for p, m in ours.items()
    }
    missed = {p: v for p, v in value.items() if v > bound}
    if not missed:
        return ratio, target, "met"
    worst = ", ".join(
        f"{p} {v:.2f}{unit}" if kind == "ratio" else f"{p} {v:,.0f}{unit}"
        for p, v in missed.items()
    )
    return ratio, target, f"**missed** ({worst})"


def report(size: dict[str, Any], systems: list[str], header: str) -> str:
    cells = {(c["scenario"], c["system"]): c for c in size["cells"]}
    shown = [s for s in systems if any(k[1] == s for k in cells)]
    rows = []
    for scenario in SCENARIOS:
        row = {s: cells.get((scenario, s)) for s in shown}
        if not any(row.values()):
            continue
        ratio, target, met = verdict(scenario, {s: c for s, c in row.items() if c})
        rows.append([LABELS[scenario], *(_cell_text(row[s]) for s in shown), ratio, target, met])
    (lo1, _, _), (hi1, _, _) = size["load_average"]
    lines = [
        f"### {size['rows']:,} rows",
        "",
        f"{header}; load average {lo1:.1f} → {hi1:.1f}. Cells: median / p95 (ms) · peak RSS.",
        "",
        markdown_table(["scenario", *shown, "dsviz ÷ DuckDB", "target", "verdict"], rows),
    ]
    logged = size.get("logged") or {}
    if logged.get("rss_mb") is not None:
        met = "met" if logged["rss_mb"] <= INGEST_TARGET_MB else "**missed**"
        lines += [
            "",
            f"Logged with `dv.Table.from_parquet(path)` → `log_artifact` in a process of its "
            f"own: {logged['seconds']:.1f} s, peak RSS {logged['rss_mb']:,.0f} MB "
            f"(target ≤ {INGEST_TARGET_MB:,} MB: {met}).",
        ]
    firsts = [
        f"{c['system']} {_ms(statistics.median(c['first']))} ms"
        for c in size["cells"]
        if c["first"] and c["scenario"] == "later_pages"
    ]
    if firsts:
        lines += ["", "First deep page before the later pages: " + "; ".join(firsts) + "."]
    rests = [
        f"{c['system']} {_ms(statistics.median(c['rest']))} ms"
        for c in size["cells"]
        if c.get("rest") and c["scenario"] == "group_by"
    ]
    if rests:
        lines += [
            "",
            "Group-by, counts first: the widget's time is its first reply (the groups and their "
            "counts, drawn at once); the means and sample rows it then asks for arrived after "
            "(from the page request): " + "; ".join(rests) + ".",
        ]
    calls = {c["call"] for c in size["cells"] if "call" in c}
    if calls:
        lines += ["", "dsviz group-by: " + "; ".join(sorted(calls)) + "."]
    skips: dict[str, list[str]] = {}
    for c in size["cells"]:
        if "skip" in c and not c["times"]:
            skips.setdefault(c["skip"], []).append(f"{c['system']} {c['scenario']}")
    if skips:
        lines += [
            "",
            "—: " + "; ".join(f"{why} ({', '.join(who)})" for why, who in skips.items()) + ".",
        ]
    errors = [
        f"- {c['system']}, {LABELS[c['scenario']]}: {c['error']}"
        for c in size["cells"]
        if "error" in c
    ]
    if errors:
        lines += ["", "Errors (see --json for tracebacks):", *errors]
    failed = [
        f"- {c['system']}, {step}"
        for c in size["cells"]
        if c["scenario"] == "browse"
        for step in c.get("failed_steps") or []
    ]
    if failed:
        lines += ["", "Steps that failed in the browsing session (it went on):", *failed]
    return "\n".join(lines)


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {head}{' + local changes' if dirty else ''}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--huge", action="store_true", help="also 100M rows")
    ap.add_argument("--systems", nargs="*", default=SYSTEMS, choices=SYSTEMS)
    ap.add_argument("--scenarios", nargs="*", default=SCENARIOS, choices=SCENARIOS)
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per first-call scenario")
    ap.add_argument("--repeats", type=int, default=10, help="calls timed per reuse scenario")
    ap.add_argument("--json", type=Path, help="write the raw numbers here")
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "dsviz_bench_query",
        help="where the data and stores are kept between runs",
    )
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    ap.add_argument("--one-process", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        result = child(json.loads(args._child))
        print(json.dumps(result), flush=True)
        # Background threads (engine orders, the widget's worker) need not finish, so the
        # process ends without its atexit hooks; the engine's temp dir (row stores and
        # orders: GBs at 100M rows) would then stay on disk, so it is removed here.
        engine = sys.modules.get("dsviz_widget.engine._background")
        tmp = getattr(engine, "_tmp_dir", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        os._exit(0)
    # Each size once (``--sizes 100000000 --huge`` measured 100M twice).
    sizes = list(dict.fromkeys([*args.sizes, *([100_000_000] if args.huge else [])]))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    about = f"{commit()}; {machine(['duckdb', 'polars', 'pyarrow', 'pandas', 'numpy'])}"
    print(f"# {about}", file=sys.stderr)
    sizes_out, problems = [], []
    for n in sizes:
        size = measure_size(n, args, env)
        problems += check(size)
        sizes_out.append(size)
        print(report(size, args.systems, about) + "\n", flush=True)
    errors = [
        f"{s['rows']:,} rows, {c['scenario']}, {c['system']}: {c['error']}"
        for s in sizes_out
        for c in s["cells"]
        if "error" in c
    ]
    for line in problems + errors:
        print(f"# PROBLEM {line}", file=sys.stderr)
    if args.json:
        for s in sizes_out:
            for c in s["cells"]:
                c["answer"] = c.pop("answers")[:1]
        args.json.write_text(json.dumps({"about": about, "sizes": sizes_out}, indent=1))
    return 1 if problems or errors else 0


if __name__ == "__main__":
    sys.exit(main())
