"""The engine shares a filter's count across the sorts of one source. A source known by its
id (in-memory Arrow, joins) must never get the count of an earlier, freed source whose id
Python reused: that would show a wrong number of rows."""

from __future__ import annotations

import gc

import numpy as np
import pyarrow as pa

from dsviz_widget.engine import Engine, Query, Source


def test_counts_of_freed_sources_never_answer_for_new_ones() -> None:
    engine = Engine(background=False, max_views=1)  # views and relations evicted at once
    rng = np.random.default_rng(0)
    for i in range(120):
        x = rng.integers(0, 10, size=int(rng.integers(1, 50)))
        src = Source.from_arrow(pa.table({"x": x}))
        view = engine.view(src, Query(filter="x > 4", sort=["-x"]))
        assert view.num_rows == int((x > 4).sum()), i
        del src, view
        gc.collect()  # free the source, so the next one may reuse its id
