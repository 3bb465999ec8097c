"""Synthetic tables in the storage representation (docs/architecture.md), built without
``dv.Table``, so the widget is tested on exactly the Arrow the engine sees.

Also copied next to the notebooks of the browser tests, so keep it import-light.
"""

from __future__ import annotations

import hashlib
import io
import json
import wave
from collections.abc import Callable

import numpy as np
import pyarrow as pa
from PIL import Image, ImageDraw

KIND = b"dsviz.kind"
META = b"dsviz"
CLASSES = [
    {"id": 0, "name": "background"},
    {"id": 1, "name": "cat", "color": "#e41a1c"},
    {"id": 2, "name": "dog", "color": "#377eb8"},
    {"id": 3, "name": "bird", "color": "#4daf4a"},
]
IMAGE_TYPE = pa.struct(
    [
        ("digest", pa.string()),
        ("format", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("caption", pa.string()),
        ("boxes", pa.string()),
        ("masks", pa.string()),
        ("classes", pa.string()),
    ]
)
AUDIO_TYPE = pa.struct(
    [
        ("digest", pa.string()),
        ("format", pa.string()),
        ("sample_rate", pa.int64()),
        ("caption", pa.string()),
    ]
)
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert('xss')</script>",
    "javascript:alert(1)",
    '"><svg onload=alert(2)>',
    "{{constructor.constructor('alert(3)')()}}",
]


def field(name: str, kind: str, type_: pa.DataType) -> pa.Field:
    return pa.field(name, type_, metadata={KIND: kind.encode()})


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def classes_digest() -> str:
    return sha(json.dumps(CLASSES, sort_keys=True).encode())


class Blobs(dict[str, bytes]):
    """digest -> bytes; ``read`` is the read_blob callback."""

    def add(self, data: bytes) -> str:
        d = sha(data)
        self[d] = data
        return d

    def read(self, digest: str) -> bytes:
        return self[digest]


