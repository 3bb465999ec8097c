"""Reading a logged table trusts the stamp its file had when it was hashed, and nothing else.

The writer records (device, inode, size, mtime, ctime) of each object it has just hashed; a
later ``get()`` (in any process) skips hashing an object whose file still has that stamp. Any
edit of the file moves its ctime, which no system call can set back, so edited bytes are
hashed and refused even when size and mtime are restored. ``dv.verify()`` hashes everything.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import _objects, _store
from dsviz_widget.artifacts._verified import stamp_of


def _log(n: int = 5_000) -> tuple[pd.DataFrame, str]:
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {"id": np.arange(n), "x": rng.normal(size=n), "label": [f"l{i % 7}" for i in range(n)]}
    )
    art = dv.Artifact("stamped", type="dataset")
    art.add(dv.Table(dataframe=df), "t")
    dv.log_artifact(art)
    assert art.manifest is not None
    return df, art.manifest.entries["t.table.parquet"].digest


def _new_process() -> None:
    """Forget every Store object, as a new process would (nothing verified in memory)."""
    dv.finish()  # the current run holds its store
    _store._open.clear()


def _get() -> pd.DataFrame:
    table = dv.use_artifact("stamped:latest").get("t")
    frame: pd.DataFrame = table.get_dataframe()
    return frame


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the object hashes the store does (the real hash still runs)."""
    calls: list[int] = []
    real = _objects._hash_fd

    def counting(fd: int) -> str:
        calls.append(fd)
        return real(fd)

    monkeypatch.setattr(_objects, "_hash_fd", counting)
    return calls


def _flip_in_place(path: Path, restore_mtime: bool) -> os.stat_result:
    """Change one byte in the middle of the file, keeping its size (and mtime if asked)."""
    before = os.stat(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x5A
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(bytes(data))
    os.chmod(path, 0o444)
    if restore_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = os.stat(path)
        assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    return before


def test_a_logged_table_is_read_in_a_new_process_without_hashing_it(
    store_dir: Path, hashed: list[int]
) -> None:
    df, digest = _log()
    assert (store_dir / "verified" / digest[:2] / digest).is_file()
    _new_process()
    hashed.clear()
    got = dv.use_artifact("stamped:latest").get("t")
    assert hashed == []  # the manifest is small and read whole (hashed by read(), not here)
    pd.testing.assert_frame_equal(got.get_dataframe(), df)


@pytest.mark.parametrize("restore_mtime", [False, True], ids=["edited", "edited-mtime-restored"])
@pytest.mark.parametrize("same_process", [False, True], ids=["new-process", "same-process"])
def test_a_table_edited_in_place_after_it_was_stamped_is_refused(
    store_dir: Path, restore_mtime: bool, same_process: bool
) -> None:
    df, digest = _log()
    pd.testing.assert_frame_equal(_get(), df)  # read once: trusted from here on
    path = _store.open_store(store_dir).objects.path(digest)
    before = _flip_in_place(path, restore_mtime)
    assert os.stat(path).st_ctime_ns != before.st_ctime_ns
    if not same_process:
        _new_process()
    with pytest.raises(dv.IntegrityError, match="corrupt"):
        dv.use_artifact("stamped:latest").get("t")
    # Refused again: a failed check never leaves a stamp behind.
    _new_process()
    with pytest.raises(dv.IntegrityError, match="corrupt"):
        dv.use_artifact("stamped:latest").get("t")


def test_verify_hashes_every_file_even_under_a_matching_stamp(store_dir: Path) -> None:
    """Bit rot under an unchanged inode is what a stamp cannot see (RELIABILITY.md): it is
    simulated here by damaging the file and then writing a stamp of its new state. ``verify``
    hashes anyway, reports the file, and drops the stamp, so reads refuse the file again."""
    _, digest = _log()
    objects = _store.open_store(store_dir).objects
    path = objects.path(digest)
    _flip_in_place(path, restore_mtime=True)
    objects.stamps.put(digest, stamp_of(os.stat(path)))
    _new_process()
    report = dv.verify()
    assert not report.ok
    assert any(digest in problem for problem in report.problems)
    assert not (store_dir / "verified" / digest[:2] / digest).exists()
    _new_process()
    with pytest.raises(dv.IntegrityError, match="corrupt"):
        dv.use_artifact("stamped:latest").get("t")


@pytest.mark.parametrize(
    "stamp",
    [b"", b"garbage", b"v1 1 2 3", b"v2 1 2 3 4 5\n", b"v1 -1 2 3 4 5\n", b"\xff" * 300],
    ids=["empty", "text", "short", "version", "negative", "binary"],
)
def test_an_unreadable_stamp_costs_a_hash_and_is_rewritten(
    store_dir: Path, hashed: list[int], stamp: bytes
) -> None:
    df, digest = _log()
    stamp_path = store_dir / "verified" / digest[:2] / digest
    stamp_path.write_bytes(stamp)
    _new_process()
    hashed.clear()
    pd.testing.assert_frame_equal(_get(), df)
    assert len(hashed) == 1
    # Rewritten once the file's last change is older than a clock tick (it is, by now, unless
    # the machine is very fast: then the next read records it).
    _new_process()
    hashed.clear()
    pd.testing.assert_frame_equal(_get(), df)
    assert len(hashed) <= 1


def test_a_stamp_read_through_a_link_is_not_trusted(store_dir: Path, hashed: list[int]) -> None:
    df, digest = _log()
    sub = store_dir / "verified" / digest[:2]
    elsewhere = store_dir.parent / "elsewhere"
    sub.rename(elsewhere)
    sub.symlink_to(elsewhere, target_is_directory=True)
    _new_process()
    hashed.clear()
    pd.testing.assert_frame_equal(_get(), df)
    assert len(hashed) == 1
    assert [p.name for p in elsewhere.iterdir()] == [digest]  # not rewritten through the link


def test_gc_removes_the_stamp_with_the_object(store_dir: Path) -> None:
    objects = _store.open_store(store_dir).objects
    tmp = objects.new_tmp()
    tmp.write_bytes(b"an object no version refers to")
    digest, _ = objects.adopt(tmp)
    stamp_path = store_dir / "verified" / digest[:2] / digest
    assert stamp_path.is_file()
    report = dv.gc(grace_seconds=0)
    assert report.removed_objects == 1
    assert not objects.path(digest).exists()
    assert not stamp_path.exists()


def test_stamps_are_never_written_or_removed_through_a_link(store_dir: Path) -> None:
    objects = _store.open_store(store_dir).objects
    tmp = objects.new_tmp()
    tmp.write_bytes(b"another object no version refers to")
    digest, _ = objects.adopt(tmp)
    outside = store_dir.parent / "outside"
    outside.mkdir()
    (outside / digest).write_text("not the store's")
    sub = store_dir / "verified" / digest[:2]
    (sub / digest).unlink()
    sub.rmdir()
    sub.symlink_to(outside, target_is_directory=True)
    objects.stamps.put(digest, stamp_of(os.stat(objects.path(digest))))
    assert dv.gc(grace_seconds=0).removed_objects == 1
    assert (outside / digest).read_text() == "not the store's"
    assert sorted(p.name for p in outside.iterdir()) == [digest]
