"""Helpers for the W&B-behaviour tests: a log / use round trip and small overlays."""

from __future__ import annotations

from typing import Any

import numpy as np

import dsviz_widget as dv


def logged(table: dv.Table, name: str = "t") -> dv.Table:
    """``table`` after ``art.add`` / ``log_artifact`` / ``use_artifact(...).get``."""
    art = dv.Artifact("data", type="dataset")
    art.add(table, name)
    dv.log_artifact(art)
    back = dv.use_artifact(art.qualified_name).get(name)
    assert isinstance(back, dv.Table)
    return back


def one_image_table(img: dv.Image) -> dv.Table:
    table = dv.Table(columns=["id", "image"])
    table.add_data(0, img)
    return table


def box(class_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "position": {"minX": 0.1, "maxX": 0.4, "minY": 0.2, "maxY": 0.5},
        "class_id": class_id,
        **extra,
    }


PIXELS = np.zeros((8, 12, 3), np.uint8)
