"""The whole API on a store in a bucket: ``dv.init(dir="s3://bucket/prefix", catalog=...)``.

The store suite (round trips, versions, references, safety, lineage, views, the version
picker) runs against this kind of store through ``store_location``; these tests are what only
a remote store has: its catalog rule, a server refused at ``dv.init``, reads served by the
cache with the server gone, the server stopped mid-log, gc by the server's clock, verify of
the server's bytes, the widget over a table from the bucket, and kill -9 of loggers.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import open_store
from dsviz_widget.artifacts._s3 import ConditionalWritesNotEnforced, RemoteStoreError, S3ObjectStore
from tests import _servers
from tests._store_kinds import StoreKind
from tests.artifacts import test_crash
from tests.widget.test_widget import call, decode, sent


def image_table(n: int, seed: int = 0) -> dv.Table:
    rng = np.random.default_rng(seed)
    classes = dv.Classes([{"id": 0, "name": "car"}, {"id": 1, "name": "road"}])
    t = dv.Table(("id", "image", "label", "score"))
    for i in range(n):
        box = {"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": 0.6}, "class_id": i % 2}
        img = dv.Image(
            rng.integers(0, 256, (12, 16, 3), dtype=np.uint8),
            classes=classes,
            boxes={"gt": {"box_data": [box]}},
        )
        t.add_data(i, img, ["car", "road"][i % 2], float(rng.random()))
    return t


def log(table: dv.Table, name: str = "cars") -> dv.Artifact:
    art = dv.Artifact(name, type="dataset")
    art.add(table, "data")
    return dv.log_artifact(art)


def test_an_s3_store_needs_a_catalog_and_never_keeps_it_in_the_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DSVIZ_CATALOG", raising=False)
    dv.finish()
    with pytest.raises(dv.ValidationError) as missing:
        dv.init(dir="s3://team-data/datasets")
    message = str(missing.value)
    assert "s3://team-data/datasets needs a catalog" in message
    assert "postgresql://" in message and "for a team" in message
    assert "SQLite" in message and "one machine" in message
    with pytest.raises(dv.ValidationError, match="a catalog cannot live in a bucket"):
        dv.init(dir="s3://team-data/datasets", catalog="s3://team-data/catalog.sqlite")
    with pytest.raises(dv.ValidationError, match="not an S3 bucket name"):
        dv.init(dir="s3://Team_Data/x", catalog=str(tmp_path / "c.sqlite"))
    assert dv.run is None and not (tmp_path / "c.sqlite").exists()


def test_a_server_that_ignores_conditional_writes_is_refused_by_init(
    ignoring_s3: _servers.IgnoringS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", ignoring_s3.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    monkeypatch.setenv("DSVIZ_CACHE_DIR", str(tmp_path / "cache"))
    dv.finish()
    with pytest.raises(ConditionalWritesNotEnforced, match="would overwrite stored objects"):
        dv.init(dir=f"s3://{_servers.BUCKET}/team", catalog=str(tmp_path / "c.sqlite"))
    assert dv.run is None
    assert ignoring_s3.objects == {}  # nothing but the probe was ever written, and it is gone


def test_a_table_is_fetched_once_then_read_from_the_cache_without_the_server(
    own_server_kind: tuple[_servers.Seaweed, dict[str, str]], tmp_path: Path
) -> None:
    server, kwargs = own_server_kind
    table = image_table(12)
    with dv.init(**kwargs):
        log(table)
    cache = tmp_path / "cache" / "objects"
    # Another machine: nothing cached, every object comes from the server.
    _forget(tmp_path)
    assert not cache.exists()
    dv.init(**kwargs)
    first = dv.use_artifact("cars:v0").get("data")
    parquet = dv.use_artifact("cars:v0").manifest.entries["data.table.parquet"].digest  # type: ignore[union-attr]
    assert (cache / parquet[:2] / parquet).is_file()
    pixels = [img.to_numpy() for img in first.get_column("image")]
    dv.finish()
    # A new process on the same machine, and then the server goes away: the second read is
    # the cache's (the table's Parquet for the engine, its images for the thumbnails).
    from dsviz_widget.artifacts import _store

    _store._open.clear()
    dv.init(**kwargs)
    server.kill()
    second = dv.use_artifact("cars:v0").get("data")
    assert second == table
    assert all(
        np.array_equal(a.to_numpy(), b)
        for a, b in zip(second.get_column("image"), pixels, strict=True)
    )
    top = second.query(filter="label == 'road'", sort=["-score"], limit=3)
    want = table.to_pandas().query("label == 'road'").sort_values("score", ascending=False)
    assert top["id"].tolist() == want["id"].head(3).tolist()
    # An object never read needs the server, and says so.
    with pytest.raises(RemoteStoreError, match="could not reach the S3 server"):
        dv.use_artifact("cars:v0").download(tmp_path / "out")


def test_a_table_in_use_keeps_its_file_when_the_cache_evicts_it(s3_kind: StoreKind) -> None:
    first, second = image_table(40, seed=3), image_table(40, seed=4)
    log(first, "first")
    log(second, "second")
    s3_kind.forget()
    a = dv.use_artifact("first:v0").get("data")
    digest = dv.use_artifact("first:v0").manifest.entries["data.table.parquet"].digest  # type: ignore[union-attr]
    cache = s3_kind.open().objects.remote.cache
    assert digest in cache
    # A cache big enough for one table's Parquet: reading the second evicts the first.
    sizes = [
        dv.use_artifact(f"{n}:v0").manifest.entries["data.table.parquet"].size
        for n in ("first", "second")
    ]  # type: ignore[union-attr]
    cache.bound = max(sizes) + 4096
    b = dv.use_artifact("second:v0").get("data")
    assert digest not in cache and not cache.path(digest).exists()
    # DuckDB still reads the first table: its file is pinned, not the cache's copy.
    want = first.to_pandas().sort_values("score", ascending=False)
    assert a.query(sort=["-score"], limit=40)["id"].tolist() == want["id"].tolist()
    assert a == first and b == second


def _forget(tmp_path: Path) -> None:
    """What a new process on a new machine would not have: open stores and the read cache."""
    import shutil

    from dsviz_widget.artifacts import _store

    dv.finish()
    _store._open.clear()
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)


@pytest.mark.parametrize("step", ["media file", "table file"])
def test_the_server_stopped_mid_log_is_a_typed_error_and_leaves_nothing_visible(
    own_server_kind: tuple[_servers.Seaweed, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    step: str,
) -> None:
    server, kwargs = own_server_kind
    run = dv.init(**kwargs)
    log(image_table(3, seed=1), name="before")
    # The server dies as the save reaches the step: the 5th media file, or the table's Parquet.
    calls = {"media file": 0, "table file": 0}
    real_put_bytes, real_put_file = S3ObjectStore.put_bytes, S3ObjectStore.put_file

    def put_bytes(self: S3ObjectStore, data: bytes, digest: str | None = None) -> str:
        calls["media file"] += 1
        if step == "media file" and calls["media file"] == 5:
            server.kill()
        return real_put_bytes(self, data, digest)

    def put_file(self: S3ObjectStore, src: Path, on_part: Any = None) -> tuple[str, int]:
        calls["table file"] += 1
        if step == "table file":
            server.kill()
        return real_put_file(self, src, on_part)

    monkeypatch.setattr(S3ObjectStore, "put_bytes", put_bytes)
    monkeypatch.setattr(S3ObjectStore, "put_file", put_file)
    table = image_table(20, seed=2)
    art = dv.Artifact("cars", type="dataset")
    art.add(table, "data")
    with pytest.raises(RemoteStoreError) as failed:
        run.log_artifact(art)
    assert calls[step] >= 1
    url = kwargs["dir"]
    named = "storing object" if step == "media file" else "looking for object"
    assert failed.value.step.startswith(named) and failed.value.step.endswith(f"in {url}")
    assert "could not reach the S3 server" in str(failed.value)
    assert isinstance(failed.value, dv.StoreError)
    # Nothing partial in the catalog: no version, no artifact name.
    store = open_store(kwargs["dir"], kwargs["catalog"])
    assert store.catalog.artifact_names() == ["before"]
    with pytest.raises(dv.NotFoundError):
        dv.use_artifact("cars:latest")
    # The server back, the same log succeeds and reads back whole.
    monkeypatch.undo()
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    server.start()
    again = dv.Artifact("cars", type="dataset")
    again.add(table, "data")
    assert run.log_artifact(again).version == "v0"
    assert dv.use_artifact("cars:v0").get("data") == table
    assert dv.verify().ok


def test_gc_keeps_what_versions_use_and_young_objects_by_the_servers_clock(
    s3_kind: StoreKind,
) -> None:
    log(image_table(4))
    store = s3_kind.open()
    used = set(s3_kind.digests())
    orphan = store.objects.put_bytes(b"left by a killed save")
    tmp = store.objects.new_tmp()
    tmp.write_bytes(b"a killed save's table")
    report = dv.gc(grace_seconds=3600)  # everything was written just now: all young
    assert (report.removed_objects, report.kept_young, report.removed_tmp) == (0, 1, 0)
    assert set(s3_kind.digests()) == used | {orphan} and tmp.exists()
    report = dv.gc(grace_seconds=0)
    assert (report.removed_objects, report.removed_tmp) == (1, 1)
    assert report.removed_bytes == len(b"left by a killed save") + len(b"a killed save's table")
    assert set(s3_kind.digests()) == used and not tmp.exists()
    # What the version uses is all there: a new machine reads it whole.
    s3_kind.forget()
    assert dv.use_artifact("cars:v0").get("data") == image_table(4)
    assert dv.verify().ok


def test_verify_hashes_the_servers_bytes_and_names_missing_and_damaged_objects(
    s3_kind: StoreKind, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "b.txt").write_text("beta")
    art = dv.Artifact("files", type="raw")
    art.add_file(tmp_path / "a.txt")
    art.add_file(tmp_path / "b.txt")
    art.add(image_table(2), "data")
    dv.log_artifact(art)
    report = dv.verify()
    assert report.ok and len(report.checked) == len(s3_kind.digests())
    a, b = (art.get_entry(n).digest for n in ("a.txt", "b.txt"))
    table = art.manifest.entries["data.table.parquet"].digest  # type: ignore[union-attr]
    s3_kind.damage(a, b"alphx")
    s3_kind.remove(b)
    s3_kind.damage(table, b"not the table")  # its copy in this machine's cache is intact
    report = dv.verify()
    assert not report.ok
    problems = "\n".join(report.problems)
    assert f"files:v0 entry 'a.txt': stored object {a} in {s3_kind.kwargs['dir']} is corrupt" in (
        problems
    )
    assert f"files:v0 entry 'b.txt': stored object {b} is missing" in problems
    assert f"stored object {table}" in problems and len(report.problems) == 3


def test_the_widget_shows_a_table_from_the_bucket(
    s3_kind: StoreKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = image_table(30)
    log(table)
    s3_kind.forget()  # the widget runs on another machine: its reads come from the server
    shown = dv.use_artifact("cars:latest").get("data")
    w = dv.show(shown, filter="label == 'car'", sort=["-score"])
    out = sent(w, monkeypatch)
    query = {"filter": w.filter, "sort": w.sort}
    call(w, {"id": "p", "kind": "page", "query": query, "offset": 0, "limit": 5})
    ((reply, buffers),) = out
    assert reply["kind"] == "page-response", reply
    rows = decode(buffers).to_pandas()
    want = table.to_pandas().query("label == 'car'").sort_values("score", ascending=False)
    assert rows["id"].tolist() == want["id"].head(5).tolist()
    # Thumbnails fetch the images on screen, and only those. (The digests come from a
    # query: ``get_column`` asks for the whole column's files, and fetches them.)
    column = list(shown.query(limit=len(table))["image"])
    digests = [img.digest for img in column[:2]]
    cache = s3_kind.cache / "objects"  # type: ignore[operator]
    others = {img.digest for img in column[2:]}
    out.clear()
    call(w, {"id": "t", "kind": "thumbnails", "images": digests, "masks": [], "size": 32})
    ((reply, buffers),) = out
    assert reply["kind"] == "thumbnails-response", reply
    assert [(i["digest"], i["error"]) for i in reply["items"]] == [(d, "") for d in digests]
    assert len(buffers) == 2
    cached = {p.name for p in cache.rglob("*") if p.is_file()}
    assert set(digests) <= cached and not (others & cached)
    # The version picker and saved views work as for a local store.
    assert w.versions is not None and w.versions["version"] == "v0"
    w.save_view("cars-first")
    assert (s3_kind.workdir / "views" / "cars" / "data" / "cars-first.json").is_file()
    assert dv.show(shown, view="cars-first").filter == "label == 'car'"
    w.close()


def test_the_lineage_graph_names_the_bucket_and_opens_its_versions(s3_kind: StoreKind) -> None:
    from dsviz_widget.widget import DatasetWidget
    from dsviz_widget.widget._lineage import LineageWidget

    with dv.init(job_type="dataset") as run:
        run.log_artifact(log_art("data", dv.Table(["id"], [[i] for i in range(5)])))
    with dv.init(job_type="train") as run:
        run.use_artifact("data:v0")
        preds = dv.Table(["id", "pred"], [[i, i % 2] for i in range(7)])
        run.log_artifact(log_art("preds", preds))
    graph = dv.lineage("preds:v0")
    assert (graph["store"], graph["catalog"]) == (
        s3_kind.kwargs["dir"],
        s3_kind.kwargs["catalog"],
    )
    s3_kind.forget()  # the graph is opened elsewhere: from the bucket and the catalog alone
    w = LineageWidget(dict(graph))
    w.selected = "artifact:preds:v0"
    assert (w.opened, w.tables, w.error) == ("preds:v0", ["t"], "")
    (grid,) = w.panel.children
    assert isinstance(grid, DatasetWidget)
    assert grid.page(0, 10)["pred"].tolist() == preds.to_pandas()["pred"].tolist()


def log_art(name: str, table: dv.Table) -> dv.Artifact:
    art = dv.Artifact(name, type="dataset")
    art.add(table, "t")
    return art


@pytest.mark.slow
def test_kill_9_during_logs_to_s3_leaves_whole_versions_or_none(
    s3_kind: StoreKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As tests/artifacts/test_crash.py, with the objects in the bucket: children log to one
    name and are killed at random moments; every visible version reads back whole."""
    # A log to the bucket takes a few hundred ms here (the local one 10-50 ms): kills must
    # come later to land after some logs, and still all along the save path.
    monkeypatch.setattr(test_crash, "MAX_KILL_DELAY", 2.0)
    rng = random.Random(20261201)
    state = test_crash.StoreState(s3_kind.kwargs["dir"])  # type: ignore[arg-type]
    stats = test_crash.Stats()
    trials = 6
    child = test_crash.Child(s3_kind.kwargs["dir"], 0, "anywhere")  # type: ignore[arg-type]
    child.wait_ready()
    for trial in range(trials):
        returned = child.go_and_kill(rng)
        stats.trials += 1
        stats.logs_returned += len(returned)
        next_child = None
        if trial + 1 < trials:
            aim = "publish" if trial % 3 == 2 else "anywhere"
            next_child = test_crash.Child(s3_kind.kwargs["dir"], (trial + 1) * 100_000, aim)  # type: ignore[arg-type]
        try:
            test_crash._check_store(state, returned, stats)
        except BaseException:
            if next_child is not None:
                next_child.proc.kill()
                next_child.proc.communicate()
            raise
        if next_child is not None:
            next_child.wait_ready()
            child = next_child
    assert stats.logs_returned > 0 and state.seen
    print(
        f"\n{trials} kills during logs to s3: {stats.logs_returned} logs returned, "
        f"{stats.in_flight_published} in-flight versions published, {len(state.seen)} checked"
    )
    # The next log after the kills succeeds and takes the next number.
    dv.init(**s3_kind.kwargs)
    art = dv.Artifact(test_crash.NAME, type="dataset")
    art.add(test_crash.make_table(999_999), "table")
    assert dv.log_artifact(art).version_index == len(state.seen)
