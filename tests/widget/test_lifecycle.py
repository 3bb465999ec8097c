"""A widget's stale work stops, only its own, and a closed widget gives back its views.

Real widgets, handlers and request workers on the kernel's shared engine; answers are
compared with pandas.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dsviz_widget.engine import Query, Source, _background, _view, shared_engine
from dsviz_widget.widget import DatasetWidget, show
from dsviz_widget.widget._handler import MessageHandler
from dsviz_widget.widget._worker import RequestWorker
from tests.widget import _synth
from tests.widget.conftest import decode

SORT_KEYS = ["id", "score", "k", "label"]


def _table(n: int = 3_000, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    score[rng.integers(0, n, n // 25)] = np.nan
    return pa.table(
        {
            "id": np.arange(n),
            "score": pa.array(score, mask=rng.random(n) < 0.02),
            "k": rng.integers(0, 11, n),
            "label": pa.array(np.array(["cat", "dog", "bird", "fish"])[rng.integers(0, 4, n)]),
        }
    )


def _sorts(count: int) -> list[list[str]]:
    """``count`` different sorts: one or two keys, each either way."""
    out: list[list[str]] = []
    for a in SORT_KEYS:
        for b in [None, *SORT_KEYS]:
            for da in ("", "-"):
                for db in ("", "-"):
                    if b == a or (b is None and db):
                        continue
                    out.append([da + a] + ([db + b] if b else []))
    return out[:count]


def _pandas_ids(t: pa.Table, sort: list[str]) -> list[int]:
    """Row ids in the widget's order: NaN as missing, nulls last, ties by row id."""
    df = t.to_pandas()
    df["_row"] = np.arange(len(df))
    names = [k.lstrip("-") for k in sort] + ["_row"]
    asc = [not k.startswith("-") for k in sort] + [True]
    return [int(r) for r in df.sort_values(names, ascending=asc, na_position="last")["_row"]]


def _orders_on_disk() -> set[str]:
    d = _background.temp_dir()
    return {f for f in os.listdir(d) if f.endswith(".order")}


