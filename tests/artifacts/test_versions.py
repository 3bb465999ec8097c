"""Versions, aliases, dedup, immutability and errors for unknown names, in every kind of
store (``store_location``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dsviz_widget as dv
from tests._store_kinds import StoreKind


def table(*values: int) -> dv.Table:
    return dv.Table(columns=["x"], data=[[v] for v in values])


def log(
    values: tuple[int, ...], aliases: list[str] | None = None, name: str = "data"
) -> dv.Artifact:
    art = dv.Artifact(name, type="dataset", description="d", metadata={"k": 1})
    art.add(table(*values), "t")
    return dv.log_artifact(art, aliases=aliases)


def test_versions_count_up_and_equal_content_makes_no_new_version(
    store_location: StoreKind,
) -> None:
    assert log((1,)).version == "v0"
    assert log((1, 2)).version == "v1"
    again = log((1, 2), aliases=["best"])
    assert again.version == "v1"  # same content as the latest: no v2
    assert log((1,)).version == "v2"  # same as v0 but not as the latest: a new version
    assert dv.use_artifact("data:best").version == "v1"
    assert dv.use_artifact("data:latest").version == "v2"
    assert dv.use_artifact("data").version == "v2"
    assert dv.use_artifact("data:v0").get("t") == table(1)
    v2 = dv.use_artifact("data:v2")
    assert v2.aliases == ["latest"] and v2.description == "d" and v2.metadata == {"k": 1}


def test_aliases_move_to_the_newest_version_given_them(store_location: StoreKind) -> None:
    log((1,), aliases=["best", "prod"])
    log((2,), aliases=["best"])
    assert dv.use_artifact("data:best").version == "v1"
    assert dv.use_artifact("data:prod").version == "v0"
    with pytest.raises(dv.ValidationError, match="reserved"):
        log((3,), aliases=["latest"])
    with pytest.raises(dv.ValidationError, match="reserved"):
        log((3,), aliases=["v7"])


def test_logged_versions_are_immutable(store_location: StoreKind) -> None:
    art = log((1,))
    with pytest.raises(dv.ImmutableError, match=r"data:v0 is logged and cannot change"):
        art.add(table(5), "other")
    used = dv.use_artifact("data:v0")
    with pytest.raises(dv.ImmutableError):
        used.add_file(__file__)
    with pytest.raises(dv.ImmutableError):
        dv.log_artifact(used)


def test_unknown_names_versions_aliases_and_entries(store_location: StoreKind) -> None:
    log((1,))
    with pytest.raises(
        dv.NotFoundError, match="no artifact named 'dat' in the store; did you mean 'data'"
    ):
        dv.use_artifact("dat:v0")
    with pytest.raises(
        dv.NotFoundError, match=r"artifact 'data' has no version v9 \(versions: v0..v0\)"
    ):
        dv.use_artifact("data:v9")
    with pytest.raises(dv.NotFoundError, match="has no version or alias 'nope'"):
        dv.use_artifact("data:nope")
    assert dv.use_artifact("data:v0").get("tt") is None  # as W&B's get
    with pytest.raises(dv.NotFoundError, match=r"data:v0 has no entry 'tt' \(objects: \['t'\]"):
        dv.use_artifact("data:v0").get_entry("tt")


def test_type_of_a_name_is_fixed(store_location: StoreKind) -> None:
    log((1,))
    art = dv.Artifact("data", type="model")
    art.add(table(2), "t")
    with pytest.raises(
        dv.ValidationError, match="has type 'dataset'; cannot log a version of type 'model'"
    ):
        dv.log_artifact(art)


def test_identical_files_are_stored_once(store_location: StoreKind) -> None:
    log((1, 2, 3), name="a")
    before = store_location.digests()
    log((1, 2, 3), name="b")  # same table under another name: even the manifest is shared
    assert store_location.digests() == before
    assert dv.use_artifact("b:v0").get("t") == table(1, 2, 3)


def test_store_root_from_init_then_env(tmp_path: Path, store_dir: Path) -> None:
    other = tmp_path / "elsewhere"
    with dv.init(project="p", dir=other) as run:
        art = dv.Artifact("x", type="t")
        art.add(table(1), "t")
        run.log_artifact(art)
    assert (other / "catalog.sqlite").is_file()
    assert os.environ["DSVIZ_DIR"] == str(store_dir)
    log((1,))
    assert (store_dir / "catalog.sqlite").is_file()


def test_long_saves_show_a_progress_bar_quick_ones_stay_silent(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log((1, 2, 3), name="quick")
    assert "writing" not in capsys.readouterr().err  # under the one-second delay: silent
    monkeypatch.setenv("DSVIZ_PROGRESS_DELAY", "0")
    log(tuple(range(1000)), name="slow")
    err = capsys.readouterr().err
    assert "writing 't'" in err and "/1000" in err