def png(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


def image_table(
    n: int = 12, width: int = 64, height: int = 48, seed: int = 0, score_shift: float = 0.0
) -> tuple[pa.Table, Callable[[str], bytes], Blobs]:
    """``n`` rows: id, label, score, image (boxes: one per class 1..(i%3)+1, mask), n_boxes."""
    rng = np.random.default_rng(seed)
    blobs = Blobs()
    cdig = classes_digest()
    labels = ["cat", "dog", "bird"]
    cells, ids, labs, scores, nbox = [], [], [], [], []
    for i in range(n):
        im = Image.new("RGB", (width, height), (40 + (i * 37) % 200, 90, 160))
        draw = ImageDraw.Draw(im)
        k = i % 3 + 1
        boxes = []
        mask = np.zeros((height, width), np.uint8)
        for j in range(k):
            x0, y0 = 4 + j * 18, 6 + j * 8
            x1, y1 = min(width - 1, x0 + 16), min(height - 1, y0 + 20)
            cls = j + 1
            draw.rectangle([x0, y0, x1, y1], fill=(200, 200 - 50 * j, 60))
            mask[y0:y1, x0:x1] = cls
            boxes.append(
                {
                    "position": {"minX": x0, "maxX": x1, "minY": y0, "maxY": y1},
                    "domain": "pixel",
                    "class_id": cls,
                    "scores": {"score": round(0.3 + 0.3 * j + score_shift, 3)},
                    "box_caption": labels[j],
                }
            )
        digest = blobs.add(png(im))
        mdig = blobs.add(png(Image.fromarray(mask, mode="L")))
        cells.append(
            {
                "digest": digest,
                "format": "png",
                "width": width,
                "height": height,
                "caption": f"image {i}",
                "boxes": json.dumps({"predictions": {"box_data": boxes}}),
                "masks": json.dumps(
                    {"ground_truth": {"digest": mdig, "width": width, "height": height}}
                ),
                "classes": cdig,
            }
        )
        ids.append(i)
        labs.append(labels[i % 3])
        scores.append(float(np.round(rng.random() + score_shift, 4)))
        nbox.append(k)
    schema = pa.schema(
        [
            field("id", "int", pa.int64()),
            field("label", "str", pa.string()),
            field("score", "float", pa.float64()),
            field("image", "image", IMAGE_TYPE),
            field("n_boxes", "derived", pa.int64()),
        ],
        metadata={
            META: json.dumps(
                {
                    "format": 1,
                    "classes": {cdig: CLASSES},
                    "derived": [
                        {
                            "name": "n_boxes",
                            "source": "image",
                            "kind": "n_boxes",
                            "group": "predictions",
                        }
                    ],
                }
            ).encode()
        },
    )
    table = pa.table([ids, labs, scores, pa.array(cells, IMAGE_TYPE), nbox], schema=schema)
    return table, blobs.read, blobs


def one_image(digest: str, mask: str | None = None, width: int = 1, height: int = 1) -> pa.Table:
    """One row whose image cell names ``digest`` (and ``mask``): what the widget may serve."""
    masks = json.dumps({"gt": {"digest": mask, "width": width, "height": height}}) if mask else None
    cell = {
        "digest": digest,
        "format": "png",
        "width": width,
        "height": height,
        "caption": None,
        "boxes": None,
        "masks": masks,
        "classes": None,
    }
    schema = pa.schema([field("image", "image", IMAGE_TYPE)])
    return pa.table([pa.array([cell], IMAGE_TYPE)], schema=schema)


def two_class_lists(n: int = 3) -> tuple[pa.Table, Callable[[str], bytes], Blobs]:
    """Two image columns whose class lists reuse id 1: "ground_truth" (1 = cat, red) and
    "predictions" (1 = car, blue); every box is class 1."""
    base, read, blobs = image_table(n, width=160, height=120)
    lists = {
        "ground_truth": [
            {"id": 0, "name": "background"},
            {"id": 1, "name": "cat", "color": "#e41a1c"},
        ],
        "predictions": [
            {"id": 0, "name": "background"},
            {"id": 1, "name": "car", "color": "#377eb8"},
        ],
    }
    digests = {k: sha(json.dumps(v, sort_keys=True).encode()) for k, v in lists.items()}
    fields, columns = [field("id", "int", pa.int64())], [base.column("id")]
    for name, digest in digests.items():
        cells = base.column("image").to_pylist()
        for c in cells:
            box = json.loads(c["boxes"])["predictions"]["box_data"][0]
            box.pop("box_caption")  # the label must come from the class list
            c.update(
                boxes=json.dumps({name: {"box_data": [{**box, "class_id": 1}]}}),
                masks=None,
                classes=digest,
            )
        fields.append(field(name, "image", IMAGE_TYPE))
        columns.append(pa.array(cells, IMAGE_TYPE))
    meta = {
        META: json.dumps(
            {"format": 1, "classes": {digests[k]: v for k, v in lists.items()}}
        ).encode()
    }
    return pa.table(columns, schema=pa.schema(fields, metadata=meta)), read, blobs


def big_table(n: int = 1_000_000, seed: int = 0) -> pa.Table:
    """``n`` rows of id, score, label, x: no media, built with numpy in well under a second."""
    rng = np.random.default_rng(seed)
    labels = np.array(["cat", "dog", "bird", "fish"])
    schema = pa.schema(
        [
            field("id", "int", pa.int64()),
            field("score", "float", pa.float64()),
            field("label", "str", pa.string()),
            field("x", "int", pa.int64()),
        ]
    )
    return pa.table(
        [
            pa.array(np.arange(n, dtype=np.int64)),
            pa.array(np.round(rng.random(n), 4)),
            pa.array(labels[rng.integers(0, 4, n)]),
            pa.array(rng.integers(-1000, 1000, n)),
        ],
        schema=schema,
    )


def hostile_table() -> pa.Table:
    """Strings that would run script if rendered as HTML, in values, dict keys and a column name."""
    n = len(HOSTILE)
    meta_keys = [json.dumps({"__proto__": {"polluted": True}, "<b>k</b>": s}) for s in HOSTILE]
    schema = pa.schema(
        [
            field("id", "int", pa.int64()),
            field("text", "str", pa.string()),
            field("<img src=x onerror=alert(9)>", "str", pa.string()),
            field("meta", "dict", pa.string()),
        ]
    )
    return pa.table([list(range(n)), HOSTILE, list(reversed(HOSTILE)), meta_keys], schema=schema)


def versions(n: int = 10) -> tuple[pa.Table, pa.Table]:
    """Two versions of a predictions table joined on id; half the scores change in v1."""
    v0 = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "score": pa.array([round(0.1 + 0.08 * i, 3) for i in range(n)], pa.float64()),
            "label": pa.array(["cat", "dog"] * (n // 2) + ["cat"] * (n % 2)),
        }
    )
    s1 = [round(0.1 + 0.08 * i + (0.05 if i % 2 else 0), 3) for i in range(n)]
    v1 = v0.set_column(1, "score", pa.array(s1, pa.float64()))
    return v0, v1


def wav(seconds: float = 0.5, rate: int = 8000, freq: float = 440.0) -> bytes:
    """A mono 16-bit PCM WAV of a sine tone."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * freq * t) * 12000).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def audio_table(n: int = 3) -> tuple[pa.Table, Callable[[str], bytes], Blobs]:
    """``n`` rows of id and an audio clip (distinct tones); the blobs also hold one image that
    no audio cell names, to check the kernel will not serve it as audio."""
    blobs = Blobs()
    cells = []
    for i in range(n):
        d = blobs.add(wav(0.25 + 0.25 * i, freq=220.0 * (i + 1)))
        cells.append({"digest": d, "format": "wav", "sample_rate": 8000, "caption": f"tone {i}"})
    blobs.add(png(Image.new("RGB", (4, 4))))
    schema = pa.schema([field("id", "int", pa.int64()), field("clip", "audio", AUDIO_TYPE)])
    cells[-1] = None if n > 2 else cells[-1]  # a null cell among them when there are three or more
    return pa.table([list(range(n)), pa.array(cells, AUDIO_TYPE)], schema=schema), blobs.read, blobs
