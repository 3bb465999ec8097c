"""A big table on a remote store shows its first rows before its whole file is downloaded.

Tables whose Parquet object is at least ``_serialize.HEAD_MIN_BYTES`` (lowered here) get a
head object at log time (their first rows, a small Parquet object named in the manifest); a
cold ``get()`` fetches only the head, downloads the whole file in the background, and answers
an unfiltered, unsorted page within the head from it. Everything else waits for the whole
file. The whole file's GET is held by a relay in front of SeaweedFS (nothing is mocked):
what a test sees while it is held, it saw before the file arrived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget._errors import IntegrityError
from dsviz_widget.artifacts import _serialize
from dsviz_widget.artifacts._manifest import Manifest
from dsviz_widget.artifacts._s3 import RemoteStoreError
from tests._store_kinds import StoreKind
from tests.team.test_s3_parallel_reads import _Relay, _RelayHandler, running_relay
from tests.team.test_s3_store import log

HEAD_ROWS = 300


@pytest.fixture(autouse=True)
def small_heads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_serialize, "HEAD_MIN_BYTES", 1)
    monkeypatch.setattr(_serialize, "HEAD_ROWS", HEAD_ROWS)


class _GatedHandler(_RelayHandler):
    """Holds each GET of a held object until the relay's gate opens."""

    def _gated(self) -> None:
        path = urlsplit(self.path).path
        server = self.server
        if self.command == "GET" and any(path.endswith(d) for d in server.failing):
            self.send_error(500, "InternalError")  # the server failing this object's reads
            return
        if self.command == "GET" and any(path.endswith(d) for d in server.held):
            server.waiting.append(path)
            if server.hold is None:
                server.gate.wait(60)
            else:
                time.sleep(server.hold)
        self._relay()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _gated


@pytest.fixture
def gated(s3_kind: StoreKind) -> Iterator[_Relay]:
    for relay in running_relay(s3_kind.extra["server"].endpoint, delay=0.0):
        relay.RequestHandlerClass = _GatedHandler
        relay.held = set()
        relay.failing = set()
        relay.hold = None  # seconds to hold each held GET; None: until the gate opens
        relay.waiting = []
        relay.gate = threading.Event()
        yield relay
        relay.gate.set()


def wait_held(relay: _Relay) -> None:
    """Until a held GET has reached the relay (the whole file's download is under way)."""
    deadline = time.monotonic() + 10
    while not relay.waiting and time.monotonic() < deadline:
        time.sleep(0.01)
    assert relay.waiting, "the whole file's download never started"
    assert not relay.gate.is_set()


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "label": rng.choice(["cat", "dog", "bird"], n),
            "score": rng.random(n),
        }
    )


def entry_of(kind: StoreKind, name: str = "cars") -> Any:
    store = kind.open()
    row = store.catalog.resolve(f"{name}:latest")
    return store.manifest(row).entries["data.table.parquet"]


def cold(
    kind: StoreKind,
    monkeypatch: pytest.MonkeyPatch,
    relay: _Relay | None = None,
    name: str = "cars",
) -> dv.Table:
    """The logged table read by a new process on a new machine (through ``relay``)."""
    kind.forget()
    if relay is not None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", relay.endpoint)
    table = dv.use_artifact(f"{name}:latest").get("data")
    assert isinstance(table, dv.Table)
    return table


def plain(frame_: pd.DataFrame) -> pd.DataFrame:
    return frame_.reset_index(drop=True)


