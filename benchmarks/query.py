"""Query-engine benchmark: dsviz_widget's Engine vs naive DuckDB vs pandas, side by side.

Each (size, system, scenario) runs in its own subprocess so its peak RSS is its own.
Data: a Parquet file per size (pyarrow, row groups of 128k rows) in a temp directory.

    python benchmarks/query.py                 # 1M and 10M rows
    python benchmarks/query.py --sizes 1000000 # just 1M
    python benchmarks/query.py --huge          # also 100M rows

Scenarios: first page; filtered first page; sorted first page; deep page (offset N/2) in
a sorted view (ours: median of further deep pages after the view's first page, i.e. the
browsing case; the first deep-page latency is reported separately); group-by; filtered
count; header summary (histogram of a float column).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = [
    "first_page",
    "filtered_page",
    "sorted_page",
    "deep_page",
    "group_by",
    "filtered_count",
    "summary",
]
SYSTEMS = ["dsviz", "duckdb", "pandas"]
LIMIT = 50
FILTER = "score > 0.5 and label == 'cat'"


def make_data(path: Path, n: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    labels = np.array(["cat", "dog", "car", "tree", "person", "bike", "bus", "sky"])
    writer = None
    step = 1_000_000
    for start in range(0, n, step):
        m = min(step, n - start)
        batch = pa.table(
            {
                "id": pa.array(np.arange(start, start + m)),
                "score": pa.array(rng.random(m)),
                "label": pa.array(labels[rng.integers(0, len(labels), m)]),
                "n_boxes": pa.array(rng.integers(0, 12, m)),
                "%_vegetation": pa.array(rng.random(m)),
                "caption": pa.array([f"image {i}" for i in range(start, start + m)]),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch, row_group_size=128 * 1024)
    assert writer is not None
    writer.close()


def run_one(system: str, scenario: str, path: str, n: int, repeat: int) -> dict[str, float]:
    """Runs inside the subprocess: returns latencies (s) and peak RSS (MB)."""
    times: list[float] = []
    first = 0.0
    deep = n // 2
    if system == "dsviz":
        from dsviz_widget.engine import Engine, Query, Source

        eng = Engine()
        src = Source.from_parquet([path])

        def once(i: int) -> None:
            if scenario == "first_page":
                eng.view(src, Query()).page(0, LIMIT)
            elif scenario == "filtered_page":
                eng.view(src, Query(filter=FILTER)).page(0, LIMIT)
            elif scenario == "sorted_page":
                eng.view(src, Query(sort=["-score"])).page(0, LIMIT)
            elif scenario == "deep_page":
                eng.view(src, Query(sort=["-score"])).page(deep + i * 997, LIMIT)
            elif scenario == "group_by":
                eng.view(src, Query(group_by=["label"])).page(0, LIMIT)
            elif scenario == "filtered_count":
                _ = eng.view(src, Query(filter=FILTER)).num_rows
            elif scenario == "summary":
                eng.view(src, Query()).summary("score")

        if scenario == "deep_page":
            # The browsing case: the view is opened (first page), then the user jumps deep.
            t0 = time.perf_counter()
            eng.view(src, Query(sort=["-score"])).page(0, LIMIT)
            once(0)
            first = time.perf_counter() - t0
        for i in range(repeat):
            if scenario not in ("deep_page",):
                eng._views.clear()  # every repeat is a new view: no cached counts or orders
            t0 = time.perf_counter()
            once(i + 1)
            times.append(time.perf_counter() - t0)
    elif system == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute("SET threads = 2")
        t = f"read_parquet('{path}')"
        sql = {
            "first_page": f"SELECT * FROM {t} LIMIT {LIMIT}",
            "filtered_page": f"SELECT * FROM {t} WHERE score > 0.5 AND label = 'cat' LIMIT {LIMIT}",
            "sorted_page": f"SELECT * FROM {t} ORDER BY score DESC LIMIT {LIMIT}",
            "deep_page": f"SELECT * FROM {t} ORDER BY score DESC LIMIT {LIMIT} OFFSET {deep}",
            "group_by": f"SELECT label, count(*), avg(score), min(score), max(score), "
            f"avg(n_boxes) FROM {t} GROUP BY label ORDER BY label",
            "filtered_count": f"SELECT count(*) FROM {t} WHERE score > 0.5 AND label = 'cat'",
            "summary": f"SELECT histogram(floor(score * 20)) FROM {t}",
        }[scenario]
        for _ in range(repeat):
            t0 = time.perf_counter()
            con.sql(sql).to_arrow_table()
            times.append(time.perf_counter() - t0)
    else:
        import pandas as pd

        def once(i: int) -> None:
            # What a pandas user does: load the file, then compute.
            df = pd.read_parquet(path)
            if scenario == "first_page":
                df.head(LIMIT)
            elif scenario == "filtered_page":
                df[(df.score > 0.5) & (df.label == "cat")].head(LIMIT)
            elif scenario == "sorted_page":
                df.nlargest(LIMIT, "score")
            elif scenario == "deep_page":
                df.sort_values("score", ascending=False).iloc[deep : deep + LIMIT]
            elif scenario == "group_by":
                df.groupby("label").agg(
                    {"score": ["count", "mean", "min", "max"], "n_boxes": "mean"}
                )
            elif scenario == "filtered_count":
                int(((df.score > 0.5) & (df.label == "cat")).sum())
            elif scenario == "summary":
                pd.cut(df.score, 20).value_counts()

        for i in range(repeat):
            t0 = time.perf_counter()
            once(i)
            times.append(time.perf_counter() - t0)
    rss = _peak_rss_mb()
    return {
        "median": statistics.median(times),
        "p95": sorted(times)[int(0.95 * (len(times) - 1))],
        "first": first,
        "rss_mb": rss,
    }


def _peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: after fork+exec, ru_maxrss still carries the parent's peak
    # (the parent wrote the data), while VmHWM belongs to this process image only.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--huge", action="store_true", help="also 100M rows")
    ap.add_argument("--systems", nargs="*", default=SYSTEMS)
    ap.add_argument("--scenarios", nargs="*", default=SCENARIOS)
    ap.add_argument("--_child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        system, scenario, path, n, repeat = args._child
        print(json.dumps(run_one(system, scenario, path, int(n), int(repeat))))
        return
    sizes = list(args.sizes) + ([100_000_000] if args.huge else [])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"data_{n}.parquet"
            t0 = time.perf_counter()
            make_data(path, n)
            print(f"# {n:,} rows written in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            for scenario in args.scenarios:
                for system in args.systems:
                    if system == "pandas" and n > 10_000_000:
                        continue
                    repeat = (
                        20
                        if system == "dsviz" and scenario == "deep_page"
                        else (3 if system == "pandas" or n >= 10_000_000 else 5)
                    )
                    out = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--_child",
                            system,
                            scenario,
                            str(path),
                            str(n),
                            str(repeat),
                        ],
                        capture_output=True,
                        text=True,
                        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
                    )
                    if out.returncode:
                        print(out.stderr, file=sys.stderr)
                        continue
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    r.update(rows=n, system=system, scenario=scenario)
                    results.append(r)
                    extra = f" (first deep page {r['first'] * 1000:.0f} ms)" if r["first"] else ""
                    print(
                        f"{n:>11,} {scenario:15} {system:7} median {r['median'] * 1000:9.1f} ms"
                        f"  p95 {r['p95'] * 1000:9.1f} ms  peak RSS {r['rss_mb']:7.0f} MB{extra}",
                        flush=True,
                    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
