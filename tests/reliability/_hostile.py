"""Hostile files, run case by case in a child process (``python -m tests.reliability._hostile
<group> <dir>``) under an address-space limit; one JSON line per case on stdout."""

from __future__ import annotations

import contextlib
import io
import json
import random
import resource
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

AS_LIMIT = 6 << 30  # bytes of address space (DuckDB and Arrow reserve more than they touch)


def peak_rss_mb() -> int:
    """This process's own peak RSS (``VmHWM``). Not ``getrusage``'s ``ru_maxrss``: Linux keeps
    that across ``execve``, so a child spawned by a big pytest process would report the
    parent's peak (it did in CI: 1,343 MB for a child that never passed 210 MB)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) >> 10
    raise RuntimeError("no VmHWM in /proc/self/status")


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_giant(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming ``width`` x ``height``, one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def png_zeros(width: int, height: int, path: Path, color: int = 2) -> None:
    """An all-zero PNG written in streaming fashion (~80 KB for 81 megapixels RGB)."""
    channels = {0: 1, 2: 3}[color]
    row = b"\0" * (1 + width * channels)
    comp = zlib.compressobj(9)
    with open(path, "wb") as f:
        f.write(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0))
        )
        parts = []
        for _ in range(height):
            parts.append(comp.compress(row))
        parts.append(comp.flush())
        f.write(chunk(b"IDAT", b"".join(parts)))
        f.write(chunk(b"IEND", b""))


def gif_frames(n: int, size: int = 16) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    frames = [
        Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).convert("P")
        for _ in range(n)
    ]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=1, loop=0)
    return buf.getvalue()


def gif_screen_giant() -> bytes:
    """A 1x1 GIF whose logical screen claims 65535 x 65535."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("P", (1, 1)).save(buf, format="GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def jpeg_header_giant() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    i = data.find(b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", 65500, 65500)
    return bytes(data)


def encoded(fmt: str) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(1)
    im = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


# -- cases -----------------------------------------------------------------------------------
Case = tuple[str, Callable[[], Any]]


def image_cases(tmp: Path) -> Iterator[Case]:
    import dsviz_widget as dv

    giant = png_header_giant(100_000, 100_000)
    (tmp / "giant.png").write_bytes(giant)
    yield "png header 100000x100000 (bytes)", lambda: dv.Image(giant)
    yield "png header 100000x100000 (path)", lambda: dv.Image(tmp / "giant.png")
    yield (
        "png header 100000x100000 as mask path",
        lambda: dv.Image(
            np.zeros((4, 4), np.uint8), masks={"gt": {"path": str(tmp / "giant.png")}}
        ),
    )
    yield "png header 2^31-1 x 2^31-1", lambda: dv.Image(png_header_giant(2**31 - 1, 2**31 - 1))
    yield "png header 0x0", lambda: dv.Image(png_header_giant(0, 0))
    yield "jpeg header 65500x65500", lambda: dv.Image(jpeg_header_giant())
    yield "gif logical screen 65535x65535", lambda: dv.Image(gif_screen_giant())
    for n in (1000, 5000):
        data = gif_frames(n)
        yield f"gif with {n} frames ({len(data) // 1024} KB)", lambda d=data: _accept_gif(d)
    for fmt in ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"):
        data = encoded(fmt)
        for cut in sorted({1, 8, 16, 33, 64, len(data) // 2, len(data) - 16, len(data) - 1}):
            yield (
                f"{fmt} truncated to {cut}/{len(data)} bytes",
                lambda d=data[:cut], f=fmt: _accept(d, f),
            )
    rng = random.Random(5)
    for fmt in ("PNG", "JPEG", "GIF"):
        data = encoded(fmt)
        for k in range(15):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            yield f"{fmt} with random bytes #{k}", lambda d=bytes(mutated), f=fmt: _accept(d, f)


def _accept(data: bytes, fmt: str) -> str:
    """Either rejected (the caller records the error) or an image that decodes fully."""
    import dsviz_widget as dv

    img = dv.Image(data)
    pixels = img.to_numpy()
    return f"accepted: {img.format} {pixels.shape}"


def _accept_gif(data: bytes) -> str:
    import dsviz_widget as dv

    img = dv.Image(data)
    return f"accepted: {img.format} {img.width}x{img.height}, first frame {img.to_numpy().shape}"


def big_cases(tmp: Path) -> Iterator[Case]:
    """The 81-megapixel all-zero PNG, through the whole path: ingest, log, read back."""
    import dsviz_widget as dv

    path = tmp / "zeros-81mp.png"
    png_zeros(9000, 9000, path)

    def run() -> str:
        img = dv.Image(path)
        dv.init(dir=tmp / "store")
        art = dv.Artifact("big", type="t")
        art.add(dv.Table(columns=["image"], data=[[img]]), "t")
        dv.log_artifact(art)
        back = dv.use_artifact("big:latest").get("t").get_column("image")[0]
        pixels = back.to_numpy()
        assert pixels.shape == (9000, 9000, 3) and not pixels.any()
        return f"accepted: {path.stat().st_size // 1024} KB file, {pixels.shape} read back"

    yield "81-megapixel all-zero PNG (9000x9000 RGB): ingest, log, read back", run
    over = tmp / "zeros-90mp.png"
    png_zeros(9500, 9500, over, color=0)
    yield "90-megapixel all-zero PNG (9500x9500, over the cap)", lambda: dv.Image(over)


def parquet_cases(tmp: Path) -> Iterator[Case]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    import dsviz_widget as dv

    table = dv.Table(
        columns=["id", "score", "label", "meta", "arr", "image"],
        data=[
            [
                i,
                i / 7,
                f"l{i % 3}",
                {"k": i},
                np.arange(3) * i,
                dv.Image(np.full((4, 4), i, np.uint8)) if i < 3 else None,
            ]
            for i in range(300)
        ],
    )
    dv.init(dir=tmp / "pstore")
    art = dv.Artifact("p", type="t")
    art.add(table, "t")
    dv.log_artifact(art)
    assert art.manifest is not None
    digest = art.manifest.entries["t.table.parquet"].digest
    original = (tmp / "pstore" / "objects" / digest[:2] / digest).read_bytes()
    rng = random.Random(11)

    def load(data: bytes, name: str) -> Callable[[], str]:
        def run() -> str:
            path = tmp / f"{name}.parquet"
            path.write_bytes(data)
            t = dv.Table.from_parquet(str(path))
            n = len(t)
            for column in t.columns:
                values = t.get_column(column)
                for v in values:
                    if isinstance(v, dv.Image):
                        with contextlib.suppress(dv.DsvizError):
                            v.to_numpy()
            t.query(filter="score > 0.5", limit=5)
            return f"accepted: {n} rows"

        return run

    yield "original", load(original, "original")
    for k in range(40):
        data = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
        yield f"random bytes #{k}", load(bytes(data), f"flip{k}")
    footer = len(original) - 8
    for k in range(20):
        data = bytearray(original)
        data[footer - rng.randrange(1, 400)] ^= rng.randrange(1, 256)
        yield f"footer byte #{k}", load(bytes(data), f"footer{k}")
    for cut in (0, 4, 100, len(original) // 2, len(original) - 9, len(original) - 1):
        yield f"truncated to {cut}", load(original[:cut], f"cut{cut}")
    yield "garbage appended", load(original + b"\0" * 100, "appended")
    yield (
        "footer length claims 2 GB",
        load(original[:-8] + struct.pack("<I", 2**31 - 1) + b"PAR1", "footlen"),
    )
    bad_meta = pa.table({"id": pa.array([1, 2], pa.int64())}).replace_schema_metadata(
        {b"dsviz": b"{not json"}
    )
    buf = io.BytesIO()
    pq.write_table(bad_meta, buf)
    yield "dsviz metadata not JSON", load(buf.getvalue(), "badmeta")
    wrong_kind = pa.table(
        [pa.array([1, 2], pa.int64())],
        schema=pa.schema([pa.field("image", pa.int64(), metadata={b"dsviz.kind": b"image"})]),
    )
    buf = io.BytesIO()
    pq.write_table(wrong_kind, buf)
    yield "int column labelled as image", load(buf.getvalue(), "wrongkind")


GROUPS = {"images": image_cases, "big": big_cases, "parquet": parquet_cases}


def main() -> None:
    group, tmp = sys.argv[1], Path(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    import dsviz_widget as dv

    for name, case in GROUPS[group](tmp):
        print(json.dumps({"case": name, "started": True}), flush=True)
        start = time.perf_counter()
        try:
            detail, error = str(case()), None
        except dv.DsvizError as exc:
            detail, error = str(exc)[:200], type(exc).__name__
        except Exception as exc:  # recorded: an untyped error
            detail, error = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"[:300], "untyped"
        print(
            json.dumps(
                {
                    "case": name,
                    "error": error,
                    "detail": detail,
                    "seconds": round(time.perf_counter() - start, 3),
                    "max_rss_mb": peak_rss_mb(),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
