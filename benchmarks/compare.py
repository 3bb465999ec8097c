"""Compare benchmark: two versions of a predictions table, dsviz vs pandas vs plain DuckDB.

Each (order, system, scenario) runs in its own subprocess so its peak RSS is its own.
Data: two versions of a 1M-row predictions table (id, pred int 0-9 of which ~10% change
between the versions, conf float, correct bool, label: the true class's name), logged as
versions v0 and v1 of one dsviz artifact in a temp store; pandas and DuckDB read the very
Parquet files the store wrote. The second version is written either in the first's row
order (``same``: predictions written in dataset order) or shuffled (``shuffled``).

    python benchmarks/compare.py                      # 1M rows, both orders
    python benchmarks/compare.py --rows 200000 --orders same

Scenarios, each from the two stored versions to the answer (nothing cached between repeats:
ours builds a new comparison each time, pandas reads the files each time, DuckDB runs the
whole query each time):

- first page: ``dv.compare(t0, t1, on="id")`` then its first 100 rows through the engine
  (what the widget's first page request runs) | ``read_parquet`` x2 + ``merge`` + ``head``
  | ``FULL OUTER JOIN ... LIMIT 100``.
- changed count: rows whose ``pred`` changed (ours: ``cmp.num_changed(columns=["pred"])``,
  the count of ``cmp.changed(columns=["pred"])`` without reading the rows)
  | ``(merged.pred_v0 != merged.pred_v1).sum()`` | ``COUNT(*) ... WHERE a.pred IS DISTINCT
  FROM b.pred``.
- transitions: counts of ``pred@v0`` x ``pred@v1`` (ours: ``cmp.transitions("pred")``) |
  ``pd.crosstab`` | ``GROUP BY a.pred, b.pred``.

dsviz's engine (one per process, like a widget's or the session's) is made before the
timings; "first" is the first repeat in a fresh process (imports done), the median is over
the repeats after it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, markdown_table, peak_rss_mb

SCENARIOS = ["first_page", "changed_count", "transitions"]
SYSTEMS = ["dsviz", "duckdb", "pandas"]
ORDERS = ["same", "shuffled"]
LIMIT = 100
CLASSES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def make_versions(store: Path, n: int, order: str) -> dict[str, Any]:
    """Log v0 and v1 of artifact ``preds`` into ``store``; return their Parquet paths."""
    import numpy as np
    import pandas as pd

    import dsviz_widget as dv

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 10, n)
    # A model right ~80% of the time, and a later one that changes ~10% of its answers.
    pred0 = np.where(rng.random(n) < 0.8, truth, rng.integers(0, 10, n))
    moved = rng.random(n) < 0.1
    pred1 = np.where(moved, (pred0 + rng.integers(1, 10, n)) % 10, pred0)
    frames = []
    for pred in (pred0, pred1):
        frames.append(
            pd.DataFrame(
                {
                    "id": np.arange(n, dtype=np.int64),
                    "pred": pred.astype(np.int64),
                    "conf": rng.random(n),
                    "correct": pred == truth,
                    "label": np.array(CLASSES)[truth],
                }
            )
        )
    if order == "shuffled":
        frames[1] = frames[1].iloc[rng.permutation(n)].reset_index(drop=True)
    run = dv.init(project="compare-bench", job_type="predict", dir=store)
    for df in frames:
        art = dv.Artifact("preds", type="predictions")
        art.add(dv.Table(dataframe=df), "preds")
        run.log_artifact(art)
    paths = []
    for version in ("v0", "v1"):
        table = run.use_artifact(f"preds:{version}").get("preds")
        source = table.engine_source()
        assert len(source.parquet) == 1, source
        paths.append(source.parquet[0])
    run.finish()
    return {"paths": paths, "changed": int(moved.sum())}


def run_one(
    system: str, scenario: str, store: str, paths: list[str], repeat: int
) -> dict[str, Any]:
    """Runs inside the subprocess: latencies (s), the answer (to check), peak RSS (MB)."""
    times: list[float] = []
    answer: Any = None
    a, b = paths
    if system == "rowmap":
        return _row_map_ab(paths, repeat)
    if system == "widget":
        return _widget_messages(store, repeat)
    if system == "dsviz":
        import dsviz_widget as dv
        from dsviz_widget.engine import Engine, Query

        eng = Engine()
        dv.init(project="compare-bench", job_type="analyse", dir=store)

        def once() -> Any:
            t0 = dv.use_artifact("preds:v0").get("preds")
            t1 = dv.use_artifact("preds:v1").get("preds")
            cmp = dv.compare(t0, t1, on="id")
            if scenario == "first_page":
                page = eng.view(cmp.engine_source(), Query()).page(0, LIMIT)
                return page.num_rows
            if scenario == "changed_count":
                return cmp.num_changed(columns=["pred"])
            return _transitions_total(cmp.transitions("pred"))

    elif system == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute("SET threads = 2")
        join = f"read_parquet('{a}') a FULL OUTER JOIN read_parquet('{b}') b ON a.id = b.id"
        sql = {
            "first_page": f"SELECT * FROM {join} LIMIT {LIMIT}",
            "changed_count": f"SELECT count(*) FROM {join} WHERE a.pred IS DISTINCT FROM b.pred",
            "transitions": f"SELECT a.pred, b.pred, count(*) AS n FROM {join} GROUP BY ALL",
        }[scenario]

        def once() -> Any:
            out = con.sql(sql).fetchall()
            if scenario == "first_page":
                return len(out)
            if scenario == "changed_count":
                return int(out[0][0])
            return int(sum(r[2] for r in out))

    else:
        import pandas as pd

        def once() -> Any:
            # What a pandas user does: load both versions, align them, compute.
            m = pd.read_parquet(a).merge(
                pd.read_parquet(b), on="id", how="outer", suffixes=("@v0", "@v1")
            )
            if scenario == "first_page":
                return len(m.head(LIMIT))
            if scenario == "changed_count":
                # != alone would count rows missing from both as changed; none are here.
                return int((m["pred@v0"] != m["pred@v1"]).sum())
            return int(pd.crosstab(m["pred@v0"], m["pred@v1"]).to_numpy().sum())

    for _ in range(repeat):
        t0 = time.perf_counter()
        answer = once()
        times.append(time.perf_counter() - t0)
    later = times[1:] or times
    return {
        "first": times[0],
        "median": statistics.median(later),
        "min": min(later),
        "answer": answer,
        "rss_mb": peak_rss_mb(),
    }


def _row_map_ab(paths: list[str], repeat: int) -> dict[str, Any]:
    """The row map alone: the fast path and the DuckDB join it replaced, interleaved so
    both see the same machine load."""
    from dsviz_widget.engine import Source
    from dsviz_widget.engine._align import fast_row_map, row_map_duckdb
    from dsviz_widget.engine._relation import relation_for

    rels = [relation_for(Source.from_parquet([p])) for p in paths]
    fast: list[float] = []
    duck: list[float] = []
    rows = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        got = fast_row_map(rels, ["id"], "outer")
        fast.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        expected = row_map_duckdb(rels, ["id"], "outer")
        duck.append(time.perf_counter() - t0)
        assert got is not None and got.equals(expected)
        rows = got.num_rows
    return {
        "first": fast[0],
        "median": statistics.median(fast),
        "duckdb_median": statistics.median(duck),
        "min": min(fast),
        "answer": rows,
        "rss_mb": peak_rss_mb(),
    }


def _widget_messages(store: str, repeat: int) -> dict[str, Any]:
    """What the compare widget asks when it opens, through its own message handler (no
    browser): the widget made on the comparison (its row map), ``info``, the first page,
    the header's change counts, and the first "changed rows only" page on ``pred``."""
    import dsviz_widget as dv
    from dsviz_widget.widget import compare

    dv.init(project="compare-bench", job_type="analyse", dir=store)
    sources = [dv.use_artifact(f"preds:v{i}").get("preds").engine_source() for i in (0, 1)]
    steps: dict[str, list[float]] = {}
    replies: list[dict[str, Any]] = []
    messages: list[tuple[str, dict[str, Any]]] = [
        ("info", {"kind": "info"}),
        ("page", {"kind": "page", "query": {}, "offset": 0, "limit": LIMIT}),
        ("changes", {"kind": "changes"}),
        (
            "changed_only_page",
            {
                "kind": "page",
                "query": {"changed_only": True, "change_columns": ["pred"]},
                "offset": 0,
                "limit": LIMIT,
            },
        ),
    ]
    for _ in range(repeat):
        t0 = time.perf_counter()
        w = compare(sources, on="id", labels=["v0", "v1"], read_blob=lambda d: b"")
        steps.setdefault("open", []).append(time.perf_counter() - t0)
        w.send = lambda content, buffers=None: replies.append(content)
        for name, msg in messages:
            t0 = time.perf_counter()
            w._on_custom_msg(w, {"id": name, **msg}, [])
            assert w._worker.wait_idle(120)
            steps.setdefault(name, []).append(time.perf_counter() - t0)
            assert replies[-1]["kind"] != "error", replies[-1]
        w.close()
    medians = {k: statistics.median(v[1:] or v) for k, v in steps.items()}
    return {
        "first": sum(v[0] for v in steps.values()),
        "median": medians["open"] + medians["info"] + medians["page"],
        "steps": medians,
        "answer": replies[-1].get("num_rows"),
        "rss_mb": peak_rss_mb(),
    }


