"""One save of a known artifact, and the checks a user relies on after a failed one.

Runs in the test process and in forked children (``multiprocessing`` forkserver).
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

from tests.reliability._common import fresh_store, make_table, object_files, sha256_file, tmp_files

NAME = "faulted"
ALIAS = "newest"
FILE_ENTRY = "notes/readme.txt"


def file_text(seed: int) -> bytes:
    return f"notes for seed {seed}\n".encode() * (1 + seed % 7)


def build(seed: int, scratch: Path) -> Any:
    """The artifact saved for ``seed``: a table with media and a plain file."""
    import dsviz_widget as dv

    src = scratch / f"notes-{seed}.txt"
    src.write_bytes(file_text(seed))
    art = dv.Artifact(NAME, type="dataset", metadata={"seed": seed})
    art.add(make_table(seed), "table")
    art.add_file(src, FILE_ENTRY)
    return art


def save(root: Path, art: Any) -> int:
    """Open the store (as a new process would) and save ``art``; returns its version."""
    store = fresh_store(root)
    art._save(store, [ALIAS], None)
    assert art.version_index is not None
    return art.version_index


def child_crash(root: str, scenario: str, seed: int, target: int, scratch: str) -> None:
    """Forked child: save with a crash (``os._exit``) at site ``target``."""
    from dsviz_widget.artifacts import _objects, _serialize
    from tests.reliability._faults import inject

    # tqdm makes a multiprocessing lock per process, which os._exit would leak
    _serialize.progress_bar = _NoBar  # type: ignore[assignment]
    art = build(seed, Path(scratch))
    if scenario == "nosyncfs":
        _objects._libc = False  # the per-file fsync fallback (no syncfs(2))
    with inject(Path(root), target, "crash"):
        save(Path(root), art)
    os._exit(0)


class _NoBar:
    def __init__(self, **kwargs: Any) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


_CTX: Any = None


def context() -> Any:
    """A forkserver context: children fork from a single-threaded process that preloaded
    the library, so each fault trial costs a fork, not an interpreter start."""
    global _CTX
    if _CTX is None:
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(
            ["dsviz_widget", "tests.reliability._saves", "tests.reliability._faults"]
        )
    return _CTX


class Ledger:
    """What the tests know is published in one store: version -> seed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seeds: dict[int, int] = {}
        self.content: dict[int, str] = {}

    def check(self, in_flight: int | None) -> int | None:
        """The store as a user sees it after a fault. ``in_flight``: the seed of the save that
        failed (it may be visible, whole, if the fault came after its COMMIT). Returns the
        version it got, if visible."""
        from dsviz_widget._errors import NotFoundError
        from dsviz_widget.artifacts import _serialize

        store = fresh_store(self.root)  # opens without any repair step
        try:
            rows = store.catalog.versions(NAME)
        except NotFoundError:
            rows = []
        versions = [r.version for r in rows]
        assert versions == list(range(len(versions))), f"version numbers not contiguous: {versions}"
        known = len(self.seeds)
        assert len(versions) in (known, known + 1), (
            f"{len(versions)} versions, expected {known}(+1)"
        )
        got = None
        for row in rows:
            if row.version in self.content:
                assert row.content == self.content[row.version], f"v{row.version} changed"
                continue
            seed = row.metadata["seed"]
            assert seed == in_flight, f"v{row.version} holds seed {seed}, not the in-flight save"
            table = _serialize.read(store, row, "table")
            assert table == make_table(seed), f"v{row.version} is partial or wrong"
            path = _serialize.read(store, row, FILE_ENTRY)
            assert Path(path).read_bytes() == file_text(seed)
            self.seeds[row.version], self.content[row.version] = seed, row.content
            got = row.version
        if rows:
            top = store.catalog.resolve(f"{NAME}:{ALIAS}")
            assert top.version == rows[-1].version, "alias does not point at the newest version"
        report = store.verify()
        assert report.ok, report.problems
        return got

    def gc_and_check(self) -> tuple[int, int]:
        """``gc`` with no grace period removes every leftover and no published file."""
        store = fresh_store(self.root)
        keep = store._referenced()
        before = {d: sha256_file(store.objects.path(d)) for d in keep}
        report = store.gc(grace_seconds=0)
        assert object_files(self.root) == keep, "gc left an orphan or removed a published file"
        assert {d: sha256_file(store.objects.path(d)) for d in keep} == before
        assert all(d == h for d, h in before.items())
        assert tmp_files(self.root) == [], "gc left temporary files"
        assert fresh_store(self.root).verify().ok
        return report.removed_objects, report.removed_tmp

    def save_next(self, seed: int, scratch: Path) -> None:
        version = save(self.root, build(seed, scratch))
        assert version == len(self.seeds), f"next save got v{version}"
        self.seeds[version] = seed
        row = fresh_store(self.root).catalog.version(NAME, version)
        self.content[version] = row.content


def _warm_up() -> None:
    """Import what a first save imports lazily (pandas, Pillow's plugins), so that forked
    children start warm (the forkserver preloads this module)."""
    make_table(0).to_arrow()


_warm_up()
