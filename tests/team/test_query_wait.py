"""A Python query waiting for a remote table's file never holds the engine.

A big table read cold from the S3 store downloads its whole file in the background; a
``table.query`` that needs it (a filter, a sort, a page past the head) waits for it. The
wait happens before the engine is entered, so another thread's query of another table (the
same shared engine) answers meanwhile. The whole file's GET is held by a relay in front of
the test's SeaweedFS (nothing is mocked): what a test sees while it is held, it saw before
the file arrived.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget.artifacts._s3 import RemoteStoreError
from tests._store_kinds import StoreKind
from tests.team.test_head import wait_held
from tests.team.test_s3_parallel_reads import _Relay
from tests.widget.test_head_page import held
from tests.widget.test_head_stall import _FailingAfterHold

__all__ = ["held"]  # the fixture, imported for these tests


def frame(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"id": np.arange(n), "label": rng.choice(["a", "b", "c"], n), "x": rng.random(n)}
    )


def cold_table(
    kind: StoreKind, relay: _Relay, monkeypatch: pytest.MonkeyPatch, logged: dv.Table
) -> dv.Table:
    """``logged`` logged, then read by a new process on a new machine through ``relay``,
    which holds the GETs of the whole file (its head, 400 rows, comes through)."""
    from tests.team.test_head import entry_of
    from tests.team.test_s3_store import log

    log(logged)
    relay.held = {entry_of(kind).digest}
    kind.forget()
    monkeypatch.setenv("AWS_ENDPOINT_URL", relay.endpoint)
    table = dv.use_artifact("cars:latest").get("data")
    assert isinstance(table, dv.Table)
    return table


class Asked:
    """``call()`` run on a thread of its own: its answer or error, and its CPU time."""

    def __init__(self, call: Any) -> None:
        self.answer: Any = None
        self.error: BaseException | None = None
        self.tid = 0
        self._call = call
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.tid = threading.get_native_id()
        try:
            self.answer = self._call()
        except BaseException as exc:
            self.error = exc

    def cpu_ticks(self) -> int:
        """User + system clock ticks the thread has used (``/proc``: a busy wait shows)."""
        with open(f"/proc/self/task/{self.tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def result(self, timeout: float = 20.0) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the query never answered"
        if self.error is not None:
            raise self.error
        return self.answer


def local_answers(local: dv.Table, other: pd.DataFrame) -> float:
    """Seconds a filtered, sorted query (and a count) of ``local`` took; checked against pandas."""
    started = time.monotonic()
    got = local.query(filter="x > 0.5", sort=["-x"], limit=20)
    count = local.count("label == 'b'")
    took = time.monotonic() - started
    want = other[other.x > 0.5].sort_values("x", ascending=False).head(20)
    assert got["id"].tolist() == want.id.tolist()
    assert count == int((other.label == "b").sum())
    return took


def test_a_query_waiting_for_the_file_leaves_the_engine_to_other_queries(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    kind, relay = held
    df, other = frame(), frame(500, seed=4)
    table = cold_table(kind, relay, monkeypatch, dv.Table(dataframe=df))
    local = dv.Table(dataframe=other)
    # Another thread asks what needs the whole file: a filter and sort, and a filtered count.
    sorted_page = Asked(lambda: table.query(filter="label == 'b'", sort=["-x"], limit=15))
    counted = Asked(lambda: table.count("x < 0.25"))
    wait_held(relay)
    time.sleep(0.3)  # both are waiting now
    # Meanwhile the main thread's queries (same shared engine) answer at once, and so do
    # pages within the remote table's head.
    assert local_answers(local, other) < 2.0
    assert table.query(offset=100, limit=5)["id"].tolist() == [100, 101, 102, 103, 104]
    assert len(table) == 3000
    ticks = sorted_page.cpu_ticks() + counted.cpu_ticks()
    time.sleep(1.0)
    # No busy loop: the waiting threads slept (0.1 s of CPU would be 10 ticks).
    assert sorted_page.cpu_ticks() + counted.cpu_ticks() - ticks <= 3
    assert sorted_page.thread.is_alive() and counted.thread.is_alive()
    assert not relay.gate.is_set()
    relay.gate.set()
    want = df[df.label == "b"].sort_values("x", ascending=False).head(15)
    got = sorted_page.result()
    assert got["id"].tolist() == want.id.tolist()
    assert got["x"].tolist() == want.x.tolist()
    assert counted.result() == int((df.x < 0.25).sum())
    # Past the head, now that the file is here: the whole table's rows.
    assert table.query(offset=2990, limit=10)["id"].tolist() == list(range(2990, 3000))


def test_a_failed_download_raises_in_the_waiting_query_and_the_engine_stays_usable(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    kind, relay = held
    relay.RequestHandlerClass = _FailingAfterHold
    df, other = frame(), frame(500, seed=5)
    table = cold_table(kind, relay, monkeypatch, dv.Table(dataframe=df))
    local = dv.Table(dataframe=other)
    waiting = Asked(lambda: table.query(filter="x > 0.9", limit=10))
    deep = Asked(lambda: table.query(offset=2000, limit=3))
    wait_held(relay)
    assert local_answers(local, other) < 2.0
    relay.failing = set(relay.held)  # the held read fails once let through
    relay.gate.set()
    for asked in (waiting, deep):
        with pytest.raises(RemoteStoreError) as failed:
            asked.result()
        assert str(failed.value).startswith("cars:v0/data: fetching object"), failed.value
    # The engine is not left locked or broken: local queries and the head's pages answer.
    assert local_answers(local, other) < 2.0
    assert table.query(limit=3)["id"].tolist() == [0, 1, 2]
    # The server serves the file again: the next query fetches it anew and answers.
    relay.failing = set()
    got = table.query(filter="x > 0.9", limit=10)
    assert got["id"].tolist() == df[df.x > 0.9].id.head(10).tolist()
    assert table.count("x > 0.9") == int((df.x > 0.9).sum())


def test_the_widget_python_api_waits_for_the_file_outside_the_engine(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``w.page()`` and ``w.num_rows`` of a filtered, sorted view of a cold table wait for
    its file as ``table.query`` does: not inside the engine."""
    kind, relay = held
    df, other = frame(), frame(500, seed=6)
    table = cold_table(kind, relay, monkeypatch, dv.Table(dataframe=df))
    local = dv.Table(dataframe=other)
    w = dv.show(table)
    started = time.monotonic()
    w.filter, w.sort = "label == 'c'", ["x"]  # the view is made, no query run: at once
    assert time.monotonic() - started < 2.0 and w.filter_error is None
    shown = Asked(lambda: w.page(0, 10))
    counted = Asked(lambda: w.num_rows)
    wait_held(relay)
    time.sleep(0.3)
    assert local_answers(local, other) < 2.0
    assert shown.thread.is_alive() and counted.thread.is_alive()
    relay.gate.set()
    want = df[df.label == "c"].sort_values("x").head(10)
    assert shown.result()["id"].tolist() == want.id.tolist()
    assert counted.result() == int((df.label == "c").sum())
    w.selection = [2999, 5]
    assert w.selected.index.tolist() == [2999, 5]
    assert w.selected["x"].tolist() == [df.x.iloc[2999], df.x.iloc[5]]
    w.close()


