"""Item 9 of issue 6: unsafe names are rejected before any filesystem call.

A generated corpus of names built from traversal atoms (``..``, absolute paths, ``C:\\``, UNC
paths, NUL and control characters, URL-encoded and double-encoded dots and slashes, fullwidth
and other NFKC-folding dots and slashes, backslashes, empty and ``.`` segments, trailing
spaces) at different depths, used as: artifact names (``dv.Artifact``, ``dv.use_artifact``),
entry names (``add``, ``add_file``), ``add_dir`` names and image / mask paths containing NUL.
During each call an audit hook records ``open`` and every ``os.*`` / ``shutil.*`` /
``pathlib`` filesystem event, and ``os.stat`` / ``os.lstat`` (which raise no audit event) are
wrapped: every name must be refused with ``dv.UnsafePathError`` (or ``ValidationError`` for
image paths) and no filesystem call made.

Symbolic links in an added directory (to a file or directory outside, dangling, looping,
nested, the directory itself) are refused and the link target is never opened; a file swapped
for a symlink or a FIFO *after* ``add_dir`` checked it is refused at save time (without
following it or blocking), and nothing is published.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dsviz_widget as dv
from tests.reliability._common import tmp_files
from tests.reliability.test_save_faults import _record

ATOMS = [
    "..",
    "../..",
    "/",
    "/etc/passwd",
    "C:\\",
    "C:/x",
    "c:",
    "\\\\server\\share",
    "\\",
    "..\\x",
    "a\\..\\..",
    "\x00",
    "x\x00y",
    "\n",
    "\t",
    "\x7f",
    "%2e%2e",
    "%2e%2e%2f",
    "..%2f",
    "%252e%252e",
    "%c0%ae%c0%ae",
    "．．",
    "．",
    "／",
    "..／",
    "‥",
    "․",
    "﹒﹒",
    "\uff0e\uff0e\uff0f",
    "./",
    ".",
    "",
    " ..",
    ".. ",
    "a/",
    "/a",
    "a//b",
    "file:///etc/passwd",
    "x:y",
    "a*b",
    "a?b",
    "<x>",
    '"x"',
    "a|b",
    "\u202e..",
    "ｘ/../y",
    "evil\u202etxt.exe",
    "\u2066..\u2069",
    "x\x85y",
    "a\u2028b",
    "\ud800",
]
PREFIXES = ["", "a/", "a/b/"]
SUFFIXES = ["", "/x", "/../x"]
FS_EVENTS = ("open", "os.", "shutil.", "pathlib.", "glob.", "tempfile.")


def corpus() -> list[str]:
    names = {p + a + s for p, a, s in itertools.product(PREFIXES, ATOMS, SUFFIXES)}
    names.add("a" * 600)  # longer than the limit
    return sorted(n for n in names if _unsafe_by_construction(n))


def _unsafe_by_construction(name: str) -> bool:
    # ATOMS built with "a/" + "" + "" is "a/", still unsafe (empty segment); only drop names
    # that happen to be plain (none do, but keep the corpus honest).
    return name not in ("a", "a/x", "a/b/x")


_EVENTS: list[str] = []
_ACTIVE = threading.local()


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if getattr(_ACTIVE, "on", False) and event.startswith(FS_EVENTS):
        _EVENTS.append(f"{event} {args[:1]!r}")


sys.addaudithook(_hook)


@contextmanager
def no_filesystem(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    real_stat, real_lstat = os.stat, os.lstat

    def stat(*a: Any, **k: Any) -> Any:
        if getattr(_ACTIVE, "on", False):
            _EVENTS.append(f"os.stat {a[:1]!r}")
        return real_stat(*a, **k)

    def lstat(*a: Any, **k: Any) -> Any:
        if getattr(_ACTIVE, "on", False):
            _EVENTS.append(f"os.lstat {a[:1]!r}")
        return real_lstat(*a, **k)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "lstat", lstat)
    _EVENTS.clear()
    _ACTIVE.on = True
    try:
        yield _EVENTS
    finally:
        _ACTIVE.on = False
        monkeypatch.undo()


def _refused(
    call: Callable[[], Any],
    errors: tuple[type[BaseException], ...],
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    with no_filesystem(monkeypatch) as events:
        with pytest.raises(errors):
            call()
        return list(events)


def test_unsafe_names_are_refused_before_any_filesystem_call(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dv.init(dir=store_dir)  # opened beforehand: the calls below must not touch the disk
    art = dv.Artifact("safe", type="t")
    table = dv.Table(columns=["a"], data=[[1]])
    real_file = tmp_path / "real.txt"
    real_file.write_text("x")
    real_dir = tmp_path / "dir"
    real_dir.mkdir()
    names = corpus()
    checks = 0
    touched: dict[str, list[str]] = {}
    for name in names:
        calls: list[tuple[str, Callable[[], Any], tuple[type[BaseException], ...]]] = [
            ("Artifact", lambda n=name: dv.Artifact(n, type="t"), (dv.UnsafePathError,)),
            ("add", lambda n=name: art.add(table, n), (dv.UnsafePathError,)),
            ("add_file", lambda n=name: art.add_file(real_file, name=n), (dv.UnsafePathError,)),
            (
                "use_artifact",
                lambda n=name: dv.use_artifact(f"{n}:v0"),
                (dv.UnsafePathError, dv.NotFoundError),
            ),
        ]
        for label, call, errors in calls:
            events = _refused(call, errors, monkeypatch)
            checks += 1
            if events:
                touched[f"{label}({name!r})"] = events
    # add_dir must look at the directory it is given, but its *name* is checked first.
    for name in [n for n in names if n]:  # add_dir(name="") means no prefix
        events = _refused(
            lambda n=name: art.add_dir(real_dir, name=n), (dv.UnsafePathError,), monkeypatch
        )
        checks += 1
        if events:
            touched[f"add_dir(name={name!r})"] = events
    for path in ["x\x00y.png", str(real_file) + "\x00.png", "\x00"]:
        for call in (
            lambda p=path: dv.Image(p),
            lambda p=path: dv.Image(np.zeros((2, 2), np.uint8), masks={"m": {"path": p}}),
            lambda p=path: art.add_file(p, name="ok.txt"),
            lambda p=path: art.add_dir(p),
        ):
            events = _refused(call, (dv.ValidationError,), monkeypatch)
            checks += 1
            if events:
                touched[f"path {path!r}"] = events
    _record(
        "traversal",
        {
            "names": len(names),
            "calls": checks,
            "refused": checks,
            "calls_touching_the_filesystem": len(touched),
        },
    )
    print(f"\n{len(names)} unsafe names, {checks} calls refused; touching the disk: {len(touched)}")
    assert not touched, dict(itertools.islice(touched.items(), 10))
    assert art.entries() == []


def test_stored_data_cannot_name_a_path_outside(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile manifest or media index (as a crafted store would hold) is refused as data."""
    from dsviz_widget.artifacts._manifest import Manifest
    from dsviz_widget.artifacts._objects import ObjectStore

    objects = ObjectStore(store_dir)
    for name in corpus()[:200]:
        doc = (
            '{{"format": 1, "entries": {{{}: {{"digest": "{}", "size": 1}}}}}}'.format(
                _json(name), "0" * 64
            )
        ).encode()
        events = _refused(
            lambda d=doc: Manifest.from_bytes(d, "crafted"),
            (dv.UnsafePathError, dv.IntegrityError),
            monkeypatch,
        )
        assert not events, (name, events)
    for digest in ["../" * 3 + "etc/passwd", "0" * 63 + "/", "/etc/passwd", "0" * 64 + "\x00"]:
        events = _refused(lambda d=digest: objects.path(d), (dv.ValidationError,), monkeypatch)
        assert not events, (digest, events)


