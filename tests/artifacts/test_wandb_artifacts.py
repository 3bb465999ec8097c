"""Issue 11 item 4: ``dv.Artifact`` behaves as W&B's documents ``wandb.Artifact``.

One test per behaviour, asserting what a user sees: files on disk with the right bytes,
errors that name the problem, attributes W&B code reads. Deviations are listed in
docs/wandb-compat.md ("Artifacts").
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import ArtifactEntry, ArtifactNotLoggedError
from tests._store_kinds import StoreKind

ROOT = Path(__file__).resolve().parents[2]


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _logged_files(tmp_path: Path) -> dv.Artifact:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("alpha")
    (tmp_path / "src" / "sub").mkdir()
    (tmp_path / "src" / "sub" / "b.bin").write_bytes(b"\x00\x01beta")
    art = dv.Artifact("raw", type="dataset")
    art.add_dir(tmp_path / "src")
    dv.log_artifact(art)
    return art


def _root_with_link(tmp_path: Path, name: str, target: Path) -> Path:
    """A download directory holding ``name``, a symbolic link to ``target`` outside it."""
    root = tmp_path / "out"
    root.mkdir()
    (root / name).symlink_to(target)
    return root


# -- download -------------------------------------------------------------------------------
def test_download_defaults_to_artifacts_name_version_under_the_working_directory(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _logged_files(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("DSVIZ_ARTIFACT_DIR", raising=False)
    monkeypatch.delenv("WANDB_ARTIFACT_DIR", raising=False)
    path = dv.use_artifact("raw:latest").download()
    assert Path(path) == work / "artifacts" / "raw:v0"
    assert _files(Path(path)) == {"a.txt": b"alpha", "sub/b.bin": b"\x00\x01beta"}


def test_download_honours_the_artifact_dir_variable(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _logged_files(tmp_path)
    monkeypatch.setenv("WANDB_ARTIFACT_DIR", str(tmp_path / "wb"))
    assert Path(dv.use_artifact("raw:v0").download()) == tmp_path / "wb" / "raw:v0"
    monkeypatch.setenv("DSVIZ_ARTIFACT_DIR", str(tmp_path / "dv"))
    assert Path(dv.use_artifact("raw:v0").download()) == tmp_path / "dv" / "raw:v0"


def test_download_to_a_root_returns_it_and_writes_every_entry(
    store_location: StoreKind, tmp_path: Path
) -> None:
    art = _logged_files(tmp_path)
    out = art.download(root=tmp_path / "out")
    assert out == str(tmp_path / "out")
    assert _files(tmp_path / "out") == {"a.txt": b"alpha", "sub/b.bin": b"\x00\x01beta"}


def test_a_table_downloads_as_its_parquet_file_its_wandb_json_and_media(
    store_location: StoreKind, tmp_path: Path
) -> None:
    img = dv.Image(np.full((4, 4, 3), 7, np.uint8))
    table = dv.Table(("id", "image"), data=[[0, img], [1, img]])
    art = dv.Artifact("tbl", type="dataset")
    art.add(table, "dataset")
    dv.log_artifact(art)
    root = Path(dv.use_artifact("tbl:v0").download(tmp_path / "d"))
    names = sorted(_files(root))
    # dataset.table.json and media/images/: W&B's layout (tests/artifacts/test_wandb_table_json)
    assert names == [
        "dataset.media.parquet",
        "dataset.table.json",
        "dataset.table.parquet",
        f"media/{img.digest[:2]}/{img.digest}",
        f"media/images/{img.digest}.png",
    ]
    assert pq.read_table(root / "dataset.table.parquet").column("id").to_pylist() == [0, 1]
    media = root / "media" / img.digest[:2] / img.digest
    assert hashlib.sha256(media.read_bytes()).hexdigest() == img.digest


def test_download_twice_keeps_files_and_repairs_a_changed_one(
    store_location: StoreKind, tmp_path: Path
) -> None:
    art = _logged_files(tmp_path)
    root = Path(art.download(tmp_path / "out"))
    before = (root / "a.txt").stat().st_ino
    extra = root / "mine.txt"
    extra.write_text("not in the artifact")
    (root / "sub" / "b.bin").write_bytes(b"edited")
    art.download(root)
    assert (root / "a.txt").stat().st_ino == before  # right bytes already: left as it is
    assert (root / "sub" / "b.bin").read_bytes() == b"\x00\x01beta"  # changed: rewritten
    assert extra.read_text() == "not in the artifact"  # other files are left alone
    assert not [p for p in root.rglob("*.part")]


def test_download_path_prefix_keeps_only_entries_under_it(store_dir: Path, tmp_path: Path) -> None:
    art = _logged_files(tmp_path)
    root = Path(art.download(tmp_path / "out", path_prefix="sub/"))
    assert _files(root) == {"sub/b.bin": b"\x00\x01beta"}


def test_download_does_not_follow_a_link_planted_under_the_root(
    store_dir: Path, tmp_path: Path
) -> None:
    art = _logged_files(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = _root_with_link(tmp_path, "sub", elsewhere)
    with pytest.raises(dv.UnsafePathError, match=r"sub is a symbolic link.*entry 'sub/b\.bin'"):
        art.download(root)
    assert list(elsewhere.iterdir()) == []


def test_download_replaces_a_link_at_a_file_name_instead_of_writing_through_it(
    store_dir: Path, tmp_path: Path
) -> None:
    art = _logged_files(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    root = _root_with_link(tmp_path, "a.txt", victim)
    art.download(root)
    assert victim.read_text() == "keep me"
    assert not (root / "a.txt").is_symlink() and (root / "a.txt").read_text() == "alpha"


def test_download_names_an_entry_whose_stored_file_is_damaged(
    store_location: StoreKind, tmp_path: Path
) -> None:
    art = _logged_files(tmp_path)
    entry = art.get_entry("a.txt")
    store_location.damage(entry.digest, b"alphx")
    with pytest.raises(dv.IntegrityError, match=r"raw:v0 entry 'a\.txt'.*corrupt"):
        art.download(tmp_path / "out")
    assert not (tmp_path / "out" / "a.txt").exists()
    assert not list((tmp_path / "out").rglob("*.part"))


def test_download_rechecks_entry_names_at_write_time(store_dir: Path, tmp_path: Path) -> None:
    from dsviz_widget.artifacts._download import write_entry

    art = _logged_files(tmp_path)
    assert art.manifest is not None
    entry = art.manifest.entries["a.txt"]
    store = dv.artifacts.open_store(store_dir)
    for bad in ("../escape.txt", "/abs.txt", "a/./b"):
        with pytest.raises(dv.UnsafePathError):
            write_entry(store.objects, bad, entry, tmp_path / "out", "raw:v0")
    assert not (tmp_path / "escape.txt").exists()


def test_download_before_logging_is_an_error(store_dir: Path) -> None:
    art = dv.Artifact("draft", type="dataset")
    with pytest.raises(ArtifactNotLoggedError, match=r"'Artifact\.download' used prior to logging"):
        art.download()
    with pytest.raises(AttributeError):  # W&B's ArtifactNotLoggedError is one too
        art.get_entry("x")


# -- entries ----------------------------------------------------------------------------------
def test_get_entry_gives_path_digest_size_and_downloads_one_file(
    store_location: StoreKind, tmp_path: Path
) -> None:
    art = dv.use_artifact(_logged_files(tmp_path).qualified_name)
    entry = art.get_entry("sub/b.bin")
    assert isinstance(entry, ArtifactEntry)
    assert entry.path == entry.name == "sub/b.bin"
    assert entry.digest == hashlib.sha256(b"\x00\x01beta").hexdigest()
    assert entry.size == 6 and entry.ref is None
    path = entry.download(tmp_path / "one")
    assert path == str(tmp_path / "one" / "sub" / "b.bin")
    assert _files(tmp_path / "one") == {"sub/b.bin": b"\x00\x01beta"}
    assert art.get_path("sub/b.bin") == entry  # W&B's older name


def test_get_entry_finds_an_object_by_the_name_it_was_added_under(store_dir: Path) -> None:
    art = dv.Artifact("obj", type="dataset")
    art.add(dv.Table(columns=["a"], data=[[1]]), "t")
    dv.log_artifact(art)
    assert art.get_entry("t").path == "t.table.parquet"
    assert art.get_entry("t.table.parquet").path == "t.table.parquet"


def test_get_entry_of_a_missing_name_is_a_key_error_listing_entries(
    store_dir: Path, tmp_path: Path
) -> None:
    art = _logged_files(tmp_path)
    with pytest.raises(
        KeyError, match=r"raw:v0 has no entry 'nope'.*files: \['a\.txt', 'sub/b\.bin'\]"
    ):
        art.get_entry("nope")


def test_get_of_a_missing_name_is_none_as_in_wandb(store_dir: Path, tmp_path: Path) -> None:
    art = _logged_files(tmp_path)
    assert art.get("nope") is None
    assert art["nope"] is None
    draft = dv.Artifact("draft", type="t")
    with pytest.raises(ArtifactNotLoggedError, match=r"'Artifact\.get' used prior to logging"):
        draft.get("nope")
    with pytest.raises(ArtifactNotLoggedError, match=r"'Artifact\.get' used prior to logging"):
        draft["nope"]


def test_file_downloads_the_one_file_of_a_single_file_artifact(
    store_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(b"weights")
    art = dv.Artifact("model", type="model")
    art.add_file(src)
    dv.log_artifact(art)
    assert Path(art.file(tmp_path / "m")).read_bytes() == b"weights"
    with pytest.raises(dv.ValidationError, match="holds 2 files"):
        _logged_files(tmp_path).file()


def _referencing(
    tmp_path: Path, file: str, text: str, artifact: str, **kw: object
) -> tuple[dv.Artifact, Path]:
    """A new artifact holding a ``file://`` reference to a new file ``file`` of ``text``."""
    src = tmp_path / file
    src.write_text(text)
    art = dv.Artifact(artifact, type="dataset")
    art.add_reference(src.as_uri(), **kw)  # type: ignore[arg-type]
    return art, src


