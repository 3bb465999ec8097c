"""Operating a team store over a long session, against a real SeaweedFS on 127.0.0.1.

What a user running it for days meets: opening version after version does not grow the
machine's disk (the engine's pinned copies go with the tables that read them); ``dv.gc``
clears what killed opens and killed uploads leave in the bucket, and nothing else; a server
that is down is reported in about a second, naming the step and the endpoint, and works
again once restarted; the read cache keeps to the size given to ``dv.init`` or
``$DSVIZ_CACHE_SIZE``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import _store
from dsviz_widget.artifacts._remote import RemoteObjects
from dsviz_widget.artifacts._s3 import RemoteStoreError
from tests import _servers
from tests._store_kinds import StoreKind


def frame(i: int, rows: int = 400) -> pd.DataFrame:
    """Version ``i`` of a table: its own values, so each version is its own Parquet file."""
    rng = np.random.default_rng(i)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64) + 1000 * i,
            "label": rng.choice(["car", "road", "person"], rows),
            "score": rng.random(rows),
            "note": [f"version {i} row {k} " + "x" * (k % 40) for k in range(rows)],
        }
    )


def log_version(i: int, name: str = "cars") -> None:
    art = dv.Artifact(name, type="dataset")
    art.add(dv.Table(dataframe=frame(i)), "data")
    dv.log_artifact(art)


def top_ids(table: dv.Table, label: str, n: int = 5) -> list[int]:
    got = table.query(filter=f"label == '{label}'", sort=["-score"], limit=n)
    return [int(x) for x in got["id"]]


def want_ids(i: int, label: str, n: int = 5) -> list[int]:
    f = frame(i)
    return [int(x) for x in f[f.label == label].sort_values("score", ascending=False).id[:n]]


def remote_objects() -> RemoteObjects:
    assert dv.run is not None
    objects = dv.run.store.objects
    assert isinstance(objects, RemoteObjects)
    return objects


def pinned_bytes(objects: RemoteObjects) -> int:
    """What this process's pins take on disk (the files DuckDB may be reading)."""
    own = objects.workdir / "pinned" / str(os.getpid())
    return sum(f.stat().st_size for f in own.iterdir()) if own.is_dir() else 0


# -- 1. pinned copies go with the tables that read them ---------------------------------------
def test_pins_go_when_their_tables_do_so_opening_many_versions_stays_bounded(
    s3_kind: StoreKind,
) -> None:
    versions = 12
    dv.init(**s3_kind.kwargs)
    for i in range(versions):
        log_version(i)
    s3_kind.forget()  # a new machine: every table is fetched, then pinned
    dv.init(**s3_kind.kwargs)
    objects = remote_objects()
    kept = dv.use_artifact("cars:v0").get("data")  # stays open the whole session
    one = pinned_bytes(objects)
    assert one > 0
    twice = dv.use_artifact("cars:v0").get("data")  # the same version opened again
    peak = 0
    for i in range(1, versions):
        table = dv.use_artifact(f"cars:v{i}").get("data")
        assert top_ids(table, "car") == want_ids(i, "car")
        peak = max(peak, pinned_bytes(objects))
        del table  # dropped, as a notebook cell rebinding its variable does
    # Without a gc.collect(): a table is freed as soon as its last reference goes.
    assert peak <= 2 * one + 4096
    assert pinned_bytes(objects) == one
    assert list(objects.pinned.values()) == [2]  # v0's file, held by both of its tables
    # The table still open reads on, with the engine, after every other pin went.
    assert top_ids(kept, "road") == want_ids(0, "road")
    del twice
    gc.collect()
    assert top_ids(kept, "person") == want_ids(0, "person")
    pd.testing.assert_frame_equal(kept.to_pandas(), frame(0))
    del kept
    assert pinned_bytes(objects) == 0 and objects.pinned == {}
    # Opened again later: pinned again, read the same.
    again = dv.use_artifact("cars:v3").get("data")
    assert top_ids(again, "car") == want_ids(3, "car") and pinned_bytes(objects) > 0
    # The garbage collector may free a table in the middle of another pin, on the thread
    # holding the pins' lock: the release waits for the lock to be let go, never for itself.
    with objects._pins_locked():
        del again
        gc.collect()
        assert pinned_bytes(objects) > 0
    assert pinned_bytes(objects) == 0 and objects.pinned == {}