def _json(s: str) -> str:
    import json

    return json.dumps(s)


@pytest.mark.parametrize(
    "link", ["file-outside", "dir-outside", "dangling", "loop", "nested", "root-is-link"]
)
def test_add_dir_refuses_symlinks_and_never_reads_their_target(
    link: str, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    canary = secret / "canary.txt"
    canary.write_text("TOP SECRET")
    d = tmp_path / "added"
    (d / "sub").mkdir(parents=True)
    (d / "ok.txt").write_text("fine")
    target = d
    if link == "file-outside":
        (d / "evil.txt").symlink_to(canary)
    elif link == "dir-outside":
        (d / "evil").symlink_to(secret, target_is_directory=True)
    elif link == "dangling":
        (d / "gone").symlink_to(tmp_path / "nothing-here")
    elif link == "loop":
        (d / "loop").symlink_to(d / "loop")
    elif link == "nested":
        (d / "sub" / "deep.txt").symlink_to(canary)
    else:
        target = tmp_path / "link-to-added"
        target.symlink_to(d, target_is_directory=True)
    opened: list[str] = []
    with no_filesystem(monkeypatch) as events:
        with pytest.raises(dv.ValidationError):
            dv.Artifact("links", type="t").add_dir(target)
        opened = [e for e in events if e.startswith("open") and "canary" in e]
    assert opened == []


@pytest.mark.parametrize("swap", ["symlink", "fifo"])
def test_a_file_swapped_after_add_dir_is_refused_at_save(
    swap: str, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("TOP SECRET")
    d = tmp_path / "added"
    d.mkdir()
    (d / "a.txt").write_text("fine")
    (d / "b.txt").write_text("also fine")
    art = dv.Artifact("swapped", type="t")
    art.add_dir(d)
    (d / "b.txt").unlink()
    if swap == "symlink":
        (d / "b.txt").symlink_to(canary)
    else:
        os.mkfifo(d / "b.txt")  # opening it for reading would block without O_NONBLOCK
    with no_filesystem(monkeypatch) as events:
        with pytest.raises(dv.UnsafePathError):
            dv.log_artifact(art)
        opened = [e for e in events if e.startswith("open") and "canary" in e]
    assert opened == []
    assert art.is_draft()
    with pytest.raises(dv.NotFoundError):
        dv.use_artifact("swapped:latest")
    assert tmp_files(store_dir) == []