# -- references -------------------------------------------------------------------------------
def test_a_file_reference_is_stored_and_reads_back_after_the_source_is_gone(
    store_location: StoreKind, tmp_path: Path
) -> None:
    art, src = _referencing(tmp_path, "data.csv", "id,label\n0,car\n", "ref")
    dv.log_artifact(art)
    src.unlink()
    entry = dv.use_artifact("ref:v0").get_entry("data.csv")
    assert entry.ref == src.as_uri() and entry.ref_target() == src.as_uri()
    assert Path(entry.download(tmp_path / "out")).read_text() == "id,label\n0,car\n"
    assert dv.verify().ok


def test_a_directory_reference_adds_one_entry_per_file_under_its_name(
    store_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "imgs" / "x").mkdir(parents=True)
    (tmp_path / "imgs" / "1.png").write_bytes(b"one")
    (tmp_path / "imgs" / "x" / "2 b.png").write_bytes(b"two")
    art = dv.Artifact("refdir", type="dataset")
    art.add_reference((tmp_path / "imgs").as_uri(), name="images")
    dv.log_artifact(art)
    assert art.entries() == ["images/1.png", "images/x/2 b.png"]
    assert art.get_entry("images/x/2 b.png").ref == (tmp_path / "imgs").as_uri() + "/x/2%20b.png"
    assert _files(Path(art.download(tmp_path / "out"))) == {
        "images/1.png": b"one",
        "images/x/2 b.png": b"two",
    }


