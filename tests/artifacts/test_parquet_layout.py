"""How every table's Parquet is written (``_serialize._writer_options``, issue 15): small v2
pages with an offset index, so the engine can read a row from one page; Snappy on every
leaf column but numbers it does not shrink."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts._serialize import PAGE_ROWS, _leaf_paths
from dsviz_widget.engine._pagerows import PageRows, page_header

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
    # What the file holds, read back page by page: every data page a v2 page of at most
    # PAGE_ROWS rows (the layout the engine's page reader relies on for speed).
    reader = PageRows(str(tables[0]), pq.read_schema(tables[0]))
    fd = os.open(tables[0], os.O_RDONLY)
    try:
        for g in range(md.num_row_groups):
            rows = md.row_group(g).num_rows
            for leaf in reader.leaves.values():
                offsets, sizes, firsts = reader._pages(fd, g, leaf)
                ends = [*firsts[1:], rows]
                assert max(e - f for f, e in zip(firsts, ends, strict=True)) <= PAGE_ROWS
                assert len(firsts) >= -(-rows // PAGE_ROWS)
                for at, size in zip(offsets, sizes, strict=True):
                    assert page_header(memoryview(os.pread(fd, size, at)))[1] == 3  # v2
    finally:
        os.close(fd)
