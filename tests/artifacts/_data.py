"""Deterministic test data shared by the artifact tests (also run in child processes)."""

from __future__ import annotations

import numpy as np

import dsviz_widget as dv

CLASSES = dv.Classes(
    [{"id": 0, "name": "road"}, {"id": 1, "name": "car"}, {"id": 2, "name": "person"}]
)


def image_table(n: int, size: int = 32, seed: int = 0) -> dv.Table:
    """``n`` rows of id, an image with two boxes and a mask, a label and a score."""
    rng = np.random.default_rng(seed)
    table = dv.Table(("id", "image", "label", "score"))
    for i in range(n):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        mask = rng.integers(0, 3, (size, size), dtype=np.uint8)
        boxes = {
            "ground_truth": {
                "box_data": [
                    {
                        "position": {"minX": 0.1, "maxX": 0.4, "minY": 0.2, "maxY": 0.6},
                        "class_id": int(i % 3),
                    },
                    {
                        "position": {"middle": [16, 16], "width": 8, "height": 6},
                        "domain": "pixel",
                        "class_id": 1,
                        "scores": {"conf": float(rng.random())},
                        "box_caption": f"car {i}",
                    },
                ]
            }
        }
        img = dv.Image(
            pixels, classes=CLASSES, boxes=boxes, masks={"gt": {"mask_data": mask}}, caption=f"#{i}"
        )
        table.add_data(i, img, ["road", "car", "person"][i % 3], float(rng.random()))
    return table
