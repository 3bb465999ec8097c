"""Unsafe names are refused before any filesystem call; damaged files are reported."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import pytest

import dsviz_widget as dv
from tests._store_kinds import StoreKind

TRAVERSALS = [
    "../x",
    "a/../../x",
    "/etc/passwd",
    "C:\\Windows",
    "a\\b",
    "x\x00y",
    "%2e%2e/x",
    "..%2fx",
    "．．/x",
    "a/./b",
    "",
    ".",
    "..",
    "a//b",
    "a/",
    " a",
    "ｘ/../y",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_unsafe_entry_names_are_rejected_without_touching_the_disk(
    name: str, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    art = dv.Artifact("safe", type="t")
    calls: list[str] = []
    real_open, real_stat = builtins.open, os.stat
    monkeypatch.setattr(
        builtins, "open", lambda *a, **k: calls.append("open") or real_open(*a, **k)
    )
    monkeypatch.setattr(os, "stat", lambda *a, **k: calls.append("stat") or real_stat(*a, **k))
    with pytest.raises(dv.UnsafePathError):
        art.add(dv.Table(columns=["a"]), name)
    with pytest.raises(dv.UnsafePathError):
        art.add_file(__file__, name=name)
    assert calls == []


@pytest.mark.parametrize("name", ["../x", "a/b", "x\x00", "%2e", "", "-x", ".x", "a..b", "ａ"])
def test_unsafe_artifact_names_are_rejected(name: str, store_dir: Path) -> None:
    with pytest.raises(dv.UnsafePathError):
        dv.Artifact(name, type="t")
    with pytest.raises((dv.UnsafePathError, dv.NotFoundError)):
        dv.use_artifact(f"{name}:v0")


def test_add_dir_refuses_symlinks(tmp_path: Path, store_dir: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "ok.txt").write_text("fine")
    (d / "link").symlink_to("/etc/passwd")
    with pytest.raises(dv.ValidationError, match="symbolic link"):
        dv.Artifact("a", type="t").add_dir(d)


def test_a_corrupt_file_is_reported_and_never_returned(store_location: StoreKind) -> None:
    import numpy as np

    t = dv.Table(
        ("img",),
        data=[[dv.Image(np.zeros((8, 8), np.uint8))], [dv.Image(np.ones((8, 8), np.uint8))]],
    )
    art = dv.Artifact("c", type="t")
    art.add(t, "t")
    dv.log_artifact(art)
    digest = t.get_column("img")[1].digest
    data = bytearray(store_location.read(digest))
    data[len(data) // 2] ^= 0xFF
    store_location.damage(digest, bytes(data))
    report = dv.verify()
    assert not report.ok and digest in report.problems[0]
    img = dv.use_artifact("c:v0").get("t").get_column("img")[1]
    with pytest.raises(dv.IntegrityError, match="is corrupt"):
        img.to_numpy()


def test_a_corrupt_table_file_raises_on_get(store_location: StoreKind) -> None:
    art = dv.Artifact("c", type="t")
    art.add(dv.Table(columns=["x"], data=[[1], [2]]), "t")
    dv.log_artifact(art)
    entry = art.manifest.entries["t.table.parquet"]  # type: ignore[union-attr]
    data = bytearray(store_location.read(entry.digest))
    data[10] ^= 0x01
    store_location.damage(entry.digest, bytes(data))
    dv.finish()
    store_location.forget()  # a new process (on a new machine) has verified nothing yet
    with pytest.raises(dv.IntegrityError, match=r"c:v0/t: stored (file|object) .* is corrupt"):
        dv.use_artifact("c:v0").get("t")
