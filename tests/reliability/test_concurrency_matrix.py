"""Item 3 of issue 6: K processes x N saves to one artifact name while readers verify.

For each K, K writer processes (forked from a forkserver that preloaded the library, all
released together by one event) each log N versions of ``contended``; two reader processes
meanwhile read ``:latest`` in a loop, re-hash every file of that version and compare its table
with what its writer logged. Afterwards: exactly K x N versions numbered v0..v(KN-1), every
(writer, i) exactly once and under the version its writer was told, ``verify()`` ok; the readers
never saw an error, a partial version or ``latest`` going backwards.

Default: K x N = 2x20, 8x8, 32x3. ``DSVIZ_LONG=1``: 2x50, 8x50, 32x50.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.reliability._common import LONG, fresh_store
from tests.reliability._saves import context
from tests.reliability._workers import NAME, reader, table_for, writer
from tests.reliability.test_save_faults import _record

MATRIX = [(2, 50), (8, 50), (32, 50)] if LONG else [(2, 20), (8, 8), (32, 3)]
READERS = 2


@pytest.mark.slow
@pytest.mark.parametrize(("k", "saves"), MATRIX)
def test_k_writers_to_one_name_lose_nothing(k: int, saves: int, tmp_path: Path) -> None:
    from dsviz_widget.artifacts import _serialize

    ctx = context()
    root = tmp_path / "store"
    start, stop = ctx.Event(), ctx.Event()
    writers = [
        ctx.Process(target=writer, args=(str(root), w, saves, start, str(tmp_path / f"w{w}")))
        for w in range(k)
    ]
    ready = [ctx.Event() for _ in range(READERS)]
    readers = [
        ctx.Process(target=reader, args=(str(root), stop, ready[r], str(tmp_path / f"r{r}")))
        for r in range(READERS)
    ]
    for p in [*writers, *readers]:
        p.start()
    for event in ready:  # readers are reading before the writers start
        assert event.wait(120), "a reader did not start"
    began = time.perf_counter()
    start.set()
    try:
        for p in writers:
            p.join(900)
            assert p.exitcode == 0, f"a writer failed (exit {p.exitcode})"
        elapsed = time.perf_counter() - began
    finally:
        stop.set()
        for p in [*writers, *readers]:
            p.join(60)
            if p.exitcode is None:
                p.kill()
    assert all(p.exitcode == 0 for p in readers), "a reader saw an error or a partial version"

    total = k * saves
    told = {}
    for w in range(k):
        for i, version in json.loads((tmp_path / f"w{w}").read_text()):
            told[(w, i)] = version
    assert len(told) == total
    assert sorted(told.values()) == list(range(total)), "versions are not contiguous or were shared"

    store = fresh_store(root)
    rows = store.catalog.versions(NAME)
    assert [r.version for r in rows] == list(range(total))
    for row in rows:
        key = (row.metadata["writer"], row.metadata["i"])
        assert told[key] == row.version, f"{key} was told v{told[key]} but is v{row.version}"
        assert _serialize.read(store, row, "table") == table_for(*key), row.qualified_name
    report = store.verify()
    assert report.ok, report.problems

    reads = [json.loads((tmp_path / f"r{r}").read_text()) for r in range(READERS)]
    seen = [v for r in reads for v in r["seen"]]
    for r in reads:
        assert r["seen"] == sorted(r["seen"])
    assert all(r["seen"] and r["seen"][-1] == total - 1 for r in reads), "a reader missed the end"
    figures = {
        "writers": k,
        "saves_each": saves,
        "versions": total,
        "lost": 0,
        "seconds": round(elapsed, 2),
        "saves_per_second": round(total / elapsed, 1),
        "reader_reads": len(seen),
        "reader_files_hashed": sum(r["files"] for r in reads),
        "distinct_versions_read": len(set(seen)),
    }
    _record(f"concurrency-{k}x{saves}", figures)
    print(f"\n{figures}")
