from __future__ import annotations

import json

import pyarrow as pa
import pytest

from dsviz_widget.engine import KIND_KEY, META_KEY, Engine, Source

NAN = float("nan")


def _field(name: str, typ: pa.DataType, kind: str) -> pa.Field:
    return pa.field(name, typ, metadata={KIND_KEY: kind.encode()})


IMAGE = pa.struct(
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


def make_table() -> pa.Table:
    """Eight rows covering nulls, NaN, unicode, %-names, dotted derived names, dicts, images."""
    cols = {
        "id": (pa.int64(), "int", list(range(8))),
        "score": (pa.float64(), "float", [0.9, 0.1, NAN, None, 0.5, 0.75, -1.0, 0.5]),
        "label": (pa.string(), "str", ["cat", "dog", "cat", None, "bird", "Cat", "dög", "cat "]),
        "n": (pa.int64(), "int", [1, 2, 3, None, 0, -5, 10, 2]),
        "flag": (pa.bool_(), "bool", [True, False, None, True, False, True, False, True]),
        "%_vegetation": (pa.float64(), "derived", [0.0, 0.6, 0.2, None, 1.0, 0.51, 0.5, NAN]),
        "n_boxes": (pa.int64(), "derived", [0, 1, 2, 3, 0, 1, 2, 3]),
        "n_boxes.car": (pa.int64(), "derived", [0, 1, 0, 2, 0, 0, 1, 3]),
        "meta": (
            pa.string(),
            "dict",
            [
                '{"camera": "front", "h": 2}',
                '{"camera": "back", "h": 5}',
                None,
                '{"camera": null}',
                "{}",
                '{"camera": "front", "h": 10}',
                '{"h": "x"}',
                '{"camera": "FRONT", "lens": {"mm": 35}}',
            ],
        ),
        "my col": (pa.string(), "str", list("abcdefgh")),
        "image": (
            IMAGE,
            "image",
            [
                {
                    "digest": f"{i:064x}",
                    "format": "png",
                    "width": 4,
                    "height": 4,
                    "caption": None,
                    "boxes": None,
                    "masks": None,
                    "classes": None,
                }
                for i in range(8)
            ],
        ),
    }
    fields = [_field(n, t, k) for n, (t, k, _) in cols.items()]
    meta = {
        "format": 1,
        "classes": {},
        "derived": [
            {
                "name": "%_vegetation",
                "source": "image",
                "kind": "mask_fraction",
                "group": "ground_truth",
                "class_id": 3,
            }
        ],
    }
    schema = pa.schema(fields, metadata={META_KEY: json.dumps(meta).encode()})
    return pa.table({n: pa.array(v, t) for n, (t, _, v) in cols.items()}, schema=schema)


@pytest.fixture(scope="session")
def table() -> pa.Table:
    return make_table()


@pytest.fixture(scope="session")
def source(table: pa.Table) -> Source:
    return Source.from_arrow(table, name="t")


@pytest.fixture(scope="session")
def parquet_source(table: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> Source:
    import pyarrow.parquet as pq

    d = tmp_path_factory.mktemp("pq")
    # Two files, so _row must count across them.
    pq.write_table(table.slice(0, 5), d / "a.parquet")
    pq.write_table(table.slice(5), d / "b.parquet")
    return Source.from_parquet([str(d / "a.parquet"), str(d / "b.parquet")], name="pq")


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()