# -- 2. gc: stale probe keys and unfinished uploads -------------------------------------------
def test_gc_removes_stale_probes_and_aborts_stale_uploads_only_under_the_prefix(
    s3_kind: StoreKind,
) -> None:
    dv.init(**s3_kind.kwargs)
    log_version(0)
    server: _servers.Seaweed = s3_kind.extra["server"]
    raw, prefix, bucket = s3_kind.extra["client"], s3_kind.extra["prefix"], server.bucket
    digest = uuid.uuid4().hex * 2

    def upload(key: str) -> dict[str, Any]:
        """An upload begun and never finished, as a writer killed mid-file leaves it."""
        made = raw.create_multipart_upload(Bucket=bucket, Key=key)
        raw.upload_part(
            Bucket=bucket, Key=key, UploadId=made["UploadId"], PartNumber=1, Body=b"part"
        )
        return {"Key": key, "UploadId": made["UploadId"]}

    # Left by killed writers of this store: a probe key, uploads to an object and a probe.
    stale_probe = f"{prefix}/probe/{uuid.uuid4().hex}"
    raw.put_object(Bucket=bucket, Key=stale_probe, Body=b"1")
    old = [
        upload(f"{prefix}/objects/{digest[:2]}/{digest}"),
        upload(f"{prefix}/probe/{uuid.uuid4().hex}"),
    ]
    # Not this store's, though just as old: another store's prefix, a sibling prefix that
    # starts with the same letters, names the store never writes under its own prefix.
    others = [
        upload(f"other-{prefix}/objects/{digest[:2]}/{digest}"),
        upload(f"{prefix}x/objects/{digest[:2]}/{digest}"),
        upload(f"{prefix}/notes/plan.txt"),
    ]
    foreign_keys = [f"{prefix}/probe/README", f"{prefix}x/probe/{uuid.uuid4().hex}"]
    for key in foreign_keys:
        raw.put_object(Bucket=bucket, Key=key, Body=b"keep me")
    # The server's clock counts whole seconds: another writer starts its upload a second
    # later, and is still in progress when gc runs.
    first = max(u["Initiated"] for u in raw.list_multipart_uploads(Bucket=bucket)["Uploads"])
    while time.time() < first.timestamp() + 1.05:
        time.sleep(0.05)
    young = upload(f"{prefix}/objects/{digest[:2]}/{digest}")
    started = next(
        u["Initiated"]
        for u in raw.list_multipart_uploads(Bucket=bucket, Prefix=prefix)["Uploads"]
        if u["UploadId"] == young["UploadId"]
    )
    assert started > first

    # Nothing is old yet for the default grace period.
    report = dv.gc()
    assert (report.removed_probes, report.aborted_uploads) == (0, 0)
    # A grace period ending between the old writers and the young one.
    report = dv.gc(grace_seconds=time.time() - started.timestamp() + 0.5)
    assert (report.removed_probes, report.aborted_uploads) == (1, 2)
    assert report.removed_objects == 0  # the version's objects are all referenced

    uploads = {u["UploadId"] for u in raw.list_multipart_uploads(Bucket=bucket)["Uploads"]}
    assert not {u["UploadId"] for u in old} & uploads
    assert {u["UploadId"] for u in [*others, young]} <= uploads
    listed = {
        o["Key"]
        for page in raw.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
    }
    assert stale_probe not in listed and set(foreign_keys) <= listed
    # The writer in progress finishes its upload after gc: nothing of it was lost.
    parts = raw.list_parts(Bucket=bucket, Key=young["Key"], UploadId=young["UploadId"])
    raw.complete_multipart_upload(
        Bucket=bucket,
        Key=young["Key"],
        UploadId=young["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": parts["Parts"][0]["ETag"]}]},
    )
    assert raw.get_object(Bucket=bucket, Key=young["Key"])["Body"].read() == b"part"
    # The store reads whole after it all.
    s3_kind.forget()
    dv.init(**s3_kind.kwargs)
    pd.testing.assert_frame_equal(dv.use_artifact("cars:v0").get("data").to_pandas(), frame(0))
    for u in others:  # not ours to leave lying around either
        raw.abort_multipart_upload(Bucket=bucket, **u)


