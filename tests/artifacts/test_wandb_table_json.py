"""Issue 11: ``artifact.download()`` gives W&B's ``<name>.table.json`` beside our Parquet.

W&B code reads a downloaded table as JSON (``columns``, ``data``; images as dicts whose
``path`` names a file of the download). These tests read the JSON as such code does and
compare it with the table itself: values through pandas, pixels through Pillow.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image as PILImage

import dsviz_widget as wandb
from dsviz_widget.artifacts._table_json import MAX_JSON_CELLS


def _picture(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)


def _mask(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 3, (6, 8), dtype=np.uint8)


def _box(cls: int) -> dict[str, object]:
    return {"position": {"minX": 1, "maxX": 4, "minY": 0, "maxY": 3}, "class_id": cls}


def _dataset() -> wandb.Table:
    images = [
        wandb.Image(
            _picture(i),
            caption=f"sample {i}",
            boxes={"pred": {"box_data": [_box(i % 2)], "class_labels": {0: "car", 1: "dog"}}},
            masks={"seg": {"mask_data": _mask(i), "class_labels": {0: "bg", 1: "road", 2: "sky"}}},
        )
        for i in range(3)
    ]
    table = wandb.Table(columns=["id", "score", "label", "ok", "tags", "meta", "when", "image"])
    for i, img in enumerate(images):
        table.add_data(
            f"id{i}",
            [0.5, float("nan"), 2.25][i],
            ["cat", "dog", None][i],
            i % 2 == 0,
            [i, i + 1],
            {"k": i},
            dt.datetime(2024, 5, 1, 12, i, tzinfo=dt.timezone.utc),
            img,
        )
    return table


def _download(tmp_path: Path, table: wandb.Table, name: str = "samples") -> Path:
    art = wandb.Artifact("ds", type="dataset")
    art.add(table, name)
    wandb.log_artifact(art)
    return Path(wandb.use_artifact("ds:latest").download(tmp_path / "dl"))


def test_table_json_holds_the_same_values_as_the_table(store_dir: Path, tmp_path: Path) -> None:
    table = _dataset()
    root = _download(tmp_path, table)
    with open(root / "samples.table.json") as f:
        doc = json.load(f)
    assert doc["_type"] == "table"
    assert doc["columns"] == table.columns
    assert (doc["nrows"], doc["ncols"]) == (3, 8)
    got = pd.DataFrame(doc["data"], columns=doc["columns"])
    want = table.to_pandas()
    scalars = ["id", "score", "label", "ok"]
    pd.testing.assert_frame_equal(got[scalars], want[scalars], check_dtype=False)
    assert got["tags"].tolist() == want["tags"].tolist()
    assert got["meta"].tolist() == want["meta"].tolist()
    # W&B's timestamps: milliseconds since the epoch.
    assert got["when"].tolist() == [int(t.timestamp() * 1000) for t in want["when"]]
    assert doc["data"][1][1] is None  # NaN: JSON has none, W&B code reads it as missing


def test_image_cells_are_wandb_dicts_naming_files_of_the_download(
    store_dir: Path, tmp_path: Path
) -> None:
    table = _dataset()
    root = _download(tmp_path, table)
    doc = json.loads((root / "samples.table.json").read_text())
    for (_, row), cell in zip(table.iterrows(), (r[7] for r in doc["data"]), strict=True):
        img = row[7]
        assert cell["_type"] == "image-file"
        assert cell["path"] == f"media/images/{img.digest}.png"
        assert (cell["sha256"], cell["format"]) == (img.digest, "png")
        assert (cell["width"], cell["height"], cell["caption"]) == (8, 6, row[7].caption)
        path = root / cell["path"]
        assert cell["size"] == path.stat().st_size
        with PILImage.open(path) as pic:
            np.testing.assert_array_equal(np.asarray(pic), img.to_numpy())
        assert cell["boxes"] == {"pred": img.boxes["pred"]["box_data"]}
        mask = cell["masks"]["seg"]
        assert mask["_type"] == "mask" and mask["path"].startswith("media/images/")
        with PILImage.open(root / mask["path"]) as pic:
            np.testing.assert_array_equal(np.asarray(pic), img.masks["seg"]["mask_data"])
        classes = json.loads((root / cell["classes"]["path"]).read_text())
        assert classes == {"_type": "classes", "class_set": img.classes.to_json()}
    # The three pictures are three files; the Parquet and its media are still there.
    assert len(list((root / "media" / "images").glob("*.png"))) == 6  # 3 images, 3 masks
    assert (root / "samples.table.parquet").is_file()


def test_audio_cells_name_their_file(store_dir: Path, tmp_path: Path) -> None:
    wave = np.sin(np.linspace(0, 20, 800)).astype(np.float32)
    clip = wandb.Audio(wave, sample_rate=8000, caption="tone")
    root = _download(tmp_path, wandb.Table(columns=["clip"], data=[[clip]]))
    cell = json.loads((root / "samples.table.json").read_text())["data"][0][0]
    assert cell["_type"] == "audio-file"
    assert cell["path"] == f"media/audio/{clip.digest}.wav"
    assert (cell["sample_rate"], cell["caption"]) == (8000, "tone")
    assert (root / cell["path"]).read_bytes() == clip.to_bytes()


def test_a_second_download_keeps_the_json_and_redoes_a_changed_one(
    store_dir: Path, tmp_path: Path
) -> None:
    root = _download(tmp_path, _dataset())
    json_file = root / "samples.table.json"
    first = json_file.stat()
    original = json_file.read_bytes()
    wandb.use_artifact("ds:latest").download(root)
    again = json_file.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    json_file.write_text('{"columns": [], "data": []}')  # edited: made again
    wandb.use_artifact("ds:latest").download(root)
    assert json_file.read_bytes() == original
    assert not list(root.rglob("*.part"))


def test_a_joined_tables_parts_get_their_json_too(store_dir: Path, tmp_path: Path) -> None:
    left = wandb.Table(columns=["id", "x"], data=[["a", 1], ["b", 2]])
    right = wandb.Table(columns=["id", "y"], data=[["a", 3.5]])
    root = _download(tmp_path, wandb.JoinedTable(left, right, "id"), "joined")
    part = json.loads((root / "joined.joined" / "table2.table.json").read_text())
    assert (part["columns"], part["data"]) == (["id", "y"], [["a", 3.5]])


def test_a_table_over_the_cell_limit_gets_no_json_and_a_warning(
    store_dir: Path, tmp_path: Path
) -> None:
    rows = MAX_JSON_CELLS // 2 + 1
    table = wandb.Table(columns=["a", "b"], data=np.zeros((rows, 2), dtype=np.int64))
    art = wandb.Artifact("big", type="dataset")
    art.add(table, "big")
    wandb.log_artifact(art)
    with pytest.warns(UserWarning, match=r"no big\.table\.json was written"):
        root = Path(wandb.use_artifact("big:latest").download(tmp_path / "big"))
    assert not (root / "big.table.json").exists()
    assert (root / "big.table.parquet").is_file()


def test_a_table_within_the_limit_downloads_without_a_warning(
    store_dir: Path, tmp_path: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        root = _download(tmp_path, wandb.Table(columns=["v"], data=[[math.pi]]))
    assert json.loads((root / "samples.table.json").read_text())["data"] == [[math.pi]]
