"""Must show (c): generated store layouts with links and foreign files; gc and verify touch
nothing outside the store and raise only typed errors; logged versions survive.

Each generated layout starts from a copy of one template: store A (two versions: a table of
images with a media index, a plain file; plus one old unreferenced object that gc may remove),
store B (another store) and an outside tree of files. Into store A go, in any number and order:

- at the root, in ``objects/``, in an existing ``objects/xx/``, in a new ``objects/xx/`` and in
  ``tmp/``: symbolic links (to an outside directory or file, to store B's ``objects/``, to one of
  its subdirectories or objects, dangling, to themselves), regular files with odd names or
  named like an object but not one, directories and FIFOs;
- in place of ``tmp/``, ``objects/``, an ``objects/xx/`` directory, a stored object, ``gc.lock``
  or ``catalog.sqlite``: a link to the outside tree or to the same thing in store B.

Then ``gc(grace_seconds=0)`` and ``verify()`` run on a fresh ``Store``. Checked: both either
succeed or raise a ``dv.DsvizError`` (a ``StoreError`` names a path in store A); the outside
tree and store B are unchanged byte for byte, mtime included, and nothing in them is missing;
every foreign file placed in A is still there; once the planted links are taken away again,
every logged version of A loads and ``verify()`` is ok.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget.artifacts import Artifact, open_store
from dsviz_widget.artifacts._store import Store
from tests.reliability._common import pick
from tests.reliability.test_save_faults import _record

OLD = time.time() - 7200
PLACES = ["root", "objects", "objects/sub", "objects/newsub", "tmp"]
THINGS = [
    "link-outside-dir",
    "link-outside-file",
    "link-other-objects",
    "link-other-sub",
    "link-other-object",
    "dangling",
    "loop",
    "file",
    "object-named-file",
    "dir",
    "fifo",
]
REPLACED = ["tmp", "objects", "objects/sub", "object-file", "gc.lock", "catalog.sqlite"]
ODD_NAMES = [
    "\n",
    " ",
    "-",
    "~x",
    ".hidden",
    "x.part",
    "1-x.part",
    "ff",
    "00",
    "gc.lock~",
    "é",
    "\u202e",
    "a" * 200,
    "catalog.sqlite-journal",
    "objects",
    "tmp",
]
names = st.one_of(
    st.sampled_from(ODD_NAMES),
    st.text(
        st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=16,
    ).filter(lambda s: s not in (".", "..") and len(s.encode()) < 200),
)
placement = st.tuples(st.sampled_from(PLACES), st.sampled_from(THINGS), names)
layouts = st.tuples(
    st.lists(placement, max_size=6),
    st.lists(
        st.tuples(st.sampled_from(REPLACED), st.booleans()), max_size=2, unique_by=lambda r: r[0]
    ),
)


def _snapshot(top: Path) -> dict[str, tuple[Any, ...]]:
    """Every path under ``top`` (links not followed): type, size, mtime, content digest."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            s = os.lstat(p)
            if stat.S_ISLNK(s.st_mode):
                out[str(p.relative_to(top))] = ("link", os.readlink(p))
            elif stat.S_ISREG(s.st_mode):
                out[str(p.relative_to(top))] = (
                    "file",
                    s.st_size,
                    s.st_mtime_ns,
                    hashlib.sha256(p.read_bytes()).hexdigest(),
                )
            else:
                out[str(p.relative_to(top))] = ("dir", s.st_mtime_ns)
    return out


def _make_template(base: Path) -> None:
    rng = np.random.default_rng(0)
    for store, seeds in (("A", (0, 1)), ("B", (2,))):
        dv.init(dir=base / store)
        for seed in seeds:
            art = dv.Artifact(f"data{seed}", type="t")
            rows = [[i, dv.Image(rng.integers(0, 255, (6, 6), dtype=np.uint8))] for i in range(3)]
            art.add(dv.Table(("id", "img"), data=rows), "t")
            f = base / f"plain{seed}.txt"
            f.write_text(f"plain {seed}")
            art.add_file(f)
            dv.log_artifact(art)
        dv.finish()
        open_store(base / store).objects.put_bytes(f"orphan of {store}".encode())
    outside = base / "outside"
    (outside / "docs").mkdir(parents=True)
    for i in range(3):
        (outside / f"f{i}.txt").write_text(f"outside {i}")
        (outside / "docs" / f"d{i}.txt").write_text(f"deep {i}")
    for p in base.rglob("*"):
        if not p.is_symlink():
            os.utime(p, (OLD, OLD))


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="dsviz-layouts-"))
    _make_template(base / "t")
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _plant(
    a: Path, b: Path, outside: Path, where: Path, thing: str, name: str, foreign: dict[Path, bytes]
) -> None:
    target = where / name
    if os.path.lexists(target):
        return
    if where == a and name.startswith("catalog.sqlite") and thing not in ("dangling", "loop"):
        # SQLite owns every catalog.sqlite* name beside the catalog (a -journal is rolled back
        # and removed as its own): out of this test's scope, see RELIABILITY.md "Not covered".
        return
    b_sub = next(p for p in sorted((b / "objects").iterdir()))
    links = {
        "link-outside-dir": outside / "docs",
        "link-outside-file": outside / "f0.txt",
        "link-other-objects": b / "objects",
        "link-other-sub": b_sub,
        "link-other-object": next(iter(sorted(b_sub.iterdir()))),
        "dangling": outside / "nothing-here",
        "loop": target,
    }
    if thing in links:
        target.symlink_to(links[thing])
    elif thing == "dir":
        target.mkdir()
        (target / "inner").write_bytes(b"inner")
        foreign[target / "inner"] = b"inner"
    elif thing == "fifo":
        os.mkfifo(target)
    else:
        data = f"foreign {name!r}".encode()
        if thing == "object-named-file":  # a name gc would take for an object: bytes don't match
            target = where / (where.name * 32 if len(where.name) == 2 else "ab" * 32)
            if os.path.lexists(target):
                return
        target.write_bytes(data)
        foreign[target] = data
    if not target.is_symlink():
        os.utime(target, (OLD, OLD))


