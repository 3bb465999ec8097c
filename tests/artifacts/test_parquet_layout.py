"""How every table's Parquet is written (``_serialize._writer_options``, issue 15): small v2
pages with an offset index, so the engine can read a row from one page; Snappy on every
leaf column but numbers it does not shrink."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts._serialize import PAGE_ROWS, _leaf_paths, _writer_options

SCHEMAS = [
    pa.schema([("a", pa.int64()), ("b", pa.string())]),
    pa.schema([("img", pa.struct([("digest", pa.string()), ("w", pa.int32())]))]),
    pa.schema([("l", pa.list_(pa.float64())), ("ll", pa.large_list(pa.string()))]),
    pa.schema([("fl", pa.list_(pa.int8(), 3)), ("m", pa.map_(pa.string(), pa.int64()))]),
    pa.schema([("d", pa.dictionary(pa.int32(), pa.string())), ("t", pa.timestamp("ms"))]),
    pa.schema([("s", pa.struct([("inner", pa.list_(pa.struct([("x", pa.float32())])))]))]),
    pa.schema([("m2", pa.map_(pa.string(), pa.struct([("p", pa.int16())])))]),
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: ",".join(s.names))
def test_every_leaf_is_named_as_pyarrow_names_it(tmp_path: Path, schema: pa.Schema) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(schema.empty_table(), path)
    md = pq.read_metadata(path)
    assert {md.schema.column(i).path for i in range(md.num_columns)} <= set(_leaf_paths(schema))


def test_a_logged_table_has_small_v2_pages_an_offset_index_and_snappy_where_it_helps(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "score": rng.random(n),
            "label": rng.choice(["cat", "dog"], n),
            "caption": [f"image {i}" for i in range(n)],
        }
    )
    dv.init(project="layout", dir=str(tmp_path / "store"))
    art = dv.Artifact("t", "dataset")
    art.add(dv.Table(dataframe=df), "t")
    dv.log_artifact(art)
    dv.finish()
    files = [p for p in (tmp_path / "store" / "objects").rglob("*") if p.is_file()]
    tables = [
        p for p in files if p.read_bytes()[:4] == b"PAR1" and pq.read_metadata(p).num_rows == n
    ]
    assert len(tables) == 1
    md = pq.read_metadata(tables[0])
    names = [md.schema.column(i).path for i in range(md.num_columns)]
    rg = md.row_group(0)
    codecs = {names[i]: rg.column(i).compression for i in range(rg.num_columns)}
    assert codecs["score"] == "UNCOMPRESSED"  # random floats: Snappy would not shrink them
    assert codecs["id"] == codecs["caption"] == codecs["label"] == "SNAPPY"
    for g in range(md.num_row_groups):
        for i in range(md.num_columns):
            assert md.row_group(g).column(i).has_offset_index
    assert PAGE_ROWS == 2048
    first = next(pq.ParquetFile(tables[0]).iter_batches(batch_size=10))
    opts = _writer_options(first.schema, first)
    assert opts["max_rows_per_page"] == PAGE_ROWS and opts["data_page_version"] == "2.0"