def test_a_reference_changed_before_logging_fails_naming_the_entry(
    store_dir: Path, tmp_path: Path
) -> None:
    art, src = _referencing(tmp_path, "labels.txt", "car", "drift", name="labels.txt")
    src.write_text("person")
    with pytest.raises(
        dv.IntegrityError,
        match=r"reference 'labels\.txt' \(file://.*\) changed since add_reference",
    ):
        dv.log_artifact(art)
    assert art.is_draft()
    with pytest.raises(dv.NotFoundError):
        dv.use_artifact("drift:latest")


def test_a_reference_without_checksum_logs_the_bytes_at_logging(
    store_dir: Path, tmp_path: Path
) -> None:
    art, src = _referencing(tmp_path, "labels.txt", "car", "nosum", checksum=False)
    src.write_text("person")
    dv.log_artifact(art)
    assert Path(art.get_entry("labels.txt").download(tmp_path / "o")).read_text() == "person"


def test_max_objects_bounds_a_directory_reference(store_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "many").mkdir()
    for i in range(3):
        (tmp_path / "many" / f"{i}.txt").write_text(str(i))
    art = dv.Artifact("many", type="dataset")
    with pytest.raises(dv.ValidationError, match="more than 2 files; pass a larger max_objects"):
        art.add_reference((tmp_path / "many").as_uri(), max_objects=2)
    assert art.entries() == []
    art.add_reference((tmp_path / "many").as_uri(), max_objects=3)
    assert art.entries() == ["0.txt", "1.txt", "2.txt"]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://bucket/key", r"s3:// references are not supported yet.*object-store"),
        ("gs://bucket/key", r"gs:// references are not supported yet"),
        ("https://example.com/x.csv", r"never fetches over the network"),
        ("data/x.csv", r"references must be URIs.*file://"),
        ("file://otherhost/x.csv", r"names the host 'otherhost'"),
        ("ftp://example.com/x", r"only file:// URIs are supported"),
    ],
)
def test_references_other_than_local_files_are_refused(
    uri: str, message: str, store_dir: Path
) -> None:
    with pytest.raises(dv.ValidationError, match=message):
        dv.Artifact("r", type="t").add_reference(uri)