def _where(a: Path, place: str, sub: str) -> Path:
    path = {
        "root": a,
        "objects": a / "objects",
        "objects/sub": a / "objects" / sub,
        "objects/newsub": a / "objects" / "fe",
        "tmp": a / "tmp",
    }[place]
    path.mkdir(parents=True, exist_ok=True)
    return path


def _replace(
    a: Path,
    b: Path,
    outside: Path,
    what: str,
    to_b: bool,
    sub: str,
    obj: str,
    aside: Path,
    undo: list[tuple[Path, Path | None]],
) -> None:
    rel = {
        "tmp": "tmp",
        "objects": "objects",
        "objects/sub": f"objects/{sub}",
        "object-file": f"objects/{sub}/{obj}",
        "gc.lock": "gc.lock",
        "catalog.sqlite": "catalog.sqlite",
    }[what]
    path = a / rel
    if any(q.is_symlink() or not q.is_dir() for q in path.parents if q != a and a in q.parents):
        return  # a directory above was replaced already: do not reach through that link
    if path.is_symlink():
        return
    saved: Path | None = None
    if os.path.lexists(path):
        saved = aside / rel.replace("/", "_")
        os.rename(path, saved)
    target = b / rel if to_b and os.path.lexists(b / rel) else outside / "docs"
    path.symlink_to(target)
    undo.append((path, saved))


def _loadable(a: Path) -> None:
    store = Store(a)
    for name in store.catalog.artifact_names():
        for row in store.catalog.versions(name):
            art = Artifact._from_row(store, row)
            assert art.get("t").get_column("id") == [0, 1, 2]
            assert [i.to_numpy().shape for i in art.get("t").get_column("img")] == [(6, 6)] * 3
            seed = name.removeprefix("data")
            assert art.get(f"plain{seed}.txt").read_text() == f"plain {seed}"
    report = store.verify()
    assert report.ok, report


def _run(what: str, call: Any, a: Path, tally: Counter[str]) -> None:
    try:
        call()
    except dv.DsvizError as exc:
        tally[f"{what}: {type(exc).__name__}"] += 1
        if isinstance(exc, dv.StoreError):
            assert str(a) in str(exc), f"{what} error does not name a path in the store: {exc}"
    else:
        tally[f"{what}: ok"] += 1


@pytest.mark.slow
def test_generated_layouts_never_reach_outside_the_store(template: Path) -> None:
    tally: Counter[str] = Counter()
    count = [0]

    @settings(
        max_examples=pick(200, 3000),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(layouts)
    def one(layout: tuple[list[tuple[str, str, str]], list[tuple[str, bool]]]) -> None:
        count[0] += 1
        work = Path(tempfile.mkdtemp(dir=template))
        try:
            shutil.copytree(template / "t", work / "w", symlinks=True)
            a, b, outside, aside = (
                work / "w" / "A",
                work / "w" / "B",
                work / "w" / "outside",
                work / "aside",
            )
            aside.mkdir()
            sub = sorted(p.name for p in (a / "objects").iterdir())[0]
            obj = sorted(p.name for p in (a / "objects" / sub).iterdir())[0]
            before = {"outside": _snapshot(outside), "B": _snapshot(b)}
            placements, replacements = layout
            foreign: dict[Path, bytes] = {}
            for place, thing, name in placements:
                _plant(a, b, outside, _where(a, place, sub), thing, name, foreign)
            undo: list[tuple[Path, Path | None]] = []
            for what, to_b in replacements:
                _replace(a, b, outside, what, to_b, sub, obj, aside, undo)
            links = any(t.startswith(("link", "dangling", "loop")) for _, t, _ in placements)
            tally["layouts with links"] += bool(links or undo)

            def gc() -> None:
                report = Store(a).gc(grace_seconds=0)
                tally["objects removed by gc"] += report.removed_objects

            _run("gc", gc, a, tally)
            _run("verify", lambda: Store(a).verify(), a, tally)
            assert _snapshot(outside) == before["outside"], "gc/verify changed the outside tree"
            assert _snapshot(b) == before["B"], "gc/verify changed the other store"
            for path, saved in reversed(undo):
                path.unlink()
                if saved is not None:
                    os.rename(saved, path)
            for path, data in foreign.items():  # after the undo: a replaced tmp/ was moved aside
                assert path.read_bytes() == data, f"foreign file {path} was changed or removed"
            for place, _thing, name in placements:  # take the planted links away again
                p = _where(a, place, sub) / name
                if p.is_symlink():
                    p.unlink()
            _loadable(a)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    one()
    figures = {
        "layouts": count[0],
        **dict(sorted(tally.items())),
        "outside_or_other_store_changed": 0,
        "foreign_files_removed": 0,
        "versions_unloadable_after": 0,
    }
    _record("store_layouts", figures)
    print(f"\n{figures}")
    assert tally["gc: StoreError"] > 0 and tally["gc: ok"] > 0  # both kinds of layout were made
