"""The query benchmark keeps running: every system answers every scenario it has a call for,
the answers agree, and a disagreement is caught (so its tables cannot silently compare
different work)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Loaded by path under a name of its own: "query" would be too common a module name.
_spec = importlib.util.spec_from_file_location("bench_query", ROOT / "benchmarks" / "query.py")
assert _spec is not None and _spec.loader is not None
query = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(query)
SCENARIOS = query.SCENARIOS


def test_query_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    systems = ["dsviz", "widget", "duckdb", "pandas"]
    if importlib.util.find_spec("polars") is not None:
        systems.append("polars")
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "query.py"),
            "--sizes",
            "20000",
            "--one-process",
            "--repeats",
            "2",
            "--systems",
            *systems,
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
            str(tmp_path / "out.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]
    (size,) = json.loads((tmp_path / "out.json").read_text())["sizes"]
    cells = {(c["scenario"], c["system"]): c for c in size["cells"]}
    assert not [c for c in cells.values() if "error" in c or "mismatch" in c]
    for scenario in SCENARIOS:
        assert cells[scenario, "duckdb"]["times"], scenario
        # Each scenario is measured through at least one of dsviz's public paths.
        assert cells[scenario, "dsviz"]["times"] or cells[scenario, "widget"]["times"], scenario
    # The page answers are real rows: the sorted first page is the 50 highest scores.
    import pandas as pd

    df = pd.read_parquet(size["logged"]["parquet"])
    top = df.sort_values("score", ascending=False)["id"].head(50).tolist()
    assert cells["sorted_page", "widget"]["answer"] == [top]
    assert cells["filtered_count", "duckdb"]["answer"] == [
        int(((df.score > 0.5) & (df.label == "cat")).sum())
    ]
    assert "| first page" in out.stdout and "dsviz ÷ DuckDB" in out.stdout


def _cell(system: str, answer: Any, ms: float) -> dict[str, Any]:
    return {
        "scenario": "sorted_page",
        "system": system,
        "times": [ms / 1000],
        "first": [],
        "rss_mb": [100.0],
        "answers": [answer],
    }


def test_a_disagreeing_answer_is_flagged_and_not_judged() -> None:
    size = {
        "rows": 10,
        "load_average": [(1.0, 1.0, 1.0), (1.0, 1.0, 1.0)],
        "cells": [
            _cell("duckdb", [3, 1, 2], 10),
            _cell("dsviz", [3, 2, 1], 5),
            _cell("widget", [3, 1, 2], 8),
        ],
    }
    problems = query.check(size)
    assert len(problems) == 1 and "dsviz answered [3, 2, 1]" in problems[0]
    text = query.report(size, ["dsviz", "widget", "duckdb"], "test")
    row = next(line for line in text.splitlines() if line.startswith("| sorted first page"))
    assert "≠ duckdb" in row
    # Only the agreeing path is compared with DuckDB: 8 ms / 10 ms.
    assert "widget 0.80×" in row and "dsviz 0.50×" not in row and "| met" in row


@pytest.mark.parametrize(
    ("ms", "verdict"), [(9.0, "met"), (12.0, "**missed** (dsviz 1.20×, widget 1.20×)")]
)
def test_targets_are_ratios_to_duckdb_in_the_same_run(ms: float, verdict: str) -> None:
    cells = {
        "duckdb": _cell("duckdb", [1], 10),
        "dsviz": _cell("dsviz", [1], ms),
        "widget": _cell("widget", [1], ms),
    }
    ratio, target, met = query.verdict("sorted_page", cells)
    assert (target, met) == ("≤ 1×", verdict)
    assert ratio == f"dsviz {ms / 10:.2f}× · widget {ms / 10:.2f}×"
