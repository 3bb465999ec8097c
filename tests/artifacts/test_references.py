"""Predictions logged against a dataset borrow its images instead of copying them."""

from __future__ import annotations

import numpy as np
import pytest

import dsviz_widget as dv
from tests._store_kinds import StoreKind
from tests.artifacts._data import CLASSES


@pytest.mark.slow
def test_predictions_referencing_1000_images_add_under_5_percent(store_location: StoreKind) -> None:
    rng = np.random.default_rng(0)
    dataset = dv.Table(("id", "image"))
    for i in range(1000):
        dataset.add_data(i, dv.Image(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)))
    art = dv.Artifact("dataset", type="dataset")
    art.add(dataset, "data")
    dv.log_artifact(art)
    image_bytes = store_location.object_bytes()

    source = dv.use_artifact("dataset:v0").get("data")
    preds = dv.Table(("id", "image", "pred"))
    for i, img in zip(source.get_column("id"), source.get_column("image"), strict=True):
        box = {
            "position": {"minX": 0.1, "maxX": 0.5, "minY": 0.1, "maxY": 0.5},
            "class_id": 1,
            "scores": {"conf": 0.5},
        }
        preds.add_data(
            i, dv.Image(img, classes=CLASSES, boxes={"predictions": {"box_data": [box]}}), "car"
        )
    art = dv.Artifact("predictions", type="predictions")
    art.add(preds, "preds")
    dv.log_artifact(art)
    added = store_location.object_bytes() - image_bytes
    assert added < 0.05 * image_bytes, (
        f"predictions added {added} bytes for {image_bytes} bytes of images"
    )

    back = dv.use_artifact("predictions:v0").get("preds")
    imgs = back.get_column("image")
    assert imgs[7].digest == source.get_column("image")[7].digest
    assert np.array_equal(imgs[7].to_numpy(), source.get_column("image")[7].to_numpy())
    assert imgs[7].boxes["predictions"]["box_data"][0]["scores"] == {"conf": 0.5}
    # The media index records where each borrowed file lives.
    index = dv.use_artifact("predictions:v0").manifest.entries["preds.media.parquet"]  # type: ignore[union-attr]
    assert index.size > 0


def test_a_logged_table_added_to_another_artifact_is_borrowed(store_location: StoreKind) -> None:
    art = dv.Artifact("base", type="dataset")
    art.add(dv.Table(columns=["x"], data=[[i] for i in range(100)]), "t")
    dv.log_artifact(art)
    t = dv.use_artifact("base:v0").get("t")
    other = dv.Artifact("joined", type="analysis")
    other.add(dv.JoinedTable(t, t, "x"), "j")
    dv.log_artifact(other)
    entries = other.manifest.entries  # type: ignore[union-attr]
    assert entries["j.joined/table1.table.parquet"].ref == ("base", 0)
    assert other.size is not None and other.size < 1000
    back = dv.use_artifact("joined:v0").get("j")
    assert back.table1 == t
