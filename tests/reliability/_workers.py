"""Writer and reader processes for the concurrency matrix (forked from the forkserver)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tests.reliability._common import make_table

NAME = "contended"


def table_for(writer: int, i: int) -> Any:
    return make_table(writer * 1000 + i, rows=8)


def writer(root: str, w: int, saves: int, start: Any, out: str) -> None:
    import dsviz_widget as dv

    os.environ["DSVIZ_PROGRESS"] = "0"
    tables = [table_for(w, i) for i in range(saves)]
    start.wait()
    dv.init(dir=root, job_type="writer")
    told = []
    for i in range(saves):
        art = dv.Artifact(NAME, type="predictions", metadata={"writer": w, "i": i})
        art.add(tables[i], "table")
        dv.log_artifact(art)
        told.append([i, art.version_index])
    dv.finish()
    Path(out).write_text(json.dumps(told))


def reader(root: str, stop: Any, ready: Any, out: str) -> None:
    """Read ``:latest`` in a loop: the whole version, every file re-hashed, equal to what its
    writer logged; never an error, never a version older than one seen before."""
    import dsviz_widget as dv
    from dsviz_widget.artifacts._store import Store

    os.environ["DSVIZ_PROGRESS"] = "0"
    store = Store(Path(root))
    seen: list[int] = []
    files = 0
    ready.set()
    last = False
    while not last:
        last = stop.is_set()  # one more read after the writers finished: the final version
        try:
            row = store.catalog.resolve(f"{NAME}:latest")
        except dv.NotFoundError:
            if seen:
                raise
            time.sleep(0.005)
            continue
        assert not seen or row.version >= seen[-1], (
            f"latest went back from v{seen[-1]} to v{row.version}"
        )
        manifest = Manifest_of(store, row)
        for entry in manifest.entries.values():  # every file of the version, hashed now
            store.objects.read(entry.digest, row.qualified_name)
            files += 1
        from dsviz_widget.artifacts import _serialize

        table = _serialize.read(store, row, "table")
        w, i = row.metadata["writer"], row.metadata["i"]
        assert table == table_for(w, i), f"{row.qualified_name} is not what writer {w} logged"
        for image in table.get_column("image"):
            if image is not None:
                image.to_bytes()  # media files too (read through the digest check)
        seen.append(row.version)
    Path(out).write_text(json.dumps({"seen": seen, "files": files}))


def Manifest_of(store: Any, row: Any) -> Any:
    return store.manifest(row)