@pytest.fixture()
def deep_from_50(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages past row 50 read the view's order file (as past row 2,000 on big tables).
    monkeypatch.setattr(_view, "TOP_N", 50)


def _no_read(digest: str) -> bytes:
    raise AssertionError("no media in this table")


def test_thirty_closed_widgets_give_back_their_views_and_order_files(deep_from_50: None) -> None:
    t = _table()
    src = Source.from_arrow(t)
    engine = shared_engine()
    widgets: list[DatasetWidget] = []
    made: set[str] = set()
    jobs: list[_background.Job] = []
    for sort in _sorts(30):
        w = show(src, read_blob=_no_read, sort=sort)
        deep = w.page(2_000, 10)
        assert deep["_row"].tolist() == _pandas_ids(t, sort)[2_000:2_010]
        # Each sort has its order (a sort by one number starts it after its first deep
        # page, answered from bins: the file may still be being written).
        job = engine.view(src, Query(sort=sort), w._model.holder)._job
        assert job is not None
        made.add(os.path.basename(job.path))
        jobs.append(job)
        widgets.append(w)
    assert len(made) == 30
    assert engine.cached_views(src) > 0
    for w in widgets:
        w.close()
    assert engine.cached_views(src) == 0
    # An order still being written when its widget closed is interrupted; its file goes
    # when the interrupted write returns.
    assert all(job.cancelled or job.done.is_set() for job in jobs)
    assert all(job.wait(30) for job in jobs)
    # None of them holds order disk any more (other tests' orders may still be finishing).
    with _background.ORDERS.lock:
        kept = list(_background.ORDERS.items.values())
    assert not any(e is job for e in kept for job in jobs)
    assert not (_orders_on_disk() & made)


def test_a_view_another_widget_or_python_uses_stays_when_one_widget_closes(
    deep_from_50: None,
) -> None:
    t = _table(seed=11)
    src = Source.from_arrow(t)
    engine = shared_engine()
    sort = ["-score", "k"]
    want = _pandas_ids(t, sort)
    a = show(src, read_blob=_no_read, sort=sort)
    b = show(src, read_blob=_no_read, sort=sort)
    assert a.page(1_000, 5)["_row"].tolist() == want[1_000:1_005]
    view = engine.view(src, Query(sort=sort), b._model.holder)  # what b pages too
    job = view._job
    assert job is not None and os.path.exists(job.path)
    a.close()
    assert engine.view(src, Query(sort=sort), b._model.holder) is view
    assert os.path.exists(job.path) and not job.cancelled
    assert b.page(2_500, 5)["_row"].tolist() == want[2_500:2_505]
    # Python pages the same view: after b closes it stays, order file and all.
    assert engine.query(src, sort=sort, offset=2_990, limit=10)["_row"].to_pylist() == want[2_990:]
    b.close()
    assert engine.view(src, Query(sort=sort)) is view and os.path.exists(job.path)


def test_the_browser_closing_the_comm_closes_the_widget_and_frees_its_views(
    deep_from_50: None,
) -> None:
    t = _table(seed=12)
    src = Source.from_arrow(t)
    engine = shared_engine()
    w = show(src, read_blob=_no_read, sort=["label", "-id"])
    assert w.page(1_500, 3)["_row"].tolist() == _pandas_ids(t, ["label", "-id"])[1_500:1_503]
    view = engine.view(src, Query(sort=["label", "-id"]), w._model.holder)
    job = view._job
    assert job is not None and os.path.exists(job.path)
    assert w.comm is not None
    w.comm.handle_close({"content": {"comm_id": w.comm.comm_id, "data": {}}})
    assert w.comm is None  # closed
    assert engine.cached_views(src) == 0
    assert job.cancelled and not os.path.exists(job.path)


def _filters(n: int) -> list[str]:
    return [f"score > {0.02 + 0.9 * i / n:.3f} and label != 'dog'" for i in range(n)]


def _expected_count(df: pd.DataFrame, text: str) -> int:
    cut = float(text.split()[2])
    return int(((df["score"] > cut) & (df["label"] != "dog")).sum())


def _expected_first(df: pd.DataFrame, text: str, limit: int) -> list[int]:
    cut = float(text.split()[2])
    ids = np.flatnonzero(((df["score"] > cut) & (df["label"] != "dog")).to_numpy())
    return [int(i) for i in ids[:limit]]


class Replies:
    def __init__(self) -> None:
        self.got: dict[str, tuple[dict[str, Any], list[bytes]]] = {}
        self.lock = threading.Lock()

    def __call__(self, reply: dict[str, Any], buffers: list[bytes]) -> None:
        with self.lock:
            self.got[reply["id"]] = (reply, buffers)


def test_a_new_filter_interrupts_only_its_own_widgets_stale_count() -> None:
    table = _synth.big_table(3_000_000, seed=4)
    df = table.to_pandas()
    src = Source.from_arrow(table)
    # Widget one types filters back to back; widget two and Python use the engine meanwhile.
    one, two = Replies(), Replies()
    w1 = RequestWorker(MessageHandler(src, _no_read), one)
    w2 = RequestWorker(MessageHandler(src, _no_read), two)
    engine = shared_engine()
    stop = threading.Event()
    python_errors: list[BaseException] = []
    python_done = [0]

    def widget_two() -> None:
        for i, f in enumerate(_filters(40)[::-1]):
            if stop.is_set():
                return
            q = {"filter": f.replace("!=", "==")}
            w2.submit({"id": f"p{i}", "kind": "page", "query": q, "offset": 0, "limit": 20})
            w2.submit({"id": f"c{i}", "kind": "count", "query": q})
            assert w2.wait_idle(120)

    def python() -> None:
        for f in _filters(30):
            if stop.is_set():
                return
            try:
                n = engine.view(src, Query(filter=f.replace("score", "x / 1000.0"))).num_rows
                cut = float(f.split()[2])
                want = int(((df["x"] / 1000.0 > cut) & (df["label"] != "dog")).sum())
                assert n == want
                python_done[0] += 1
            except BaseException as exc:
                python_errors.append(exc)

    threads = [threading.Thread(target=widget_two), threading.Thread(target=python)]
    for th in threads:
        th.start()
    filters = _filters(12)
    superseded = 0
    for i, f in enumerate(filters):
        w1.submit({"id": f"p{i}", "kind": "page", "query": {"filter": f}, "offset": 0, "limit": 20})
        assert w1.wait_idle(120)
        reply, buffers = one.got[f"p{i}"]
        assert reply["kind"] == "page-response", reply
        assert decode(buffers).column("_row").to_pylist() == _expected_first(df, f, 20)
        if i + 1 == len(filters):
            break
        # The browser asks for the count after drawing; the user types the next filter.
        w1.submit({"id": f"c{i}", "kind": "count", "query": {"filter": f}})
        work = None
        while work is None and f"c{i}" not in one.got:
            work = w1.current
        if work is not None:
            work.connected.wait(30)
        w1.submit(
            {
                "id": f"n{i}",
                "kind": "page",
                "query": {"filter": filters[i + 1]},
                "offset": 0,
                "limit": 20,
            }
        )
        assert w1.wait_idle(120)
        count, _ = one.got[f"c{i}"]
        if count["kind"] == "error":
            assert count["error"] == "superseded by a newer request"
            superseded += 1
        else:
            assert count["num_rows"] == _expected_count(df, f)
        page, buffers = one.got[f"n{i}"]
        assert page["kind"] == "page-response", page
        assert decode(buffers).column("_row").to_pylist() == _expected_first(df, filters[i + 1], 20)
    stop.set()
    for th in threads:
        th.join(300)
    assert superseded >= 1  # the stale counts were stopped, not waited for
    # Nothing of widget two or of Python was interrupted: every answer is there and right.
    assert not python_errors, python_errors
    for key, (reply, buffers) in two.got.items():
        assert reply["kind"] != "error", reply
        f = _filters(40)[::-1][int(key[1:])].replace("!=", "==")
        cut = float(f.split()[2])
        mask = (df["score"] > cut) & (df["label"] == "dog")
        if key.startswith("c"):
            assert reply["num_rows"] == int(mask.sum())
        else:
            rows = decode(buffers).column("_row").to_pylist()
            assert rows == [int(r) for r in np.flatnonzero(mask.to_numpy())[:20]]
    # The widget's later count of a superseded filter is right (nothing half-done was kept).
    w1.submit({"id": "again", "kind": "count", "query": {"filter": filters[0]}})
    assert w1.wait_idle(120)
    assert one.got["again"][0]["num_rows"] == _expected_count(df, filters[0])
    w1.close()
    w2.close()


def _order_of(widget: DatasetWidget, src: Source, sort: list[str]) -> Any:
    return shared_engine().view(src, Query(sort=sort), widget._model.holder)._job


def test_a_cell_run_again_releases_the_views_its_earlier_widgets_made(
    deep_from_50: None,
) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    t = _table(seed=13)
    src = Source.from_arrow(t)
    engine = shared_engine()
    shell = InteractiveShell.instance()
    try:
        shell.user_ns.update(src=src, show=show, read=_no_read)

        def run(code: str, cell: str) -> None:
            shell.run_cell(code, cell_id=cell).raise_error()

        # In a plain shell the first widget installs the hooks (in a kernel, the request's
        # cellId names its own cell too): a first cell makes one.
        run("first_of_all = show(src, read_blob=read)", "cell-0")
        run("w = show(src, read_blob=read, sort=['-score']); rows = w.page(1_000, 5)", "cell-a")
        first = shell.user_ns["w"]
        assert shell.user_ns["rows"]["_row"].tolist() == _pandas_ids(t, ["-score"])[1_000:1_005]
        run("other = show(src, read_blob=read, sort=['label']); other.page(1_000, 5)", "cell-b")
        other = shell.user_ns["other"]
        # (Asked with the widgets' holders: asked by Python, a view would stay for Python.)
        job_first = _order_of(first, src, ["-score"])
        job_other = _order_of(other, src, ["label"])
        assert job_first is not None and job_other is not None
        # (A sort by one number starts its order after its first deep page: wait for it.)
        assert job_first.wait(30) and os.path.exists(job_first.path)
        # Cell a again, another sort: the first widget's view and order file go; cell b's stay.
        run("w = show(src, read_blob=read, sort=['k']); rows = w.page(2_000, 5)", "cell-a")
        assert shell.user_ns["rows"]["_row"].tolist() == _pandas_ids(t, ["k"])[2_000:2_005]
        assert job_first.cancelled and job_first.wait(30) and not os.path.exists(job_first.path)
        assert not job_other.cancelled and job_other.wait(30) and os.path.exists(job_other.path)
        assert engine.cached_views(src) == 3  # other's, the new widget's, and the plain one
        # The old widget is still open (it may be shown in another cell): asked, it answers.
        assert first.page(10, 3)["_row"].tolist() == _pandas_ids(t, ["-score"])[10:13]
        # Cell a once more with the same sort: the view both runs use stays, order file too.
        job_k = _order_of(shell.user_ns["w"], src, ["k"])
        run("w = show(src, read_blob=read, sort=['k']); rows = w.page(2_500, 5)", "cell-a")
        assert not job_k.cancelled and job_k.wait(30) and os.path.exists(job_k.path)
        assert shell.user_ns["rows"]["_row"].tolist() == _pandas_ids(t, ["k"])[2_500:2_505]
        for w in (first, other, shell.user_ns["w"], shell.user_ns["first_of_all"]):
            w.close()
        assert engine.cached_views(src) == 0
    finally:
        InteractiveShell.clear_instance()
