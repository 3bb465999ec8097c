"""Issue 11: ``set_pk`` / ``set_fk`` are stored with a table, and a draft artifact has a
manifest, as W&B's do.

A table read back from an artifact keeps its primary key (the default key of ``JoinedTable``
and ``dv.compare``) and its foreign keys, each referring to the table read back from the
store. ``art.manifest`` of an artifact not logged yet lists what was added so far.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dsviz_widget as wandb
from dsviz_widget.artifacts._manifest import DraftManifest, Manifest


def _classes() -> wandb.Table:
    t = wandb.Table(columns=["class_id", "name"], data=[["c0", "car"], ["c1", "dog"]])
    t.set_pk("class_id")
    return t


def _samples(classes: wandb.Table) -> wandb.Table:
    t = wandb.Table(
        columns=["id", "class_id", "score"],
        data=[[0, "c0", 0.5], [1, "c1", 0.25], [2, "c0", 0.75]],
    )
    t.set_pk("id")
    t.set_fk("class_id", classes, "class_id")
    return t


def _log(name: str, **tables: wandb.Table) -> wandb.Artifact:
    art = wandb.Artifact(name, type="dataset")
    for entry, table in tables.items():
        art.add(table, entry)
    wandb.log_artifact(art)
    return wandb.use_artifact(f"{name}:latest")


# -- keys -----------------------------------------------------------------------------------
def test_keys_round_trip_through_an_artifact_holding_both_tables(store_dir: Path) -> None:
    classes = _classes()
    samples = _samples(classes)
    back = _log("ds", classes=classes, samples=samples)
    got = back.get("samples")
    assert got.primary_key == "id"
    assert list(got.foreign_keys) == ["class_id"]
    ref, column = got.foreign_keys["class_id"]
    assert column == "class_id"
    assert ref == back.get("classes") == classes
    assert ref.primary_key == "class_id"
    assert ref.origin is not None and ref.origin.entry == "classes"
    # The key's rule comes back too: a missing class id is refused, as before logging.
    with pytest.raises(TypeError):
        got.add_data(3, None, 0.1)


def test_a_referenced_table_not_added_is_stored_with_the_table(store_dir: Path) -> None:
    classes = _classes()
    back = _log("ds", samples=_samples(classes))
    assert back.entries() == ["samples"]  # stored as a part, not an entry of its own
    ref, column = back.get("samples").foreign_keys["class_id"]
    assert (ref, column) == (classes, "class_id")
    assert ref.to_pandas()["name"].tolist() == ["car", "dog"]


def test_a_key_to_a_logged_table_refers_to_its_version(store_dir: Path) -> None:
    logged = _log("labels", classes=_classes()).get("classes")
    back = _log("preds", samples=_samples(logged))
    assert back.manifest.entries.keys() == {"samples.table.parquet"}  # nothing copied
    ref, _ = back.get("samples").foreign_keys["class_id"]
    assert ref.origin is not None
    assert (ref.origin.artifact, ref.origin.version, ref.origin.entry) == ("labels", 0, "classes")


def test_a_borrowed_table_keeps_its_keys_and_a_new_key_is_stored(store_dir: Path) -> None:
    first = _log("ds", classes=_classes(), samples=_samples(_classes())).get("samples")
    copy = _log("copy", samples=first)
    assert copy.manifest.entries["samples.table.parquet"].ref == ("ds", 0)  # borrowed
    again = copy.get("samples")
    # Its stored key names "classes" in the version it was written in, ds:v0.
    assert again.foreign_keys["class_id"][0] == _classes()
    named = wandb.Table(columns=["name"], data=[["car"], ["dog"]])
    again.add_column("name", ["car", "dog", "car"])
    again.set_fk("name", named, "name")
    third_art = _log("third", samples=again)
    assert third_art.manifest.entries["samples.table.parquet"].ref is None  # written anew
    third = third_art.get("samples")
    assert sorted(third.foreign_keys) == ["class_id", "name"]
    assert third.foreign_keys["name"][0] == named


def test_a_set_fk_on_a_table_read_back_is_stored(store_dir: Path) -> None:
    back = _log("plain", t=wandb.Table(columns=["k"], data=[["c0"], ["c1"]])).get("t")
    assert back.foreign_keys == {}
    classes = _classes()
    back.set_fk("k", classes, "class_id")
    again = _log("plain", t=back).get("t")
    assert again.foreign_keys["k"] == (classes, "class_id")


def test_tables_read_back_join_and_compare_on_their_primary_key(store_dir: Path) -> None:
    v0 = wandb.Table(columns=["id", "pred"], data=[["a", 1], ["b", 2], ["c", 3]])
    v0.set_pk("id")
    v1 = wandb.Table(columns=["id", "pred"], data=[["c", 3], ["a", 1], ["b", 5]])
    v1.set_pk("id")
    a = _log("preds", t=v0).get("t")
    b = _log("preds", t=v1).get("t")
    assert (a.primary_key, b.primary_key) == ("id", "id")
    joined = wandb.JoinedTable(a, b)
    assert joined.join_key == "id"
    assert wandb.compare(a, b).query(filter="changed")["id"].tolist() == ["b"]


# -- draft manifests ------------------------------------------------------------------------
def test_a_draft_manifest_lists_what_was_added_with_sizes_and_digests(
    store_dir: Path, tmp_path: Path
) -> None:
    art = wandb.Artifact("draft", type="dataset")
    assert isinstance(art.manifest, DraftManifest)
    assert art.manifest.entries == {}
    (tmp_path / "notes.txt").write_text("hello")
    art.add_file(tmp_path / "notes.txt")
    img = wandb.Image(np.zeros((4, 4, 3), np.uint8))
    art.add(img, "sample")
    art.add(wandb.Table(columns=["a"], data=[[1]]), "table")
    with art.new_file("labels.txt") as f:
        f.write("car\n")
    draft = art.manifest.entries
    assert sorted(draft) == sorted(
        [
            "labels.txt",
            "notes.txt",
            "sample.image.json",
            f"media/{img.digest[:2]}/{img.digest}",
            "table.table.parquet",
        ]
    )
    assert (draft["notes.txt"].path, draft["notes.txt"].size) == ("notes.txt", 5)
    assert draft["table.table.parquet"].digest is None  # written when logged
    assert draft["table.table.parquet"].kind == "table"
    wandb.log_artifact(art)
    logged = art.manifest
    assert isinstance(logged, Manifest)
    # Every digest and size the draft knew is the one logged.
    for name, entry in draft.items():
        if entry.digest is not None:
            assert (entry.digest, entry.size) == (
                logged.entries[name].digest,
                logged.entries[name].size,
            )
    assert set(draft) <= set(logged.entries)


def test_a_draft_manifest_follows_replacements(store_dir: Path, tmp_path: Path) -> None:
    art = wandb.Artifact("draft", type="dataset")
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "b.txt").write_text("three")
    art.add_file(tmp_path / "a.txt", name="x.txt")
    before = art.manifest.entries["x.txt"].digest
    art.add_file(tmp_path / "b.txt", name="x.txt", overwrite=True)
    after = art.manifest.entries["x.txt"]
    assert after.size == 5 and after.digest != before
    ref = wandb.Artifact("refs", type="dataset")
    ref.add_reference((tmp_path / "a.txt").as_uri(), name="r.txt")
    entry = ref.manifest.entries["r.txt"]
    assert entry.source == (tmp_path / "a.txt").as_uri()
    assert entry.digest == before
