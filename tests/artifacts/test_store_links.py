"""Issue item 1: gc, verify and reads never follow a symbolic link out of the store's own tree,
and gc never removes a file the store did not write."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import open_store
from tests.reliability._common import fresh_store


def _old(path: Path) -> None:
    past = time.time() - 7200
    os.utime(path, (past, past), follow_symlinks=False)


def _log_images(name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = [[dv.Image(rng.integers(0, 255, (8, 8), dtype=np.uint8))] for _ in range(3)]
    art = dv.Artifact(name, type="t")
    art.add(dv.Table(("img",), data=rows), "t")
    dv.log_artifact(art)


def test_gc_refuses_a_tmp_that_is_a_link_and_leaves_its_target_alone(
    store_dir: Path, tmp_path: Path
) -> None:
    _log_images("a", 0)
    outside = tmp_path / "home"
    outside.mkdir()
    precious = outside / "thesis.tex"
    precious.write_text("years of work")
    _old(precious)
    tmp = store_dir / "tmp"
    for f in tmp.iterdir() if tmp.exists() else []:
        f.unlink()
    if tmp.exists():
        tmp.rmdir()
    tmp.symlink_to(outside, target_is_directory=True)
    with pytest.raises(dv.StoreError, match=f"{tmp}.*symbolic link"):
        dv.gc(grace_seconds=0)
    assert precious.read_text() == "years of work"
    # a save does not write through it either
    with pytest.raises(dv.StoreError, match="symbolic link"):
        _log_images("b", 1)
    assert [p.name for p in outside.iterdir()] == ["thesis.tex"]


def test_gc_refuses_an_objects_subdirectory_linked_to_another_store(tmp_path: Path) -> None:
    dv.init(dir=tmp_path / "other")
    _log_images("theirs", 2)
    other = open_store(tmp_path / "other")
    theirs = sorted(other.objects.iter_digests())
    mine = tmp_path / "mine"
    dv.init(dir=mine)
    _log_images("mine", 3)
    victim = theirs[0][:2]
    link = mine / "objects" / victim
    if link.exists():
        pytest.skip("both stores happen to share a subdirectory name")
    link.symlink_to(tmp_path / "other" / "objects" / victim, target_is_directory=True)
    for digest in theirs:
        _old(other.objects.path(digest))
    with pytest.raises(dv.StoreError, match=f"{link}.*symbolic link"):
        dv.gc(grace_seconds=0)
    dv.finish()
    assert sorted(fresh_store(tmp_path / "other").objects.iter_digests()) == theirs
    assert fresh_store(tmp_path / "other").verify().ok


def test_reading_an_object_replaced_by_a_link_is_refused(store_dir: Path, tmp_path: Path) -> None:
    _log_images("a", 4)
    store = fresh_store(store_dir)
    row = store.catalog.resolve("a:v0")
    digest = store.manifest(row).entries["t.table.parquet"].digest
    path = store.objects.path(digest)
    copy = tmp_path / "copy"
    copy.write_bytes(path.read_bytes())  # same bytes: only the link itself is wrong
    os.chmod(path, 0o644)
    path.unlink()
    path.symlink_to(copy)
    with pytest.raises(dv.StoreError, match=f"{path}.*symbolic link"):
        fresh_store(store_dir).verify()
    with pytest.raises(dv.StoreError, match="symbolic link"):
        dv.Artifact._from_row(fresh_store(store_dir), row).get("t")


def test_gc_leaves_files_it_did_not_write(store_dir: Path) -> None:
    _log_images("a", 5)
    store = fresh_store(store_dir)
    digest = next(iter(store.objects.iter_digests()))
    sub = store_dir / "objects" / digest[:2]
    foreign = [
        store_dir / "tmp" / "notes.txt",  # not a name the store gives temporary files
        store_dir / "objects" / "README",
        sub / "backup.bak",
        sub / ("ab" * 32),  # a digest name in the wrong directory
        sub / (digest[:2] + "0" * 62),  # a digest name whose bytes do not match it
    ]
    (store_dir / "tmp").mkdir(exist_ok=True)
    for f in foreign:
        f.write_bytes(b"mine, not the store's")
        _old(f)
    report = dv.gc(grace_seconds=0)
    assert report.removed_objects == 0 and report.removed_tmp == 0
    assert report.foreign == len(foreign)
    assert all(f.read_bytes() == b"mine, not the store's" for f in foreign)
    assert dv.verify().ok


def test_a_lock_file_replaced_by_a_link_is_refused(store_dir: Path, tmp_path: Path) -> None:
    _log_images("a", 6)
    (store_dir / "gc.lock").unlink()
    target = tmp_path / "would-be-created"
    (store_dir / "gc.lock").symlink_to(target)
    with pytest.raises(dv.StoreError, match=r"gc\.lock.*symbolic link"):
        dv.gc()
    assert not target.exists()