# -- 3. a server that is down is reported fast ------------------------------------------------


def new_process(tmp_path: Path) -> None:
    """What a new process on a new machine would not have: open stores, the read cache."""
    import shutil

    dv.finish()
    _store._open.clear()
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)


def test_a_stopped_server_is_reported_within_two_seconds_and_works_once_restarted(
    own_server_kind: tuple[_servers.Seaweed, dict[str, str]], tmp_path: Path
) -> None:
    server, kwargs = own_server_kind
    with dv.init(**kwargs):
        log_version(0)
    endpoint = server.endpoint
    # Reading: the store opened while the server was up, the table not yet fetched.
    new_process(tmp_path)
    dv.init(**kwargs)
    server.kill()
    began = time.monotonic()
    with pytest.raises(RemoteStoreError) as read:
        dv.use_artifact("cars:v0").get("data")
    took = time.monotonic() - began
    assert took < 2.0, f"reporting the stopped server took {took:.1f} s"
    assert read.value.step.startswith("manifest of cars:v0: fetching object")
    assert f"could not reach the S3 server at {endpoint}" in str(read.value)
    assert isinstance(read.value, dv.StoreError)
    # Opening: dv.init's check of the server.
    new_process(tmp_path)
    began = time.monotonic()
    with pytest.raises(RemoteStoreError) as opened:
        dv.init(**kwargs)
    took = time.monotonic() - began
    assert took < 2.0, f"reporting the stopped server took {took:.1f} s"
    assert opened.value.step.startswith(f"opening the store {kwargs['dir']}")
    assert f"could not reach the S3 server at {endpoint}" in str(opened.value)
    assert dv.run is None
    # Restarted (same address): the same calls work again, in the same process.
    server.start()
    dv.init(**kwargs)
    pd.testing.assert_frame_equal(dv.use_artifact("cars:v0").get("data").to_pandas(), frame(0))
    log_version(1)
    assert top_ids(dv.use_artifact("cars:v1").get("data"), "car") == want_ids(1, "car")


