"""``dv.gc()`` removes what interrupted saves left behind, and nothing a version needs."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import open_store


def age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def log_images(name: str, seed: int) -> dv.Artifact:
    rng = np.random.default_rng(seed)
    t = dv.Table(
        ("img",), data=[[dv.Image(rng.integers(0, 255, (8, 8), dtype=np.uint8))] for _ in range(3)]
    )
    art = dv.Artifact(name, type="t")
    art.add(t, "t")
    return dv.log_artifact(art)


def test_gc_removes_old_orphans_and_temp_files_only(store_dir: Path) -> None:
    log_images("a", 0)
    store = open_store(store_dir)
    orphan = store.objects.put_bytes(b"left by a killed save")
    young = store.objects.put_bytes(b"a save still in flight")
    tmp = store.objects.new_tmp()
    tmp.write_bytes(b"partial")
    for path in [store.objects.path(d) for d in store.objects.iter_digests()] + [tmp]:
        age(path, 7200)
    age(store.objects.path(young), 10)
    report = dv.gc(grace_seconds=3600)
    assert (report.removed_objects, report.removed_tmp, report.kept_young) == (1, 1, 1)
    assert not store.objects.has(orphan) and store.objects.has(young) and not tmp.exists()
    assert dv.verify().ok
    assert len(dv.use_artifact("a:v0").get("t")) == 3


def test_an_old_orphan_reused_by_a_save_survives_gc(store_dir: Path) -> None:
    log_images("a", 1)
    store = open_store(store_dir)
    # A killed save left the images of seed 2 behind; a later save logs the same images.
    rng = np.random.default_rng(2)
    imgs = [dv.Image(rng.integers(0, 255, (8, 8), dtype=np.uint8)) for _ in range(3)]
    for img in imgs:
        store.objects.put_bytes(img.to_bytes())
        age(store.objects.path(img.digest), 7200)
    log_images("b", 2)
    dv.gc(grace_seconds=3600)
    assert dv.verify().ok
    assert dv.use_artifact("b:v0").get("t").get_column("img") == imgs


def test_gc_waits_for_a_save_in_progress(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    from dsviz_widget.artifacts import _artifact

    store = open_store(store_dir)
    started, release = threading.Event(), threading.Event()
    real = _artifact.Artifact._write_and_publish

    def slow(self: dv.Artifact, *args: object) -> bool:
        started.set()
        release.wait(10)
        return real(self, *args)  # type: ignore[arg-type]

    # gc's exclusive lock is first tried without waiting: failing that try is the proof,
    # without a sleep, that the save's shared lock holds gc back.
    real_flock = fcntl.flock
    tried: list[bool] = []  # whether gc's try found the lock taken
    progress = threading.Event()  # gc tried its lock, or finished without one

    def flock(fd: int, op: int) -> None:
        if op == fcntl.LOCK_EX:
            try:
                real_flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                tried.append(False)
            except BlockingIOError:
                tried.append(True)
            progress.set()
        real_flock(fd, op)

    monkeypatch.setattr(_artifact.Artifact, "_write_and_publish", slow)
    monkeypatch.setattr(fcntl, "flock", flock)
    saver = threading.Thread(target=log_images, args=("slow", 3))
    saver.start()
    assert started.wait(10)
    done = threading.Event()
    gc_thread = threading.Thread(
        target=lambda: (store.gc(grace_seconds=0), done.set(), progress.set())
    )
    gc_thread.start()
    assert progress.wait(10)
    assert tried == [True] and not done.is_set()  # gc is blocked while the save holds the lock
    release.set()
    saver.join(10)
    gc_thread.join(10)
    assert done.is_set()
    assert dv.verify().ok and len(dv.use_artifact("slow:v0").get("t")) == 3
