"""Item 4 of issue 6: one flipped byte in a random stored file.

A store holds versions with every kind of stored file: manifests, table Parquet files, media
indexes (Parquet), image / mask / audio files, JSON descriptions (image, audio, classes,
joined table) and a plain file. Each trial flips one bit pattern (XOR 1..255) at a random offset
of one stored file, chosen round-robin by kind and at random within the kind, then, from a new
``Store`` object (nothing verified yet, as a new process):

- ``verify()`` is not ok and every problem it reports names the damaged file (its digest);
- loading every entry of every version that uses the file, all the way down to the pixels,
  samples and mask arrays, raises ``dv.IntegrityError`` -- anything that loads without error
  equals what was logged (never wrong data). A media index (``*.media.parquet``) is not read
  to load a table (rows name their media by digest); it is what ``gc`` reads to know which
  media a table keeps, so for it ``gc`` must raise ``IntegrityError`` and remove nothing.

The byte is flipped back after each trial. Default 150 trials; ``DSVIZ_LONG=1`` 500.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dsviz_widget as dv
from tests.reliability._common import fresh_store, make_table, pick
from tests.reliability.test_save_faults import _record

TRIALS = pick(150, 500)


def _entries() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    classes = dv.Classes([{"id": 0, "name": "sky"}, {"id": 1, "name": "tree"}])
    image = dv.Image(
        rng.integers(0, 256, (20, 24, 3), dtype=np.uint8),
        classes=classes,
        masks={"gt": {"mask_data": rng.integers(0, 2, (20, 24), dtype=np.uint8)}},
        caption="single",
    )
    audio = dv.Audio(np.sin(np.linspace(0, 40, 4000)).astype(np.float32), sample_rate=8000)
    left = dv.Table(columns=["id", "a"], data=[[i, f"a{i}"] for i in range(20)])
    right = dv.Table(columns=["id", "b"], data=[[i, float(i) / 3] for i in range(20)])
    return {
        "table": make_table(3, rows=40),
        "single": image,
        "clip": audio,
        "classes": classes,
        "joined": dv.JoinedTable(left, right, "id"),
    }


def _deep(obj: Any) -> Any:
    """Everything a user could read from ``obj``, down to pixels, masks and samples."""
    if isinstance(obj, dv.Table):
        out = {}
        for name in obj.columns:
            out[name] = [_deep(v) for v in obj.get_column(name)]
        return out
    if isinstance(obj, dv.JoinedTable):
        return (_deep(obj.table1), _deep(obj.table2), obj.join_key)
    if isinstance(obj, dv.Image):
        masks = {g: np.asarray(m["mask_data"]).tobytes() for g, m in (obj.masks or {}).items()}
        return (
            "image",
            obj.to_numpy().tobytes(),
            obj.to_bytes(),
            masks,
            obj.boxes,
            obj.caption,
            obj.classes.to_json() if obj.classes else None,
        )
    if isinstance(obj, dv.Audio):
        return ("audio", obj.to_numpy().tobytes(), obj.to_bytes(), obj.sample_rate)
    if isinstance(obj, dv.Classes):
        return ("classes", obj.to_json())
    if isinstance(obj, Path):
        return ("file", obj.read_bytes())
    if isinstance(obj, np.ndarray):
        return obj.tobytes()
    return obj


def _kind(entry: str) -> str:
    for suffix in (".table.parquet", ".media.parquet", ".json"):
        if entry.endswith(suffix):
            return suffix.lstrip(".")
    return "media file" if entry.startswith("media/") else "plain file"


def _flip(path: Path, rng: random.Random) -> tuple[int, int]:
    data = bytearray(path.read_bytes())
    offset, mask = rng.randrange(len(data)), rng.randrange(1, 256)
    data[offset] ^= mask
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
    return offset, mask


def _unflip(path: Path, offset: int, mask: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))
    os.chmod(path, 0o444)


@pytest.mark.slow
def test_one_flipped_byte_is_always_found_and_never_read(store_dir: Path) -> None:
    from dsviz_widget.artifacts import _serialize, open_store

    entries = _entries()
    scratch = store_dir.parent / "files"
    scratch.mkdir()
    (scratch / "notes.txt").write_bytes(b"plain file content\n" * 50)
    expected: dict[str, Any] = {}
    for version in range(2):  # v1 borrows nothing but shares media with v0 (dedup)
        art = dv.Artifact("corpus", type="dataset", metadata={"v": version})
        for name, obj in entries.items():
            art.add(obj, name)
        art.add_file(scratch / "notes.txt", "notes.txt")
        art.add(make_table(100 + version, rows=10), "extra")
        dv.log_artifact(art)
        for name in art.entries():
            expected[f"v{version}/{name}"] = _deep(art.get(name))
    dv.finish()

    # Which stored files exist, by kind, and which user-level names read each of them.
    store = open_store(store_dir)
    by_kind: dict[str, set[str]] = {}
    for _, _, manifest_digest in store.catalog.manifests():
        by_kind.setdefault("manifest", set()).add(manifest_digest)
    for row in store.catalog.versions("corpus"):
        manifest = store.manifest(row)
        for entry, e in manifest.entries.items():
            by_kind.setdefault(_kind(entry), set()).add(e.digest)
    kinds = sorted(by_kind)
    assert {
        "manifest",
        "table.parquet",
        "media.parquet",
        "json",
        "media file",
        "plain file",
    } <= set(kinds)

    rng = random.Random(int(os.environ.get("DSVIZ_SEED", time.time_ns())))
    stats: Counter[str] = Counter()
    started = time.perf_counter()
    for trial in range(TRIALS):
        kind = kinds[trial % len(kinds)]
        digest = rng.choice(sorted(by_kind[kind]))
        path = store.objects.path(digest)
        offset, mask = _flip(path, rng)
        try:
            fresh = fresh_store(store_dir)
            report = fresh.verify()
            assert not report.ok, f"{kind} {digest[:12]}: byte {offset} ^ {mask} not detected"
            assert all(digest in p for p in report.problems), (kind, report.problems)
            errors = 0
            for row in fresh.catalog.versions("corpus"):
                try:
                    for key in [n for n in expected if n.startswith(f"v{row.version}/")]:
                        name = key.split("/", 1)[1]
                        try:
                            value = _deep(_serialize.read(fresh, row, name))
                        except dv.IntegrityError:
                            errors += 1
                            continue
                        assert value == expected[key], f"{key} returned wrong data ({kind})"
                except dv.IntegrityError:  # the manifest itself
                    errors += 1
            if kind == "media.parquet":
                # The media index is not read to load a table (rows name their media by
                # digest); it tells gc what the table's media are, so gc must refuse to run.
                before = sorted(p.name for p in (store_dir / "objects").rglob("*") if p.is_file())
                with pytest.raises(dv.IntegrityError):
                    fresh_store(store_dir).gc(grace_seconds=0)
                after = sorted(p.name for p in (store_dir / "objects").rglob("*") if p.is_file())
                assert before == after, "gc removed files while the media index was damaged"
                stats["gc refused (media index damaged)"] += 1
            else:
                assert errors, f"{kind} {digest[:12]} damaged but every load succeeded"
            stats[kind] += 1
        finally:
            _unflip(path, offset, mask)
    assert fresh_store(store_dir).verify().ok
    figures = {
        "trials": TRIALS,
        "detected_by_verify": TRIALS,
        "loads_raising_IntegrityError": "all",
        "by_kind": dict(stats),
        "seconds": round(time.perf_counter() - started, 2),
    }
    _record("corruption", figures)
    print(f"\n{figures}")


@pytest.mark.parametrize("what", ["manifest", "table"])
def test_a_new_process_sees_damage_done_after_this_one_verified(what: str, store_dir: Path) -> None:
    """Damage done in place *after* a process verified a file (and stamped it) is seen by
    new processes (and new Store objects): the edit moved the file's ctime."""
    art = dv.Artifact("cached", type="t")
    art.add(dv.Table(columns=["x"], data=[[1], [2]]), "t")
    dv.log_artifact(art)
    assert dv.verify().ok
    assert art.manifest is not None
    digest = (
        art.manifest.entries["t.table.parquet"].digest
        if what == "table"
        else dv.use_artifact("cached:v0")._row.manifest
    )  # type: ignore[union-attr]
    path = fresh_store(store_dir).objects.path(digest)
    offset, mask = _flip(path, random.Random(1))
    report = fresh_store(store_dir).verify()
    assert not report.ok and digest in report.problems[0]
    _unflip(path, offset, mask)
