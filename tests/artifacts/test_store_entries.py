"""Issue item 2: one namespace for entries. A clash is an error at ``add`` time, and what an
entry is comes from the manifest, never from its name's suffix."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

import dsviz_widget as dv
from dsviz_widget._digest import canonical_json
from tests.reliability._common import fresh_store


def _images(seed: int) -> dv.Table:
    rng = np.random.default_rng(seed)
    rows = [[i, dv.Image(rng.integers(0, 255, (8, 8), dtype=np.uint8))] for i in range(3)]
    return dv.Table(("id", "img"), data=rows)


def _age_all(root: Path) -> None:
    past = time.time() - 7200
    for f in (root / "objects").rglob("*"):
        os.utime(f, (past, past))


@pytest.mark.parametrize(
    ("first", "second", "taken"),
    [
        (("table", "t"), ("file", "t.table.parquet"), "t.table.parquet"),
        (("file", "t.table.parquet"), ("table", "t"), "t.table.parquet"),
        (("table", "t"), ("file", "t.media.parquet"), "t.media.parquet"),
        (("joined", "j"), ("table", "j.joined/table1"), "j.joined/table1.table.parquet"),
        (("joined", "j"), ("file", "j.joined-table.json"), "j.joined-table.json"),
        (("classes", "c"), ("file", "c.classes.json"), "c.classes.json"),
    ],
)
def test_entries_that_would_share_a_stored_name_are_refused_at_add(
    first: tuple[str, str], second: tuple[str, str], taken: str, tmp_path: Path
) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(b"plain")

    def add(art: dv.Artifact, what: str, name: str) -> None:
        if what == "file":
            art.add_file(f, name)
        elif what == "table":
            art.add(dv.Table(columns=["a"], data=[[1]]), name)
        elif what == "classes":
            art.add(dv.Classes([{"id": 0, "name": "x"}]), name)
        else:
            t = dv.Table(columns=["k"], data=[[1]])
            art.add(dv.JoinedTable(t, t, "k"), name)

    art = dv.Artifact("clash", type="t")
    add(art, *first)
    with pytest.raises(
        dv.ValidationError, match=f"would be stored as '{taken}', which '{first[1]}'"
    ):
        add(art, *second)
    assert art.entries() == [first[1]]


def test_add_dir_with_a_clashing_file_adds_nothing(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt").write_text("a")
    (d / "t.table.parquet").write_text("not a table")
    art = dv.Artifact("clash", type="t")
    art.add(dv.Table(columns=["a"], data=[[1]]), "t")
    with pytest.raises(dv.ValidationError, match=r"t\.table\.parquet"):
        art.add_dir(d)
    assert art.entries() == ["t"]


def test_a_file_may_not_take_a_media_file_name(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x")
    with pytest.raises(dv.ValidationError, match="reserved"):
        dv.Artifact("a", type="t").add_file(f, "media/ab/" + "ab" * 32)


def test_a_plain_file_named_like_a_media_index_stays_a_plain_file(
    store_dir: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "x.media.parquet"
    junk.write_bytes(b"not parquet at all")
    art = dv.Artifact("mixed", type="t")
    art.add(_images(0), "t")
    art.add_file(junk)
    art.add_file(junk, "t.table")  # a file whose name is a table's suffix: still a file
    dv.log_artifact(art)
    _age_all(store_dir)
    dv.gc(grace_seconds=0)  # on main: ArrowInvalid, for the whole store
    assert dv.verify().ok
    back = dv.use_artifact("mixed:v0")
    assert back.entries() == ["t", "t.table", "x.media.parquet"]
    assert back.get("x.media.parquet").read_bytes() == b"not parquet at all"
    assert back.get("t.table").read_bytes() == b"not parquet at all"
    assert [i.to_numpy().shape for i in back.get("t").get_column("img")] == [(8, 8)] * 3
    kinds = {k: e.kind for k, e in back.manifest.entries.items() if not k.startswith("media/")}  # type: ignore[union-attr]
    assert kinds == {
        "t.table.parquet": "table",
        "t.media.parquet": "media-index",
        "x.media.parquet": "file",
        "t.table": "file",
    }


def _publish_legacy(store_dir: Path, entries: dict[str, dict[str, object]], name: str) -> None:
    """A version whose manifest is format 1 (no kinds), as releases before this one wrote."""
    store = fresh_store(store_dir)
    data = canonical_json({"format": 1, "entries": entries})
    digest = store.objects.put_bytes(data)
    content = hashlib.sha256(canonical_json(entries)).hexdigest()  # format 1's content digest
    store.catalog.publish(name, "t", digest, content, None, {}, 0, None, [])


def test_format_1_manifests_are_read_by_their_suffixes(store_dir: Path) -> None:
    art = dv.Artifact("new", type="t")
    art.add(_images(1), "t")
    art.add(dv.Classes([{"id": 0, "name": "x"}]), "c")
    dv.log_artifact(art)
    assert art.manifest is not None
    legacy = {k: {"digest": e.digest, "size": e.size} for k, e in art.manifest.entries.items()}
    _publish_legacy(store_dir, legacy, "old")
    old = dv.use_artifact("old:v0")
    assert old.entries() == ["c", "t"]
    assert old.get("t").get_column("id") == [0, 1, 2]
    assert old.get("c").to_json() == dv.Classes([{"id": 0, "name": "x"}]).to_json()
    assert old.manifest is not None
    assert old.manifest.entries["t.media.parquet"].kind == "media-index"
    # The same files logged again by this version are the same content: no second version.
    assert old.manifest.content_digest == art.manifest.content_digest
    _age_all(store_dir)
    dv.gc(grace_seconds=0)  # the legacy media index is still read: its images are kept
    assert dv.verify().ok
    assert len(dv.use_artifact("old:v0").get("t").get_column("img")) == 3


def test_an_unreadable_media_index_is_a_typed_error_and_gc_removes_nothing(
    store_dir: Path,
) -> None:
    art = dv.Artifact("a", type="t")
    art.add(_images(2), "t")
    dv.log_artifact(art)
    assert art.manifest is not None
    store = fresh_store(store_dir)
    junk = store.objects.put_bytes(b"not parquet")
    entries = {k: e.to_json() for k, e in art.manifest.entries.items()}
    entries["t.media.parquet"] = {"digest": junk, "size": 11, "kind": "media-index"}
    data = canonical_json({"format": 2, "entries": entries})
    store.catalog.publish("b", "t", store.objects.put_bytes(data), "x", None, {}, 0, None, [])
    before = sorted(fresh_store(store_dir).objects.iter_digests())
    _age_all(store_dir)
    with pytest.raises(dv.IntegrityError, match=r"b:v0 entry 't.media.parquet'.*media index"):
        dv.gc(grace_seconds=0)
    assert sorted(fresh_store(store_dir).objects.iter_digests()) == before
    report = dv.verify()
    assert not report.ok
    assert any("b:v0 entry 't.media.parquet'" in p for p in report.problems)


def test_a_manifest_kind_that_does_not_fit_its_name_is_corrupt(store_dir: Path) -> None:
    from dsviz_widget.artifacts._manifest import Manifest

    doc = {"format": 2, "entries": {"x": {"digest": "0" * 64, "size": 1, "kind": "table"}}}
    with pytest.raises(dv.IntegrityError, match=r"must be named '<name>\.table\.parquet'"):
        Manifest.from_bytes(json.dumps(doc).encode(), "crafted")
    doc["entries"]["x"]["kind"] = "bogus"  # type: ignore[index]
    with pytest.raises(dv.IntegrityError, match="unknown kind 'bogus'"):
        Manifest.from_bytes(json.dumps(doc).encode(), "crafted")
    with pytest.raises(dv.IntegrityError, match="newer dsviz_widget"):
        Manifest.from_bytes(b'{"format": 3, "entries": {}}', "crafted")
