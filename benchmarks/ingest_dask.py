"""Dask ingest benchmark: 20,000 small images logged by 2 Dask workers vs the local path.

    python benchmarks/ingest_dask.py                         # 20,000 images, 2 workers
    python benchmarks/ingest_dask.py --images 2000 --repeats 1   # quicker

Each image is a 32x32 crop of one of scikit-image's sample pictures (astronaut, coffee,
chelsea, rocket), at a place and in a colour order given by its row number, with two boxes
(classes from the picture's content) and a caption: made in memory, no download.

- **local**: the rows are made in this process into a pandas DataFrame, then
  ``dv.Table(dataframe=df)`` -> ``Artifact.add`` -> ``log_artifact``. Timed twice: making the
  rows plus logging (what a script does end to end), and logging alone.
- **dask**: a ``dask.distributed.LocalCluster`` of ``--workers`` processes (one thread each)
  on 127.0.0.1; the same rows made by the workers, one partition each of ``--partitions``,
  ``dv.Table(dataframe=dask_df)`` -> logged: the workers make the rows, store the images and
  write the Parquet parts; the client publishes. The cluster is started before timing.

Every run logs into a fresh store. Both tables are read back and compared (``==``, the
same rows, images and derived columns), so the two sides did the same work. Peak memory:
the client's VmHWM growth over its RSS before the step, and each worker's VmHWM growth
over its RSS before the step (both reset first; Linux only).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, when imported as a module
import itertools

from _common import current_rss_mb, fmt_mb, machine, markdown_table, peak_rss_mb, reset_peak_rss

try:
    import dsviz_widget as dv
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import dsviz_widget as dv

PACKAGES = ["dsviz_widget", "dask", "distributed", "pyarrow", "pandas", "scikit-image"]
SIZE = 32
CLASSES = [{"id": 0, "name": "person"}, {"id": 1, "name": "cup"}, {"id": 2, "name": "cat"}]


# -- data (made wherever it runs: this process, or a Dask worker) ------------------------------
_PICTURES: list[np.ndarray] = []


def pictures() -> list[np.ndarray]:
    if not _PICTURES:
        from skimage import data

        _PICTURES.extend([data.astronaut(), data.coffee(), data.chelsea(), data.rocket()])
    return _PICTURES


def rows(start: int, stop: int) -> pd.DataFrame:
    """Rows ``start`` to ``stop``: id, source picture, a score, and the image with boxes."""
    classes = dv.Classes(CLASSES)
    pics = pictures()
    ids, sources, scores, images = [], [], [], []
    for i in range(start, stop):
        k = i % len(pics)
        pic = pics[k]
        rng = np.random.default_rng(i)
        y = int(rng.integers(0, pic.shape[0] - SIZE))
        x = int(rng.integers(0, pic.shape[1] - SIZE))
        crop = pic[y : y + SIZE, x : x + SIZE][:, :, [(i // 4) % 3, 1, 2 - (i // 4) % 3]]
        boxes = [
            {
                "position": {"minX": 2, "maxX": 14 + j * 8, "minY": 3, "maxY": 20 + j * 4},
                "domain": "pixel",
                "class_id": (k + j) % 3,
                "scores": {"conf": round(float(rng.random()), 3)},
            }
            for j in range(2)
        ]
        images.append(
            dv.Image(
                np.ascontiguousarray(crop),
                classes=classes,
                boxes={"predictions": {"box_data": boxes}},
                caption=f"#{i}",
            )
        )
        ids.append(i)
        sources.append(["astronaut", "coffee", "chelsea", "rocket"][k])
        scores.append(float(rng.random()))
    return pd.DataFrame({"id": ids, "source": sources, "score": scores, "image": images})


def bounds(n: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, parts + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def dask_frame(n: int, parts: int) -> Any:
    import dask
    import dask.dataframe as dd

    meta = rows(0, 1).iloc[:0]
    # The image column must stay Python objects (Dask's convert-string would make text).
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed([dask.delayed(rows)(a, b) for a, b in bounds(n, parts)], meta=meta)


# -- measuring -------------------------------------------------------------------------------------
def log(table: dv.Table, root: Path) -> None:
    with dv.init(dir=str(root), project="bench"):
        art = dv.Artifact("images", type="dataset")
        art.add(table, "t")
        dv.log_artifact(art)


def read_back(root: Path) -> dv.Table:
    with dv.init(dir=str(root), project="bench"):
        got = dv.use_artifact("images:latest").get("t")
    assert isinstance(got, dv.Table)
    return got


def timed(run: Any, client: Any = None) -> tuple[float, float | None, list[float | None]]:
    """Seconds, the client's peak RSS growth (MB) and each worker's, for ``run()``."""
    import gc

    gc.collect()
    can = reset_peak_rss()
    before = current_rss_mb()
    workers_before: dict[str, Any] = {}
    if client is not None:
        workers_before = client.run(_worker_reset)
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    peak = peak_rss_mb()
    extra = peak - before if can and peak is not None and before is not None else None
    per_worker: list[float | None] = []
    if client is not None:
        after = client.run(peak_rss_mb)
        for w, b in workers_before.items():
            p = after.get(w)
            per_worker.append(p - b if b is not None and p is not None else None)
    return elapsed, extra, per_worker


def _worker_reset() -> float | None:
    import gc

    gc.collect()
    return current_rss_mb() if reset_peak_rss() else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    from dask import distributed

    n = args.images
    results: dict[str, list[tuple[float, float | None, list[float | None]]]] = {
        "local: make rows + log": [],
        "local: log only": [],
        "dask: make rows + log": [],
    }
    tmp = Path(tempfile.mkdtemp(prefix="dsviz-bench-dask-"))
    try:
        with (
            distributed.LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            client.run(pictures)  # the sample pictures loaded once per worker, before timing
            pictures()
            for r in range(args.repeats):
                local_root, dask_root = tmp / f"local{r}", tmp / f"dask{r}"
                results["local: make rows + log"].append(
                    timed(lambda root=local_root: log(dv.Table(dataframe=rows(0, n)), root))
                )
                frame = rows(0, n)
                again = tmp / f"again{r}"
                results["local: log only"].append(
                    timed(lambda f=frame, root=again: log(dv.Table(dataframe=f), root))
                )
                del frame
                results["dask: make rows + log"].append(
                    timed(
                        lambda root=dask_root: log(
                            dv.Table(dataframe=dask_frame(n, args.partitions)), root
                        ),
                        client,
                    )
                )
                local, spread = read_back(local_root), read_back(dask_root)
                assert len(spread) == len(local) == n and spread == local, "different tables"
                assert spread.derived_columns == local.derived_columns
                shutil.rmtree(local_root)
                shutil.rmtree(dask_root)
                shutil.rmtree(again)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\n{n:,} images of {SIZE}x{SIZE} RGB with 2 boxes each; {args.workers} Dask workers "
        f"(1 thread each), {args.partitions} partitions; median of {args.repeats}\n"
    )
    table = []
    base = float(np.median([t for t, _, _ in results["local: make rows + log"]]))
    for name, runs in results.items():
        secs = float(np.median([t for t, _, _ in runs]))
        client_mb = max((m for _, m, _ in runs if m is not None), default=None)
        workers = [w for _, _, ws in runs for w in ws if w is not None]
        table.append(
            [
                name,
                f"{secs:.1f} s",
                f"{n / secs:,.0f}/s",
                f"{base / secs:.2f}x",
                fmt_mb(client_mb),
                ", ".join(fmt_mb(w) for w in workers[: args.workers]) if workers else "-",
            ]
        )
    print(
        markdown_table(
            [
                "path",
                "wall time",
                "images/s",
                "speed-up vs local end to end",
                "client peak +",
                "workers' peak +",
            ],
            table,
        )
    )
    print()
    print(machine(PACKAGES))


if __name__ == "__main__":
    main()
