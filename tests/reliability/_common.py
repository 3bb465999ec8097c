"""Shared helpers of the reliability suite: the long-mode switch, test data, store checks."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

LONG = os.environ.get("DSVIZ_LONG", "") not in ("", "0")


def pick(default: int, long: int) -> int:
    """``long`` under ``DSVIZ_LONG=1``, else ``default``."""
    return long if LONG else default


def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def timed(label: str, figures: dict[str, Any]) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        figures[label] = round(time.perf_counter() - start, 2)


def make_table(seed: int, rows: int = 30) -> Any:
    """A small table, a pure function of ``seed``: scalars, two fresh images with a box and a
    mask, and one image shared by every seed (stored once: the dedup / ``claim`` path)."""
    import dsviz_widget as dv

    rng = np.random.default_rng(seed)
    classes = dv.Classes([{"id": 0, "name": "car"}, {"id": 1, "name": "road"}])
    table = dv.Table(columns=["seed", "row", "score", "label", "meta", "image"])
    for i in range(rows):
        image = None
        if i < 2:
            box = {
                "position": {"minX": 1, "maxX": 9, "minY": 2, "maxY": 12},
                "domain": "pixel",
                "class_id": i,
                "scores": {"conf": 0.5},
                "box_caption": f"box {seed}/{i}",
            }
            image = dv.Image(
                rng.integers(0, 256, (12, 12, 3), dtype=np.uint8),
                classes=classes,
                boxes={"predictions": {"box_data": [box]}},
                masks={"gt": {"mask_data": rng.integers(0, 2, (12, 12), dtype=np.uint8)}},
            )
        elif i == 2:
            image = dv.Image(np.full((12, 12, 3), 7, dtype=np.uint8), caption="shared")
        table.add_data(seed, i, float(rng.random()), f"r{seed}/{i}", {"k": i}, image)
    return table


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def object_files(root: Path) -> set[str]:
    """Digests of every file under ``objects/``."""
    objects = root / "objects"
    if not objects.is_dir():
        return set()
    return {p.name for sub in objects.iterdir() for p in sub.iterdir()}


def tmp_files(root: Path) -> list[Path]:
    tmp = root / "tmp"
    return sorted(tmp.iterdir()) if tmp.is_dir() else []


def fresh_store(root: Path) -> Any:
    """A Store object that has verified nothing yet (``open_store`` caches one per process)."""
    from dsviz_widget.artifacts._store import Store

    return Store(root)
