"""A Dask table logged to a remote store gets the head of its part 0: a cold read pages from
it (row ids of the whole table) while every part downloads, and waits for them otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import _serialize
from tests._store_kinds import StoreKind
from tests.team.test_head import _Relay, cold, entry_of, plain, wait_held
from tests.team.test_head import gated as gated  # the fixture
from tests.team.test_s3_store import log

dd = pytest.importorskip("dask.dataframe")


def test_a_dask_table_pages_from_the_head_of_its_first_part(
    s3_kind: StoreKind, gated: _Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_serialize, "HEAD_MIN_BYTES", 1)
    monkeypatch.setattr(_serialize, "HEAD_ROWS", 120)
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"id": np.arange(2000), "x": rng.random(2000)})
    log(dv.Table(dataframe=dd.from_pandas(df, npartitions=4)))  # Dask's threads
    entry = entry_of(s3_kind)
    assert entry.head is not None and entry.rows == 2000
    store = s3_kind.open()
    manifest = store.manifest(store.catalog.resolve("cars:latest"))
    parts = [e.digest for n, e in sorted(manifest.entries.items()) if e.kind == "table-part"]
    assert len(parts) == 4
    gated.held = set(parts)  # every part held: only the head can answer
    table = cold(s3_kind, monkeypatch, gated)
    assert len(table) == 2000
    page = table.query(offset=50, limit=50)
    assert page.index.tolist() == list(range(50, 100))
    pd.testing.assert_frame_equal(plain(page), plain(df.iloc[50:100]), check_dtype=False)
    wait_held(gated)  # the parts' GETs are held: the page came from the head
    gated.gate.set()
    got = table.query(sort=["-x"], limit=2000)
    assert got["id"].tolist() == df.sort_values("x", ascending=False)["id"].tolist()
    pd.testing.assert_frame_equal(table.to_pandas(), df, check_dtype=False)
