"""The widget of a big table opened cold from a remote store shows its first page from the
table's head while the whole file is still downloading (held by a relay in front of the
test's SeaweedFS), then reads everything else from the whole file once it is here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import _serialize
from dsviz_widget.widget import DatasetWidget
from tests._store_kinds import KINDS, StoreKind
from tests.team.test_head import _GatedHandler, entry_of, wait_held
from tests.team.test_s3_parallel_reads import _Relay, running_relay
from tests.team.test_s3_store import log
from tests.widget.test_widget import call, sent


@pytest.fixture
def held(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[StoreKind, _Relay]]:
    """A fresh S3 store and a relay in front of its server that holds chosen GETs."""
    monkeypatch.setattr(_serialize, "HEAD_MIN_BYTES", 1)
    monkeypatch.setattr(_serialize, "HEAD_ROWS", 400)
    dv.finish()
    kind = KINDS["s3-sqlite"](request, tmp_path, monkeypatch)
    for relay in running_relay(kind.extra["server"].endpoint, delay=0.0):
        relay.RequestHandlerClass = _GatedHandler
        relay.held, relay.failing, relay.waiting = set(), set(), []
        relay.hold, relay.gate = None, threading.Event()
        yield kind, relay
        relay.gate.set()
    dv.finish()


def rows_of(buffers: list[bytes]) -> pa.Table:
    return pa.ipc.open_stream(buffers[0]).read_all()


def cold_widget(
    kind: StoreKind, relay: _Relay, monkeypatch: pytest.MonkeyPatch, df: pd.DataFrame
) -> tuple[dv.Table, DatasetWidget, list[tuple[dict[str, Any], list[bytes]]]]:
    """``df`` logged, then shown by a new process on a new machine, through ``relay``
    holding the whole file's GETs; and the list the widget's replies are sent to."""
    log(dv.Table(dataframe=df))
    relay.held = {entry_of(kind).digest}
    kind.forget()
    monkeypatch.setenv("AWS_ENDPOINT_URL", relay.endpoint)
    table = dv.use_artifact("cars:latest").get("data")
    w = dv.show(table)
    return table, w, sent(w, monkeypatch)


def test_the_widget_first_page_of_a_cold_table_comes_from_its_head(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    kind, relay = held
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {"id": np.arange(3000), "label": rng.choice(["a", "b"], 3000), "x": rng.random(3000)}
    )
    _, w, out = cold_widget(kind, relay, monkeypatch, df)
    call(w, {"id": "i", "kind": "info"})
    call(w, {"id": "p", "kind": "page", "query": {}, "offset": 0, "limit": 50})
    call(w, {"id": "q", "kind": "page", "query": {}, "offset": 300, "limit": 50})
    (info, _), (first, first_rows), (_, second_rows) = out
    assert info["kind"] == "info-response" and info["total_rows"] == 3000
    assert first["kind"] == "page-response" and first["total_rows"] == 3000, first
    for rows, offset in ((rows_of(first_rows), 0), (rows_of(second_rows), 300)):
        assert rows.column("_row").to_pylist() == list(range(offset, offset + 50))
        assert rows.column("id").to_pylist() == list(range(offset, offset + 50))
        assert rows.column("x").to_pylist() == df.x.iloc[offset : offset + 50].tolist()
    wait_held(relay)  # all while the whole file was held
    # A sorted page waits for the whole file, then is the whole table's.
    threading.Timer(0.3, relay.gate.set).start()
    out.clear()
    started = time.monotonic()
    call(w, {"id": "s", "kind": "page", "query": {"sort": ["-x"]}, "offset": 0, "limit": 5})
    ((reply, buffers),) = out
    assert reply["kind"] == "page-response", reply
    assert (
        rows_of(buffers).column("id").to_pylist() == df.sort_values("x").id.iloc[::-1][:5].tolist()
    )
    assert time.monotonic() - started >= 0.2
    # Past the head, once the file is here: the whole table's rows.
    out.clear()
    call(w, {"id": "d", "kind": "page", "query": {}, "offset": 2990, "limit": 10})
    ((reply, buffers),) = out
    assert rows_of(buffers).column("id").to_pylist() == list(range(2990, 3000))
