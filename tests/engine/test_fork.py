"""A process that has queried tables can fork (``multiprocessing``'s default on Linux, e.g.
a data loader's workers): the children query on their own engine, and neither they nor the
parent hang or crash. Run in a fresh interpreter: pytest's own threads make a fork here
a different test."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp
    import os
    import sys

    import numpy as np
    import pandas as pd

    import dsviz_widget as dv

    n = 200_000
    df = pd.DataFrame({"x": np.arange(n) % 997 * 0.5, "k": np.arange(n) % 7})
    art = dv.Artifact("forked", type="dataset")
    art.add(dv.Table(dataframe=df), "t")
    dv.log_artifact(art)
    table = dv.use_artifact("forked:latest").get("t")  # Parquet: a connection per file, a spare
    want = df.sort_values("x", ascending=False, kind="stable").iloc[1000:1010]
    # The parent uses the engine first: connections, a spare, the background order.
    got = table.query(sort="-x", offset=1000, limit=10)
    assert got["x"].tolist() == want["x"].tolist()

    def child(i):
        page = table.query(sort="-x", offset=1000 + i, limit=10)
        ref = df.sort_values("x", ascending=False, kind="stable").iloc[1000 + i : 1010 + i]
        return page["x"].tolist() == ref["x"].tolist() and len(table.query(filter="k == 3")) > 0

    from dsviz_widget.engine import _background

    parent_tmp = _background.temp_dir()
    pid = os.fork()
    if pid == 0:
        ok = child(0)
        sys.exit(0 if ok else 3)  # a normal exit: atexit handlers, finalizers, teardown
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status

    with mp.get_context("fork").Pool(2) as pool:
        assert all(pool.map(child, range(4)))

    # The parent goes on with its own engine; its temp files are its own.
    assert os.path.isdir(parent_tmp)
    again = table.query(sort="-x", offset=1000, limit=10)
    assert again["x"].tolist() == want["x"].tolist()
    print("ok")
    """
)


def test_children_forked_after_queries_query_on_their_own(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**__import__("os").environ, "DSVIZ_DIR": str(tmp_path / "store")},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