def test_a_reference_to_nothing_is_not_found(store_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(dv.NotFoundError, match="is not a file or directory"):
        dv.Artifact("r", type="t").add_reference((tmp_path / "missing").as_uri())


def test_a_link_inside_a_referenced_directory_is_refused(store_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "secret").write_text("x")
    (tmp_path / "d" / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(dv.ValidationError, match="refusing symbolic link"):
        dv.Artifact("r", type="t").add_reference((tmp_path / "d").as_uri())


def test_reference_versions_are_read_by_a_new_process(
    store_location: StoreKind, tmp_path: Path
) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("hello")
    art = dv.Artifact("proc", type="raw", metadata={"k": 1}, description="d")
    art.add_reference(src.as_uri())
    dv.log_artifact(art)
    src.unlink()
    script = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
import dsviz_widget as dv
dv.init(**{store_location.kwargs!r})
art = dv.use_artifact("proc:latest", type="raw")
entry = art.get_entry("notes.txt")
out = open(entry.download({str(tmp_path / "child")!r})).read()
print(json.dumps([art.name, art.version, art.metadata, art.description, art.digest, art.id, entry.ref, out]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == ["proc:v0", "v0", {"k": 1}, "d", art.digest, art.id, src.as_uri(), "hello"]


def test_manifests_without_sources_still_read(store_dir: Path, tmp_path: Path) -> None:
    from dsviz_widget.artifacts._manifest import Manifest

    art, src = _referencing(tmp_path, "f.txt", "x", "src")
    dv.log_artifact(art)
    assert art.manifest is not None
    raw = json.loads(art.manifest.to_bytes())
    assert raw["format"] == 2 and raw["entries"]["f.txt"]["source"] == src.as_uri()
    del raw["entries"]["f.txt"]["source"]  # as written before references existed
    old = Manifest.from_bytes(json.dumps(raw).encode(), "old")
    assert old.entries["f.txt"].source is None
    assert old.content_digest == art.manifest.content_digest  # the source is not content


# -- building ---------------------------------------------------------------------------------
def test_add_under_a_used_name_is_an_error_unless_overwrite(store_dir: Path) -> None:
    art = dv.Artifact("ow", type="t")
    first, second = dv.Table(columns=["a"], data=[[1]]), dv.Table(columns=["a"], data=[[2]])
    art.add(first, "t")
    art.add(first, "t")  # the same object again: nothing changes
    with pytest.raises(ValueError, match="already has an entry named 't'; pass overwrite=True"):
        art.add(second, "t")
    art.add(second, "t", overwrite=True)
    dv.log_artifact(art)
    assert art.get("t").get_column("a") == [2]


def test_setitem_and_getitem_add_and_get(store_dir: Path) -> None:
    art = dv.Artifact("items", type="t")
    art["classes"] = dv.Classes([{"id": 0, "name": "car"}])
    dv.log_artifact(art)
    back = dv.use_artifact("items:v0")
    assert back["classes"].to_json() == [{"id": 0, "name": "car"}]


def test_new_file_adds_what_was_written(store_location: StoreKind, tmp_path: Path) -> None:
    art = dv.Artifact("nf", type="t")
    with art.new_file("cfg/labels.txt") as f:
        f.write("car\nperson\n")
    with art.new_file("blob.bin", mode="wb") as f:
        f.write(b"\x00\xff")
    with (
        pytest.raises(ValueError, match=r"already has an entry named 'cfg/labels\.txt'"),
        art.new_file("cfg/labels.txt") as f,
    ):
        f.write("again")
    with art.new_file("cfg/labels.txt", mode="w") as f:  # "w" replaces
        f.write("bus\n")
    with pytest.raises(RuntimeError), art.new_file("failed.txt") as f:
        f.write("half")
        raise RuntimeError("boom")
    dv.log_artifact(art)
    assert _files(Path(art.download(tmp_path / "o"))) == {
        "blob.bin": b"\x00\xff",
        "cfg/labels.txt": b"bus\n",
    }


def test_add_file_and_add_dir_clash_unless_overwrite_or_merge(
    store_dir: Path, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("A")
    b.write_text("B")
    art = dv.Artifact("clash2", type="t")
    art.add_file(a, "x.txt")
    art.add_file(a, "x.txt")  # the same file again is fine
    with pytest.raises(ValueError, match=r"already has an entry named 'x\.txt'"):
        art.add_file(b, "x.txt")
    art.add_file(b, "x.txt", overwrite=True)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_text("D")
    with pytest.raises(ValueError, match=r"already has an entry named 'x\.txt'"):
        art.add_dir(tmp_path / "d")
    art.add_dir(tmp_path / "d", merge=True)
    dv.log_artifact(art)
    assert Path(art.get_entry("x.txt").download(tmp_path / "o")).read_text() == "D"


def test_save_logs_without_a_run_and_wait_returns_the_artifact(
    store_location: StoreKind, tmp_path: Path
) -> None:
    assert dv.run is None
    src = tmp_path / "s.txt"
    src.write_text("saved")
    art = dv.Artifact("saved", type="t")
    art.add_file(src)
    with pytest.raises(ArtifactNotLoggedError):
        art.wait()
    art.save()
    assert art.wait() is art
    assert dv.run is None  # no run was started
    assert dv.use_artifact("saved:v0").get("s.txt").read_text() == "saved"
    art.save()  # saving a logged version again changes nothing
    art.metadata["late"] = True
    with pytest.raises(dv.ImmutableError, match="not supported yet"):
        art.save()


def test_use_artifact_type_must_match(store_dir: Path, tmp_path: Path) -> None:
    _logged_files(tmp_path)
    assert dv.use_artifact("raw:v0", type="dataset").type == "dataset"
    with pytest.raises(ValueError, match="artifact 'raw' has type 'dataset', not 'model'"):
        dv.use_artifact("raw:v0", type="model")


# -- attributes -------------------------------------------------------------------------------
def test_attributes_before_and_after_logging(store_dir: Path, tmp_path: Path) -> None:
    art = dv.Artifact("attrs", type="dataset", description="cars", metadata={"n": 2})
    art.add(dv.Table(columns=["a"], data=[[1], [2]]), "t")
    assert (art.name, art.state, art.id, art.digest) == ("attrs", "PENDING", None, None)
    assert art.is_draft()
    for attr in ("version", "aliases", "file_count", "created_at", "updated_at"):
        with pytest.raises(ArtifactNotLoggedError, match=f"'Artifact.{attr}' used prior to"):
            getattr(art, attr)
    dv.log_artifact(art, aliases=["best"])
    assert (art.name, art.source_name, art.qualified_name) == ("attrs:v0",) * 3
    assert art.version == "v0" and art.version_index == 0
    assert art.state == "COMMITTED" and not art.is_draft()
    assert art.aliases == ["latest", "best"] and art.type == "dataset"
    assert art.description == "cars" and art.metadata == {"n": 2}
    assert len(art.digest or "") == 64 and len(art.id or "") == 32
    assert art.size and art.size > 0 and art.file_count == 1
    assert art.created_at and art.created_at.endswith("Z") and art.updated_at == art.created_at
    assert art.manifest is not None and list(art.manifest.entries) == ["t.table.parquet"]
    assert art.source_version == "v0"
    again = dv.use_artifact("attrs:best")
    assert (again.id, again.digest, again.name) == (art.id, art.digest, "attrs:v0")


def test_the_digest_is_the_content_same_files_same_digest(
    store_location: StoreKind, tmp_path: Path
) -> None:
    def log(name: str, value: int) -> dv.Artifact:
        art = dv.Artifact(name, type="t")
        art.add(dv.Table(columns=["a"], data=[[value]]), "t")
        return dv.log_artifact(art)

    a, b, c = log("one", 1), log("two", 1), log("one", 2)
    assert a.digest == b.digest != c.digest
    assert a.id != b.id  # two versions, two ids


def test_incremental_is_refused(store_dir: Path) -> None:
    with pytest.raises(dv.ValidationError, match="incremental artifacts are not supported"):
        dv.Artifact("inc", type="t", incremental=True)
    assert dv.Artifact("ok", type="t", use_as="x", storage_region="r").name == "ok"


def test_metadata_must_be_json_when_logged(store_dir: Path) -> None:
    art = dv.Artifact("meta", type="t")
    art.add(dv.Table(columns=["a"], data=[[1]]), "t")
    art.metadata["bad"] = object()
    with pytest.raises(dv.ValidationError, match="metadata must be JSON-like"):
        dv.log_artifact(art)
    art.metadata = {"ok": [1, 2]}
    dv.log_artifact(art)
    assert dv.use_artifact("meta:v0").metadata == {"ok": [1, 2]}


def test_downloaded_files_are_private_copies(store_dir: Path, tmp_path: Path) -> None:
    art = _logged_files(tmp_path)
    root = Path(art.download(tmp_path / "out"))
    (root / "a.txt").write_text("changed by the user")  # writable, and not the store's file
    assert dv.verify().ok
    assert (
        Path(dv.use_artifact("raw:v0").get_entry("a.txt").download(tmp_path / "b")).read_text()
        == "alpha"
    )
    assert os.access(root / "a.txt", os.W_OK)


# -- W&B's own checks on drafts and names (its unit tests' behaviour) -------------------------
@pytest.mark.parametrize("attr", ["entity", "project", "ttl", "verify", "files", "used_by"])
def test_wandb_only_attributes_say_not_logged_before_and_unsupported_after(
    store_dir: Path, attr: str
) -> None:
    art = dv.Artifact("wonly", type="dataset")
    with pytest.raises(ArtifactNotLoggedError, match=f"'Artifact.{attr}' used prior to logging"):
        getattr(art, attr)
    art.add(dv.Table(columns=["a"], data=[[1]]), "t")
    dv.log_artifact(art)
    with pytest.raises(AttributeError, match="not supported by dsviz_widget") as err:
        getattr(art, attr)
    assert not isinstance(err.value, ArtifactNotLoggedError)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = art.nonsense


@pytest.mark.parametrize("kind", ["job", "wandb-history", "wandb-foo"])
def test_reserved_artifact_types_are_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="reserved for internal use"):
        dv.Artifact("x", type=kind)


@pytest.mark.parametrize("bad", ["../test.txt", "/test.txt", r"C:\test.txt"])
def test_unsafe_names_say_invalid_artifact_path(tmp_path: Path, bad: str) -> None:
    src = tmp_path / "test.txt"
    src.write_text("hello")
    art = dv.Artifact("paths", type="dataset")
    with pytest.raises(ValueError, match="Invalid artifact path"):
        art.add_file(str(src), name=bad)
    with pytest.raises(ValueError, match="Invalid artifact path"), art.new_file(bad) as f:
        f.write("test")