# -- 4. the read cache's size ------------------------------------------------------------------
def test_cache_size_from_init_evicts_old_objects_and_everything_reads_back(
    s3_kind: StoreKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = 6
    dv.init(**s3_kind.kwargs)
    for i in range(versions):
        log_version(i)
    parquet = dv.use_artifact("cars:v0").manifest.entries["data.table.parquet"]  # type: ignore[union-attr]
    s3_kind.forget()
    bound = 2 * parquet.size + 8192  # about two versions' files, with their manifests
    dv.init(**s3_kind.kwargs, cache_size=bound)
    cache = remote_objects().remote.cache
    assert cache.bound == bound and s3_kind.cache is not None
    cached = s3_kind.cache / "objects"
    for i in range(versions):
        table = dv.use_artifact(f"cars:v{i}").get("data")
        assert top_ids(table, "person") == want_ids(i, "person")
        del table
        on_disk = sum(f.stat().st_size for f in cached.rglob("*") if f.is_file())
        assert cache.used <= bound and on_disk <= bound
    # The oldest versions' files were evicted, the newest kept.
    first, last = (
        dv.use_artifact(f"cars:v{i}").manifest.entries["data.table.parquet"].digest  # type: ignore[union-attr]
        for i in (0, versions - 1)
    )
    assert first not in cache and not cache.path(first).exists()
    assert last in cache
    # Everything reads back, fetched again where it was evicted.
    for i in range(versions):
        pd.testing.assert_frame_equal(
            dv.use_artifact(f"cars:v{i}").get("data").to_pandas(), frame(i)
        )
    # A larger size given later applies to the store already open; so does a smaller one,
    # at once.
    dv.init(**s3_kind.kwargs, cache_size="20GB")
    assert cache.bound == 20 * 10**9
    dv.init(**s3_kind.kwargs, cache_size=0)
    assert cache.used == 0
    assert not [f for f in cached.rglob("*") if f.is_file()]


def test_cache_size_from_the_environment_and_refused_values(
    s3_kind: StoreKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DSVIZ_CACHE_SIZE", "300KB")
    dv.init(**s3_kind.kwargs)
    assert remote_objects().remote.cache.bound == 300_000
    dv.finish()
    _store._open.clear()
    monkeypatch.setenv("DSVIZ_CACHE_SIZE", "lots")
    with pytest.raises(dv.ValidationError, match=r"\$DSVIZ_CACHE_SIZE must be a size such as"):
        dv.init(**s3_kind.kwargs)
    monkeypatch.delenv("DSVIZ_CACHE_SIZE")
    bad: Any
    for bad in ("-1GB", -5, 1.5, "many"):
        with pytest.raises(dv.ValidationError, match="cache_size must be"):
            dv.init(**s3_kind.kwargs, cache_size=bad)
    assert dv.run is None
    dv.init(**s3_kind.kwargs)
    assert remote_objects().remote.cache.bound == 8 << 30  # the documented default


class SlowProxy:
    """A TCP relay on 127.0.0.1 in front of ``upstream`` that accepts at once but holds each
    connection's first answer for ``delay`` seconds: a server that is up, only slow to answer
    (busy, far away, or assembling a big object)."""

    def __init__(self, upstream: int, delay: float) -> None:
        self.upstream, self.delay = upstream, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held = 0  # answers held back
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return  # closed
            up = socket.create_connection(("127.0.0.1", self.upstream))
            for args in ((down, up, False), (up, down, True)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        first = answers
        try:
            while data := src.recv(1 << 16):
                if first:
                    first = False
                    self.held += 1
                    time.sleep(self.delay)  # the slowness under test
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):  # the other direction's pump stops too
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            src.close()

    def close(self) -> None:
        self.listener.close()


def test_a_slow_server_is_not_taken_for_a_down_one(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    """Connecting is quick, answering may not be: a 12 MB object whose server holds every
    answer for longer than the connect timeout still reads back whole."""
    from dsviz_widget.artifacts._s3 import S3Config, S3ObjectStore

    direct = S3Config.from_env(seaweed_shared.env())
    data = np.random.default_rng(0).integers(0, 256, 12 << 20, dtype=np.uint8).tobytes()
    digest = S3ObjectStore(s3_url, direct, cache_dir=cache_dir / "writer").put_bytes(data)
    port = int(seaweed_shared.endpoint.rsplit(":", 1)[1])
    proxy = SlowProxy(port, delay=direct.connect_timeout + 0.5)
    try:
        slow = S3Config.from_env(
            {**seaweed_shared.env(), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.port}"}
        )
        reader = S3ObjectStore(s3_url, slow, cache_dir=cache_dir / "reader", check=False)
        began = time.monotonic()
        assert reader.size(digest) == len(data)  # boto3
        assert reader.read(digest, "a big object") == data  # pyarrow
        assert proxy.held >= 2 and time.monotonic() - began >= 2 * proxy.delay
    finally:
        proxy.close()