# -- what a user sees ----------------------------------------------------------------------------
_COLUMN = st.sampled_from(["int", "float", "str", "bool"])


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.one_of(st.integers(1, 40), st.integers(HEAD_ROWS + 1, 900)))
    kinds = draw(st.lists(_COLUMN, min_size=1, max_size=4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {"id": np.arange(n)}
    for i, kind in enumerate(kinds):
        if kind == "int":
            cols[f"c{i}"] = rng.integers(-1000, 1000, n)
        elif kind == "float":
            cols[f"c{i}"] = rng.normal(size=n)
        elif kind == "str":
            cols[f"c{i}"] = rng.choice(["a", "bb", "ccc", "é", ""], n)
        else:
            cols[f"c{i}"] = rng.random(n) < 0.5
    return pd.DataFrame(cols)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(df=tables())
def test_a_cold_table_pages_from_its_head_and_answers_the_rest_from_the_whole_file(
    s3_kind: StoreKind, monkeypatch: pytest.MonkeyPatch, df: pd.DataFrame
) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"  # examples share the store
    log(dv.Table(dataframe=df), name)
    entry = entry_of(s3_kind, name)
    # A table all of whose rows would be in the head has none (nothing to show sooner).
    assert (entry.head is not None) == (len(df) > HEAD_ROWS)
    assert entry.rows == (len(df) if len(df) > HEAD_ROWS else None)
    table = cold(s3_kind, monkeypatch, name=name)
    assert len(table) == len(df) and table.columns == list(df.columns)
    first = table.query(limit=50)
    pd.testing.assert_frame_equal(plain(first), plain(df.head(50)), check_dtype=False)
    assert first.index.tolist() == list(range(min(50, len(df))))
    # A filter and a sort need the whole file: they wait for it, and equal pandas.
    got = table.query(filter="id % 3 == 1", sort=["-c0", "id"], limit=len(df))
    want = df[df.id % 3 == 1].sort_values(["c0", "id"], ascending=[False, True])
    pd.testing.assert_frame_equal(plain(got), plain(want), check_dtype=False)
    assert got.index.tolist() == want["id"].tolist()
    # A page beyond the head, and the whole table, are the table's.
    deep = table.query(offset=max(0, len(df) - 7), limit=7)
    pd.testing.assert_frame_equal(plain(deep), plain(df.tail(7)), check_dtype=False)
    pd.testing.assert_frame_equal(table.to_pandas(), df, check_dtype=False)
    dv.finish()


def test_the_first_pages_arrive_while_the_whole_file_is_still_held(
    s3_kind: StoreKind, gated: _Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    df = frame(5000)
    log(dv.Table(dataframe=df))
    entry = entry_of(s3_kind)
    gated.held = {entry.digest}
    table = cold(s3_kind, monkeypatch, gated)
    wait_held(gated)
    assert len(table) == 5000 and table.count() == 5000
    for offset in (0, 50, 100, HEAD_ROWS - 50):
        page = table.query(offset=offset, limit=50)
        assert page.index.tolist() == list(range(offset, offset + 50))
        pd.testing.assert_frame_equal(
            plain(page), plain(df.iloc[offset : offset + 50]), check_dtype=False
        )
    assert not gated.gate.is_set()
    # A filter waits for the whole file: it returns only after the gate opens.
    opened: list[float] = []

    def open_gate() -> None:
        time.sleep(0.5)
        opened.append(time.monotonic())
        gated.gate.set()

    threading.Thread(target=open_gate, daemon=True).start()
    got = table.query(filter="label == 'cat'", sort=["-score"], limit=10)
    assert opened and time.monotonic() >= opened[0]
    want = df[df.label == "cat"].sort_values("score", ascending=False).head(10)
    pd.testing.assert_frame_equal(plain(got), plain(want), check_dtype=False)
    # Everything now reads the whole file; pages past the head too.
    page = table.query(offset=4000, limit=5)
    assert page["id"].tolist() == list(range(4000, 4005))
    assert table.get_column("id") == list(range(5000))


def test_a_failed_download_is_a_typed_error_where_the_file_is_needed_and_a_later_call_retries(
    s3_kind: StoreKind, gated: _Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    df = frame(3000)
    log(dv.Table(dataframe=df))
    gated.failing = {entry_of(s3_kind).digest}  # the server answers its GETs with a 500
    table = cold(s3_kind, monkeypatch, gated)
    page = table.query(limit=50)
    assert page["id"].tolist() == list(range(50))
    with pytest.raises(RemoteStoreError) as failed:
        table.query(filter="score > 0.5")
    assert "fetching object" in failed.value.step and "cars:v0/data" in failed.value.step
    with pytest.raises(RemoteStoreError):  # tried again, failed again
        len(table.to_pandas())
    gated.failing = set()
    got = table.query(filter="score > 0.5", limit=len(df))
    assert got["id"].tolist() == df[df.score > 0.5]["id"].tolist()


# -- integrity -----------------------------------------------------------------------------------
def test_a_damaged_head_is_an_integrity_error_naming_the_table(
    s3_kind: StoreKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    log(dv.Table(dataframe=frame(2000)))
    entry = entry_of(s3_kind)
    s3_kind.damage(entry.head, s3_kind.read(entry.head)[::-1])
    s3_kind.forget()
    with pytest.raises(IntegrityError) as bad:
        dv.use_artifact("cars:latest").get("data")
    assert "cars:v0/data (its first rows)" in str(bad.value)
    assert "corrupt" in str(bad.value)
    report = dv.verify(**s3_kind.kwargs)
    assert any("(its first rows)" in p and "corrupt" in p for p in report.problems)


def test_a_head_missing_from_the_server_reads_the_whole_file_and_verify_names_it(
    s3_kind: StoreKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    # E.g. removed by the gc of a dsviz that did not know heads: the table itself is intact.
    df = frame(2000)
    log(dv.Table(dataframe=df))
    entry = entry_of(s3_kind)
    s3_kind.remove(entry.head)
    table = cold(s3_kind, monkeypatch)
    assert table._backend._pending is None  # read as a table without a head
    assert len(table) == len(df)
    pd.testing.assert_frame_equal(plain(table.query(limit=2000)), df, check_dtype=False)
    report = dv.verify(**s3_kind.kwargs)
    assert any("(its first rows)" in p and "missing" in p for p in report.problems), report


def test_a_manifest_without_a_head_reads_the_whole_file_as_before(
    s3_kind: StoreKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_serialize, "HEAD_MIN_BYTES", 1 << 40)  # as an older version logged
    df = frame(2000)
    log(dv.Table(dataframe=df))
    entry = entry_of(s3_kind)
    assert entry.head is None and entry.rows is None
    store = s3_kind.open()
    raw = json.loads(store.objects.read(store.catalog.version("cars", 0).manifest, "m"))
    assert "head" not in raw["entries"]["data.table.parquet"]
    table = cold(s3_kind, monkeypatch)
    assert table._backend._pending is None
    pd.testing.assert_frame_equal(plain(table.query(limit=2000)), df, check_dtype=False)


def test_a_warm_cache_reads_the_whole_file_and_no_head(
    s3_kind: StoreKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    log(dv.Table(dataframe=frame(2000)))  # logging keeps the file in the read cache
    dv.finish()
    table = dv.use_artifact("cars:latest").get("data")
    assert table._backend._pending is None


def test_manifest_heads_are_checked_when_read() -> None:
    digest = "ab" * 32
    base = {"digest": digest, "size": 3, "kind": "table"}

    def parse(entry: dict[str, object]) -> object:
        data = json.dumps({"format": 2, "entries": {"t.table.parquet": entry}}).encode()
        return Manifest.from_bytes(data, "m").entries["t.table.parquet"]

    got = parse({**base, "head": "cd" * 32, "rows": 7})
    assert (got.head, got.rows) == ("cd" * 32, 7)
    for bad in (
        {**base, "head": "cd" * 32},
        {**base, "head": "nope", "rows": 7},
        {**base, "head": "cd" * 32, "rows": -1},
        {**base, "kind": "file", "head": "cd" * 32, "rows": 1},
    ):
        with pytest.raises(IntegrityError, match="malformed manifest entry"):
            parse(bad)
    # The head is not content: a version with and one without a head are the same version.
    with_head = Manifest.from_bytes(
        json.dumps(
            {"format": 2, "entries": {"t.table.parquet": {**base, "head": "cd" * 32, "rows": 7}}}
        ).encode(),
        "m",
    )
    without = Manifest.from_bytes(
        json.dumps({"format": 2, "entries": {"t.table.parquet": base}}).encode(), "m"
    )
    assert with_head.content_digest == without.content_digest
    assert Manifest.from_bytes(with_head.to_bytes(), "m") == with_head


def test_verify_hashes_heads_and_gc_keeps_them(s3_kind: StoreKind) -> None:
    log(dv.Table(dataframe=frame(2000)))
    entry = entry_of(s3_kind)
    assert dv.verify(**s3_kind.kwargs).problems == []
    dv.gc(grace_seconds=0, **s3_kind.kwargs)
    assert entry.head in s3_kind.digests()


# -- the process ---------------------------------------------------------------------------------
def test_a_process_exiting_during_the_download_exits_at_once_and_leaves_no_partial_file(
    s3_kind: StoreKind, gated: _Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child reads the whole file in ranges of 16 KiB, each held 2 s by the relay, 8 at
    a time: waiting for the download would take over a minute. Only the ranges in flight
    are finished (pyarrow's S3 client waits for its requests at exit); no new one starts."""
    rng = np.random.default_rng(0)
    log(dv.Table(dataframe=pd.DataFrame({"id": np.arange(100_000), "x": rng.random(100_000)})))
    entry = entry_of(s3_kind)
    assert entry.size > 60 * 16 * 1024
    gated.held = {entry.digest}
    gated.hold = 2.0
    s3_kind.forget()
    code = """
import dsviz_widget as dv
from dsviz_widget.artifacts import _ranged
_ranged.RANGE = 16 * 1024
t = dv.use_artifact("cars:latest").get("data")
print(t.query(limit=3)["id"].tolist(), flush=True)
"""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": gated.endpoint,
        "PYTHONPATH": str(Path(__file__).parents[2]),
    }
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    took = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "[0, 1, 2]"
    assert 0 < len(gated.waiting) < 40  # the download was under way, and stopped
    assert took < 20, took
    assert s3_kind.cache is not None
    dv.finish()
    s3_kind.open()  # a new open of the cache sweeps what a dead process may have left
    assert list((s3_kind.cache / "tmp").glob("*.part")) == []


def test_a_forked_child_fetches_the_whole_file_itself(
    s3_kind: StoreKind, gated: _Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent's download thread does not exist in a forked child: a child that needs
    the whole file fetches it (it would otherwise wait forever on the parent's thread).
    Forked from a fresh interpreter, as tests/team/test_s3_open.py's fork test."""
    log(dv.Table(dataframe=frame(20_000)))
    gated.held = {entry_of(s3_kind).digest}
    gated.hold = 0.5  # each GET of the whole file: the parent's is still running at the fork
    s3_kind.forget()
    code = """
import os, signal
import dsviz_widget as dv
from dsviz_widget.artifacts import _ranged
_ranged.RANGE = 64 * 1024
t = dv.use_artifact("cars:latest").get("data")
assert t.query(limit=3)["id"].tolist() == [0, 1, 2]
assert not t._backend._pending.ready()
pid = os.fork()
if pid == 0:
    code = 3
    try:
        signal.alarm(30)  # a child waiting on the parent's thread is killed, not waited on
        ids = t.to_pandas()["id"].tolist()
        code = 0 if ids == list(range(20_000)) else 1
    finally:
        os._exit(code)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
assert t.get_column("id") == list(range(20_000))
"""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": gated.endpoint,
        "PYTHONPATH": str(Path(__file__).parents[2]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=90
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0"]