def _transitions_total(matrix: Any) -> int:
    return int(matrix.select_dtypes("number").to_numpy().sum())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--orders", nargs="*", default=ORDERS)
    ap.add_argument("--systems", nargs="*", default=SYSTEMS)
    ap.add_argument("--scenarios", nargs="*", default=SCENARIOS)
    ap.add_argument("--repeat", type=int, default=6)
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument(
        "--widget",
        action="store_true",
        help="also time the compare widget's first messages through its handler",
    )
    ap.add_argument(
        "--rowmap",
        action="store_true",
        help="also time the row map alone: the fast path vs the DuckDB join it replaced",
    )
    ap.add_argument("--_child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        system, scenario, store, paths, repeat = args._child
        print(json.dumps(run_one(system, scenario, store, json.loads(paths), int(repeat))))
        return
    print(f"# {machine(['duckdb', 'pyarrow', 'pandas', 'numpy'])}", file=sys.stderr)
    results = []
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for order in args.orders:
        with tempfile.TemporaryDirectory() as tmp:
            store = Path(tmp) / "store"
            t0 = time.perf_counter()
            made = subprocess.run(
                [sys.executable, "-c", _MAKE, str(store), str(args.rows), order],
                capture_output=True,
                text=True,
                env=env,
                check=True,
                cwd=tmp,
            )
            data = json.loads(made.stdout.strip().splitlines()[-1])
            print(
                f"# {args.rows:,} rows x 2 versions ({order} order) logged in "
                f"{time.perf_counter() - t0:.1f}s; {data['changed']:,} preds changed",
                file=sys.stderr,
            )
            jobs = [(sc, sy) for sc in args.scenarios for sy in args.systems]
            if args.rowmap:
                jobs.append(("row_map", "rowmap"))
            if args.widget:
                jobs.append(("widget", "widget"))
            for scenario, system in jobs:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--_child",
                        system,
                        scenario,
                        str(store),
                        json.dumps(data["paths"]),
                        str(args.repeat),
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=tmp,
                )
                if out.returncode:
                    print(f"{order} {scenario} {system}: failed\n{out.stderr}", file=sys.stderr)
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                r.update(order=order, system=system, scenario=scenario, rows=args.rows)
                results.append(r)
                if system == "widget":
                    steps = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in r["steps"].items())
                    print(f"{order:8} widget messages (medians): {steps}", flush=True)
                    continue
                if system == "rowmap":
                    print(
                        f"{order:8} row map: fast median {r['median'] * 1000:.0f} ms, "
                        f"DuckDB join median {r['duckdb_median'] * 1000:.0f} ms",
                        flush=True,
                    )
                    continue
                print(
                    f"{order:8} {scenario:14} {system:6} median {r['median'] * 1000:7.0f} ms"
                    f"  first {r['first'] * 1000:7.0f} ms  peak RSS {r['rss_mb']:6.0f} MB"
                    f"  answer {r['answer']}",
                    flush=True,
                )
    _check(results)
    print(_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _check(results: list[dict[str, Any]]) -> None:
    """The systems must agree on every answer, or the timings compare different work."""
    by: dict[tuple[str, str], set[Any]] = {}
    for r in results:
        if r["system"] in SYSTEMS:
            by.setdefault((r["order"], r["scenario"]), set()).add(r["answer"])
    for (order, scenario), answers in by.items():
        if len(answers) > 1:
            print(f"# DISAGREE {order} {scenario}: {sorted(answers)}", file=sys.stderr)


def _table(results: list[dict[str, Any]]) -> str:
    rows = []
    for order in ORDERS:
        for scenario in SCENARIOS:
            cells = {
                r["system"]: f"{r['median'] * 1000:.0f} / {r['rss_mb']:.0f}"
                for r in results
                if r["order"] == order and r["scenario"] == scenario
            }
            if cells:
                rows.append(
                    [f"{scenario.replace('_', ' ')} ({order})"]
                    + [cells.get(s, "-") for s in SYSTEMS]
                )
    return markdown_table(["scenario (v1 order)", *SYSTEMS], rows)


# The data is made in a process of its own, so the store's run and caches do not linger in
# the parent (whose memory the children would not share anyway).
_MAKE = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from compare import make_versions
from pathlib import Path
print(json.dumps(make_versions(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))
"""


if __name__ == "__main__":
    main()
