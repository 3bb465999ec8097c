"""Ingest benchmark: getting data into a logged artifact, side by side with what a user would
do instead, in one run.

    python benchmarks/ingest.py                     # 1M-row DataFrame, 100k add_data rows, 2,000 images
    python benchmarks/ingest.py --rows 200000 --repeats 1   # quicker
    python benchmarks/ingest.py --profile           # also cProfile one 1M-row log (top functions)
    python benchmarks/ingest.py --skip frame,object,rows,images --huge   # (d) at 100M rows

(a) DataFrame of ``--rows`` rows x 10 columns (3 int64, 3 float64, 2 string, 2 bool) ->
    ``dv.Table(dataframe=df)`` -> ``Artifact.add`` -> ``log_artifact`` (fresh store each repeat:
    every byte is written, hashed and fsynced), vs ``pq.write_table(pa.Table.from_pandas(df))``.
    Run twice: with pandas' default string dtype and with ``object`` string columns (what
    pandas < 3 gives, and what many DataFrames built from Python lists still hold).
(b) ``--scalar-rows`` rows of (int, float, str, bool) appended by ``table.add_data`` in a loop,
    then logged; vs appending the same tuples to a list -> ``pd.DataFrame`` -> Parquet.
(c) ``--images`` 64x64 RGB images with 3 boxes each -> ``dv.Image`` -> Table -> logged; vs PNG
    files written with PIL plus a Parquet of the boxes (JSON text) with PyArrow.
(d) A Parquet file of ``--parquet-rows`` rows (10M; ``--huge``: 100M) x 7 columns ->
    ``dv.Table.from_parquet`` -> logged, each run in a fresh subprocess (peak RSS is the child's
    VmHWM over its RSS after imports), vs PyArrow reading and writing the same file in the
    same run: batch by batch with ``ParquetFile.iter_batches`` and whole with ``read_table``.
    Then the first ``get()`` of the logged table in a new process, as logged (the writer's
    stamp: no hash) and with the stamps removed (what every first get() cost before: a hash
    of the whole file).

Times are the median of ``--repeats`` runs; "peak" is the largest growth of the process's
peak RSS over its RSS before the step (inputs not counted).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, when imported as a module
from _common import Measurement, fmt_mb, machine, markdown_table, measure

try:
    import dsviz_widget as dv
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import dsviz_widget as dv

LABELS = np.array(["cat", "dog", "car", "tree", "person", "bike", "bus", "sky"], dtype=object)
CLASSES = [{"id": i, "name": str(name)} for i, name in enumerate(LABELS)]
PACKAGES = ["dsviz_widget", "pyarrow", "pandas", "numpy", "pillow", "duckdb"]


# -- data -------------------------------------------------------------------------------------
def make_frame(n: int, object_strings: bool) -> pd.DataFrame:
    """10 columns: 3 int64, 3 float64 (with a few NaN), 2 strings, 2 bools."""
    rng = np.random.default_rng(0)
    score = rng.random(n)
    score[rng.integers(0, n, max(1, n // 1000))] = np.nan
    captions = [f"image {i:08d}" for i in range(n)]
    labels = LABELS[rng.integers(0, len(LABELS), n)]
    df = pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "label_id": rng.integers(0, len(LABELS), n, dtype=np.int64),
            "n_boxes": rng.integers(0, 20, n, dtype=np.int64),
            "score": score,
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "label": pd.Series(labels, dtype=object if object_strings else None),
            "caption": pd.Series(captions, dtype=object if object_strings else None),
            "is_train": rng.random(n) < 0.8,
            "flagged": rng.random(n) < 0.01,
        }
    )
    return df


def make_scalar_rows(n: int) -> list[tuple[int, float, str, bool]]:
    rng = np.random.default_rng(1)
    scores = rng.random(n).tolist()
    labels = LABELS[rng.integers(0, len(LABELS), n)].tolist()
    return [(i, scores[i], labels[i], i % 3 == 0) for i in range(n)]


def make_images(n: int) -> list[tuple[np.ndarray, list[dict[str, Any]]]]:
    """64x64 RGB: a smooth gradient per image plus noise (compresses like a photo, roughly)."""
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:64, 0:64]
    out = []
    for i in range(n):
        base = (xx * (i % 7 + 1) + yy * (i % 5 + 1)) % 256
        pixels = np.stack([base, (base + 85) % 256, (base + 170) % 256], axis=-1)
        pixels = (pixels + rng.integers(0, 24, (64, 64, 3))).clip(0, 255).astype(np.uint8)
        boxes = []
        for _ in range(3):
            x0, y0 = rng.integers(0, 40, 2)
            w, h = rng.integers(8, 24, 2)
            boxes.append(
                {
                    "position": {
                        "minX": int(x0),
                        "maxX": int(x0 + w),
                        "minY": int(y0),
                        "maxY": int(y0 + h),
                    },
                    "domain": "pixel",
                    "class_id": int(rng.integers(0, len(LABELS))),
                    "scores": {"confidence": float(rng.random())},
                }
            )
        out.append((pixels, boxes))
    return out


# -- a fresh store per repeat -------------------------------------------------------------------
class Stores:
    """Gives each repeat an empty store (so every byte is really written) and removes it after."""

    def __init__(self, base: Path) -> None:
        self.base, self.count, self.current = base, 0, base

    def fresh(self) -> None:
        self.count += 1
        self.current = self.base / f"store-{self.count}"
        dv.init(dir=self.current, job_type="benchmark")

    def remove(self) -> None:
        dv.finish()
        shutil.rmtree(self.current, ignore_errors=True)

    def size_mb(self) -> float:
        return sum(p.stat().st_size for p in self.current.rglob("*") if p.is_file()) / 1e6


def log_table(table: dv.Table, name: str) -> dv.Artifact:
    art = dv.Artifact(name, type="dataset")
    art.add(table, "table")
    return dv.log_artifact(art)


# -- (a) DataFrame -> logged artifact vs PyArrow ---------------------------------------------
def bench_dataframe(
    df: pd.DataFrame, repeats: int, stores: Stores, tmp: Path
) -> dict[str, Measurement | float]:
    parts: dict[str, list[float]] = {"table": [], "log": []}
    sizes: list[float] = []

    def ours() -> None:
        start = time.perf_counter()
        table = dv.Table(dataframe=df)
        mid = time.perf_counter()
        log_table(table, "frame")
        parts["table"].append(mid - start)
        parts["log"].append(time.perf_counter() - mid)

    def after_ours() -> None:
        sizes.append(stores.size_mb())
        stores.remove()

    out = tmp / "frame.parquet"

    def pyarrow() -> None:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), out)

    def after_pyarrow() -> None:
        sizes.append(out.stat().st_size / 1e6)
        out.unlink()

    def pyarrow_small_groups() -> None:  # the row-group size dsviz writes (see README)
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table, out, row_group_size=131_072)

    a = measure(ours, repeats, setup=stores.fresh, teardown=after_ours)
    ours_size = sizes[-1]
    c = measure(pyarrow_small_groups, repeats, teardown=after_pyarrow)
    small_size = sizes[-1]
    b = measure(pyarrow, repeats, teardown=after_pyarrow)
    return {
        "dsviz": a,
        "pyarrow": b,
        "pyarrow_128k": c,
        "pyarrow_128k_mb": small_size,
        "table_s": float(np.median(parts["table"])),
        "log_s": float(np.median(parts["log"])),
        "dsviz_mb": ours_size,
        "pyarrow_mb": sizes[-1],
    }


# -- (b) add_data loop -----------------------------------------------------------------------
def bench_add_data(
    rows: list[tuple[int, float, str, bool]], repeats: int, stores: Stores, tmp: Path
) -> dict[str, Measurement]:
    holder: dict[str, Any] = {}

    def build() -> None:
        table = dv.Table(columns=["id", "score", "label", "train"])
        add = table.add_data
        for row in rows:
            add(*row)
        holder["table"] = table

    def log() -> None:
        log_table(holder["table"], "rows")

    def after_log() -> None:
        stores.remove()

    out = tmp / "rows.parquet"

    def pandas_build() -> None:
        kept = []
        for row in rows:
            kept.append(row)
        holder["df"] = pd.DataFrame(kept, columns=["id", "score", "label", "train"])

    def pandas_write() -> None:
        pq.write_table(pa.Table.from_pandas(holder["df"], preserve_index=False), out)

    built = measure(build, repeats)
    assert len(holder["table"]) == len(rows)
    logged = measure(log, repeats, setup=stores.fresh, teardown=after_log)
    return {
        "build": built,
        "log": logged,
        "pandas_build": measure(pandas_build, repeats),
        "pandas_write": measure(pandas_write, repeats, teardown=lambda: out.unlink()),
    }


# -- (c) images with boxes ---------------------------------------------------------------------
def bench_images(
    images: list[tuple[np.ndarray, list[dict[str, Any]]]],
    repeats: int,
    stores: Stores,
    tmp: Path,
) -> dict[str, Measurement | float]:
    from PIL import Image as PILImage

    classes = dv.Classes(CLASSES)
    holder: dict[str, Any] = {}
    sizes: list[float] = []

    def build() -> None:
        table = dv.Table(columns=["id", "image"])
        for i, (pixels, boxes) in enumerate(images):
            table.add_data(
                i, dv.Image(pixels, classes=classes, boxes={"predictions": {"box_data": boxes}})
            )
        holder["table"] = table

    def log() -> None:
        log_table(holder["table"], "images")

    def after_log() -> None:
        sizes.append(stores.size_mb())
        stores.remove()

    folder = tmp / "pngs"

    def plain() -> None:
        folder.mkdir()
        names = []
        for i, (pixels, _) in enumerate(images):
            name = f"{i:06d}.png"
            PILImage.fromarray(pixels).save(folder / name, format="PNG")
            names.append(name)
        boxes = [json.dumps({"predictions": {"box_data": b}}) for _, b in images]
        table = pa.table({"id": range(len(images)), "file": names, "boxes": boxes})
        pq.write_table(table, folder / "index.parquet")

    def after_plain() -> None:
        sizes.append(sum(p.stat().st_size for p in folder.iterdir()) / 1e6)
        shutil.rmtree(folder)

    built = measure(build, repeats)
    logged = measure(log, repeats, setup=stores.fresh, teardown=after_log)
    ours_size = sizes[-1]
    base = measure(plain, repeats, teardown=after_plain)
    return {
        "build": built,
        "log": logged,
        "plain": base,
        "dsviz_mb": ours_size,
        "plain_mb": sizes[-1],
    }


# -- (d) a big Parquet file, in bounded memory ----------------------------------------------------
def write_parquet(path: Path, n: int) -> None:
    """``n`` rows of 7 columns (2 int64, 2 float64 with NaN, 2 strings, 1 bool), written in
    1M-row row groups without ever holding more than one of them."""
    rng = np.random.default_rng(4)
    step = 1_000_000
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, n, step):
            m = min(step, n - start)
            score = rng.random(m)
            score[rng.integers(0, m, max(1, m // 1000))] = np.nan
            ids = np.arange(start, start + m, dtype=np.int64)
            part = pa.table(
                {
                    "id": ids,
                    "label_id": rng.integers(0, len(LABELS), m, dtype=np.int64),
                    "score": score,
                    "x": rng.normal(size=m),
                    "label": pa.array(LABELS[rng.integers(0, len(LABELS), m)]),
                    "caption": pc.binary_join_element_wise("image ", pc.cast(ids, pa.string()), ""),
                    "is_train": rng.random(m) < 0.8,
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, part.schema)
            writer.write_table(part)
    finally:
        if writer is not None:
            writer.close()


def _child(mode: str, src: str, where: str) -> dict[str, float]:
    """One step of (d) in this (fresh) process: seconds and peak RSS growth over the RSS after
    imports (what the step holds, not the interpreter and libraries)."""
    from _common import current_rss_mb, peak_rss_mb

    dv.init(dir=where, job_type="benchmark")
    base = current_rss_mb() or 0.0
    out = Path(where) / "out.parquet"
    start = time.perf_counter()
    if mode == "dsviz":
        log_table(dv.Table.from_parquet(src), "parquet")
    elif mode == "pyarrow-batches":
        f = pq.ParquetFile(src)
        with pq.ParquetWriter(out, f.schema_arrow) as w:
            for batch in f.iter_batches(batch_size=131_072):
                w.write_batch(batch)
    elif mode == "pyarrow-table":
        pq.write_table(pq.read_table(src), out)
    elif mode in ("get", "get-unstamped"):
        if mode == "get-unstamped":
            shutil.rmtree(Path(where) / "verified", ignore_errors=True)
        table = dv.use_artifact("parquet:latest").get("table")
        assert len(table) == pq.ParquetFile(src).metadata.num_rows
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": (peak_rss_mb() or 0.0) - base}


def _run_child(mode: str, src: Path, where: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(src), str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


#: Above this many rows PyArrow's whole-file read_table -> write_table is left out: it holds the
#: whole table (~1 GB per 10M rows here, 7.5 GB at 100M) on a machine other people share.
WHOLE_FILE_ROWS = 20_000_000


def bench_parquet(n: int, repeats: int, tmp: Path) -> dict[str, dict[str, float]]:
    """Medians (seconds, peak MB) per system; each run a fresh subprocess."""
    modes = ["dsviz", "pyarrow-batches"] + (["pyarrow-table"] if n <= WHOLE_FILE_ROWS else [])
    src = tmp / "input.parquet"
    write_parquet(src, n)
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(repeats):
        for mode in modes:
            where = tmp / f"parquet-{mode}"
            shutil.rmtree(where, ignore_errors=True)
            where.mkdir()
            runs.setdefault(mode, []).append(_run_child(mode, src, where))
            if mode == "dsviz":
                for get in ("get", "get-unstamped"):
                    runs.setdefault(get, []).append(_run_child(get, src, where))
            shutil.rmtree(where, ignore_errors=True)
    out: dict[str, dict[str, float]] = {"input": {"mb": src.stat().st_size / 1e6}}
    for mode, results in runs.items():
        out[mode] = {
            "seconds": float(np.median([r["seconds"] for r in results])),
            "p95": float(np.percentile([r["seconds"] for r in results], 95)),
            "peak_mb": max(r["peak_mb"] for r in results),
        }
    src.unlink()
    return out


# -- profile -----------------------------------------------------------------------------------
def profile_log(df: pd.DataFrame, stores: Stores, top: int = 30) -> str:
    stores.fresh()
    profiler = cProfile.Profile()
    profiler.enable()
    log_table(dv.Table(dataframe=df), "frame")
    profiler.disable()
    stores.remove()
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(top)
    buf.write("\n-- by own time --\n")
    pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(top // 2)
    return buf.getvalue()


# -- report ------------------------------------------------------------------------------------
def _s(m: Measurement) -> str:
    return f"{m.median:.2f} s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="DataFrame rows (a)")
    parser.add_argument("--scalar-rows", type=int, default=100_000, help="add_data rows (b)")
    parser.add_argument("--images", type=int, default=2_000, help="images (c)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--profile", action="store_true", help="cProfile one DataFrame log")
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: frame,object,rows,images,parquet"
    )
    parser.add_argument(
        "--parquet-rows", type=int, default=10_000_000, help="rows of the Parquet file (d)"
    )
    parser.add_argument("--huge", action="store_true", help="(d) at 100M rows")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # one step of (d)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    if args.huge:
        args.parquet_rows = 100_000_000
    skip = set(filter(None, args.skip.split(",")))

    began = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - began:5.0f} s] {text}", flush=True)

    print(f"machine: {machine(PACKAGES)}", flush=True)
    lines: list[list[str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dsviz-ingest-") as name:
        tmp = Path(name)
        stores = Stores(tmp)

        say("warm-up ...")
        # warm up lazily imported code paths (the first log of a process imports more)
        bench_dataframe(make_frame(1000, False), 1, stores, tmp)
        bench_add_data(make_scalar_rows(1000), 1, stores, tmp)
        bench_images(make_images(10), 1, stores, tmp)

        frames = [("frame", "default string dtype", False), ("object", "object strings", True)]
        for key, label, object_strings in frames:
            if key in skip:
                continue
            df = make_frame(args.rows, object_strings)
            dtypes = ", ".join(sorted({str(t) for t in df.dtypes}))
            say(f"(a) {args.rows:,} rows, {label} ({dtypes}) ...")
            r = bench_dataframe(df, args.repeats, stores, tmp)
            ours, theirs, small = r["dsviz"], r["pyarrow"], r["pyarrow_128k"]
            assert isinstance(ours, Measurement) and isinstance(theirs, Measurement)
            assert isinstance(small, Measurement)
            ratio = ours.median / theirs.median
            lines.append(
                [
                    f"(a) {args.rows:,}-row DataFrame, 10 cols, {label}: Table + log_artifact",
                    f"{_s(ours)} (Table {r['table_s']:.2f} s + log {r['log_s']:.2f} s); "
                    f"{args.rows / ours.median:,.0f} rows/s",
                    f"{fmt_mb(ours.peak_extra_mb)}; {r['dsviz_mb']:.0f} MB stored",
                    f"PyArrow from_pandas + write_table: {_s(theirs)}, "
                    f"peak {fmt_mb(theirs.peak_extra_mb)}, {r['pyarrow_mb']:.0f} MB "
                    f"(with 128k-row row groups: {_s(small)}, {r['pyarrow_128k_mb']:.0f} MB)",
                    f"{ratio:.2f}x PyArrow (target ≤ 1.5x)",
                ]
            )
            if args.profile and key == "frame":
                notes.append(f"profile of one log ({label}):\n{profile_log(df, stores)}")
            del df

        if "rows" not in skip:
            rows = make_scalar_rows(args.scalar_rows)
            say(f"(b) {len(rows):,} add_data rows ...")
            r2 = bench_add_data(rows, args.repeats, stores, tmp)
            rate = len(rows) / r2["build"].median
            lines.append(
                [
                    f"(b) {len(rows):,} scalar rows by add_data, then log_artifact",
                    f"add_data {_s(r2['build'])} = {rate:,.0f} rows/s; log {_s(r2['log'])}",
                    f"{fmt_mb(r2['build'].peak_extra_mb)} (add_data)",
                    f"list.append + pd.DataFrame {_s(r2['pandas_build'])} + Parquet "
                    f"{_s(r2['pandas_write'])}",
                    f"{rate / 1000:,.0f}k rows/s (target ≥ 150k); wandb: 6.7 s = 15k rows/s",
                ]
            )

        if "images" not in skip:
            images = make_images(args.images)
            say(f"(c) {len(images):,} images with 3 boxes ...")
            r3 = bench_images(images, args.repeats, stores, tmp)
            b, lg, pl = r3["build"], r3["log"], r3["plain"]
            assert isinstance(b, Measurement) and isinstance(lg, Measurement)
            assert isinstance(pl, Measurement)
            total = b.median + lg.median
            lines.append(
                [
                    f"(c) {len(images):,} 64x64 images x 3 boxes: Image + Table, then log_artifact",
                    f"build {_s(b)} + log {_s(lg)} = {len(images) / total:,.0f} images/s",
                    f"{fmt_mb(b.peak_extra_mb)} (build); {r3['dsviz_mb']:.1f} MB stored",
                    f"PIL PNG files + Parquet of boxes: {_s(pl)} "
                    f"({len(images) / pl.median:,.0f} images/s), {r3['plain_mb']:.1f} MB",
                    f"{total / pl.median:.2f}x the plain files",
                ]
            )

        if "parquet" not in skip:
            n = args.parquet_rows
            say(f"(d) {n:,}-row Parquet file ...")
            r4 = bench_parquet(n, args.repeats, tmp)
            mine, batches = r4["dsviz"], r4["pyarrow-batches"]
            whole = r4.get("pyarrow-table")
            whole_text = (
                f"{whole['seconds']:.2f} s, peak {whole['peak_mb']:.0f} MB"
                if whole
                else f"not run above {WHOLE_FILE_ROWS:,} rows (holds the whole table)"
            )
            lines.append(
                [
                    f"(d) {n:,}-row Parquet ({r4['input']['mb']:.0f} MB), 7 cols: "
                    "Table.from_parquet + log_artifact",
                    f"{mine['seconds']:.2f} s (p95 {mine['p95']:.2f} s); "
                    f"{n / mine['seconds']:,.0f} rows/s",
                    f"{mine['peak_mb']:.0f} MB",
                    f"PyArrow iter_batches -> ParquetWriter: {batches['seconds']:.2f} s, peak "
                    f"{batches['peak_mb']:.0f} MB; read_table -> write_table: {whole_text}",
                    f"{mine['seconds'] / batches['seconds']:.2f}x PyArrow's batches "
                    "(target ≤ 1.0x, peak ≤ 1 GB)",
                ]
            )
            got, unstamped = r4["get"], r4["get-unstamped"]
            lines.append(
                [
                    f"(d) first get() of the logged {n:,}-row table, new process",
                    f"{got['seconds'] * 1000:.0f} ms (p95 {got['p95'] * 1000:.0f} ms)",
                    f"{got['peak_mb']:.0f} MB",
                    f"hashing the file first (stamps removed, as before): "
                    f"{unstamped['seconds'] * 1000:.0f} ms",
                    "target ≤ 100 ms",
                ]
            )

    say("done")
    print()
    print(
        markdown_table(
            ["case", "dsviz_widget (median)", "peak RSS growth", "side by side", "verdict"],
            lines,
        )
    )
    for note in notes:
        print()
        print(note)


if __name__ == "__main__":
    main()