_FILTERS = st.sampled_from([None, "", "x > 0.5", "label == 'a' or id >= 2900"])
_SORTS = st.sampled_from([None, [], ["x"], ["-id"]])


def expected(df: pd.DataFrame, call: dict[str, Any]) -> Any:
    """What pandas says ``table.query(**call)`` (or ``count``) answers."""
    rows = df.query(call["filter"]) if call["filter"] else df
    if call["kind"] == "count":
        return len(rows)
    if call["group_by"]:
        return rows.label.value_counts().sort_index().to_dict()
    sort = call["sort"]
    if sort:
        rows = rows.sort_values(sort[0].lstrip("-"), ascending=not sort[0].startswith("-"))
    return rows.id.iloc[call["offset"] : call["offset"] + call["limit"]].tolist()


def answer(table: dv.Table, call: dict[str, Any]) -> Any:
    if call["kind"] == "count":
        return table.count(call["filter"])
    if call["group_by"]:
        got = table.query(filter=call["filter"], group_by="label")
        return dict(zip(got["label"], got["count"], strict=True))
    return table.query(
        filter=call["filter"], sort=call["sort"], offset=call["offset"], limit=call["limit"]
    )["id"].tolist()


def test_any_query_of_a_downloading_table_answers_from_its_head_or_waits_aside(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queries of every class, each on its thread while the file is held: a plain page
    within the head answers at once, anything else waits, and the main thread's query of
    another table answers meanwhile; let go, every answer equals pandas'."""
    kind, relay = held
    df, other = frame(), frame(300, seed=8)
    table = cold_table(kind, relay, monkeypatch, dv.Table(dataframe=df))
    local = dv.Table(dataframe=other)
    asked: list[tuple[dict[str, Any], Asked]] = []

    @settings(max_examples=25, deadline=None)
    @given(
        call=st.fixed_dictionaries(
            {
                "kind": st.sampled_from(["query", "query", "count"]),
                "filter": _FILTERS,
                "sort": _SORTS,
                "group_by": st.booleans(),
                "offset": st.one_of(st.integers(0, 400), st.integers(0, 3100)),
                "limit": st.integers(0, 120),
            }
        )
    )
    def one(call: dict[str, Any]) -> None:
        if call["kind"] == "count":
            at_once = not call["filter"]  # the table's row count: the manifest has it
        else:
            plain = not (call["filter"] or call["sort"] or call["group_by"])
            at_once = plain and min(call["offset"] + call["limit"], 3000) <= 400
        job = Asked(lambda: answer(table, call))
        if at_once:
            assert job.result(5) == expected(df, call)
            return
        job.thread.join(0.1)
        assert job.thread.is_alive(), call  # it waits for the file
        assert local_answers(local, other) < 2.0
        asked.append((call, job))

    one()
    assert not relay.gate.is_set()
    relay.gate.set()
    for call, job in asked:
        assert job.result() == expected(df, call), call


def test_a_join_or_comparison_of_a_downloading_table_waits_outside_the_engine(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``JoinedTable`` and ``dv.compare`` read all of their parts: a part still downloading
    is waited for before the engine is entered, so other queries answer meanwhile; let go,
    the join and the comparison are pandas'."""
    kind, relay = held
    df, other = frame(), frame(500, seed=9)
    table = cold_table(kind, relay, monkeypatch, dv.Table(dataframe=df))
    local = dv.Table(dataframe=other)
    labels = dv.Table(dataframe=pd.DataFrame({"id": np.arange(0, 3000, 7), "tag": "seventh"}))
    joined = dv.JoinedTable(table, labels, "id")
    newer = dv.Table(dataframe=df.assign(x=np.where(df.id % 5 == 0, -1.0, df.x)))
    joins = Asked(lambda: joined.query(sort=["-id"], limit=4))
    compared = Asked(lambda: dv.compare(table, newer, on="id").count("changed"))
    wait_held(relay)
    time.sleep(0.3)
    assert local_answers(local, other) < 2.0
    assert joins.thread.is_alive() and compared.thread.is_alive()
    relay.gate.set()
    got = joins.result()
    assert got["id"].tolist() == [2996, 2989, 2982, 2975]
    assert compared.result() == int((df.id % 5 == 0).sum())
