"""A table logged by Dask workers, shown in JupyterLab: one table across its parts.

The notebook starts a 2-worker ``LocalCluster`` on 127.0.0.1, logs a Dask DataFrame of 8
partitions whose images the workers make (one solid colour per partition), reads it back
and shows it. A person sees every row of every part, numbered in partition order, and each
row's thumbnail in its partition's colour, also after sorting across the parts.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_cell, run_notebook

pytestmark = pytest.mark.browser
pytest.importorskip("dask.distributed")

COLOURS = [(200, 30, 30), (30, 160, 40), (40, 60, 210), (220, 180, 20)]

SETUP = f"""
import tempfile
import dask, dask.dataframe as dd, numpy as np, pandas as pd
from dask.distributed import Client, LocalCluster
import dsviz_widget as dv

COLOURS = {COLOURS!r}
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                       host="127.0.0.1", dashboard_address=None)
client = Client(cluster)
dv.init(dir=tempfile.mkdtemp(), project="dask-widget")

def part(p):
    colour = np.array(COLOURS[p % 4], np.uint8)
    ids = list(range(p * 25, p * 25 + 25))
    images = [dv.Image(np.broadcast_to(colour, (48, 64, 3)).copy(), caption=f"part {{p}}",
                       boxes={{"gt": {{"box_data": [{{"position": {{"minX": 4, "maxX": 30,
                       "minY": 4, "maxY": 30}}, "domain": "pixel", "class_id": p % 3}}]}}}})
              for _ in ids]
    return pd.DataFrame({{"id": ids, "part": [p] * 25, "image": images}})

meta = part(0).iloc[:0]
with dask.config.set({{"dataframe.convert-string": False}}):
    frame = dd.from_delayed([dask.delayed(part)(p) for p in range(8)], meta=meta)
art = dv.Artifact("spread", type="dataset")
art.add(dv.Table(dataframe=frame), "t")
dv.log_artifact(art)
t = dv.use_artifact("spread:latest").get("t")
"""


def wait_status(root: Locator, pattern: str) -> None:
    root.locator(".dv-status", has_text=re.compile(pattern)).wait_for(timeout=60_000)


def row(root: Locator, index: int) -> Locator:
    return root.locator(f".dv-row[aria-rowindex='{index}'][data-loaded='1']")


def thumb_colour(cell: Locator) -> list[int]:
    """The thumbnail's pixel near its lower right corner (away from the box)."""
    cell.locator(".dv-img:not(.dv-loading)").wait_for()
    return cell.locator(".dv-img canvas").evaluate(
        """c => { const d = c.getContext('2d').getImageData(Math.floor(c.width * 0.85),
                    Math.floor(c.height * 0.85), 1, 1).data; return [d[0], d[1], d[2], d[3]]; }"""
    )


def close(got: list[int], want: tuple[int, int, int]) -> bool:
    return got[3] > 0 and all(abs(a - b) <= 12 for a, b in zip(got[:3], want, strict=False))


def test_a_table_logged_by_dask_workers_shows_as_one_table(lab: Lab, session: Session) -> None:
    root = run_notebook(lab, session, "dask_table.ipynb", [SETUP, "t"])
    wait_status(root, r"200 of 200 rows")
    first = row(root, 1)
    first.wait_for(timeout=60_000)
    assert first.locator("[data-col='id']").inner_text() == "0"
    assert close(thumb_colour(first.locator("[data-col='image']")), COLOURS[0])
    session.shot("dask-table-top")

    # The last row is the last part's last row: ids are global, in partition order.
    root.locator(".dv-scroller").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = row(root, 200)
    last.wait_for(timeout=30_000)
    assert last.locator("[data-col='id']").inner_text() == "199"
    assert last.locator("[data-col='part']").inner_text() == "7"
    assert close(thumb_colour(last.locator("[data-col='image']")), COLOURS[7 % 4])
    session.shot("dask-table-bottom")

    # Sorted across the parts from Python: part 7 (then 6 ...) first, each row in its colour.
    run_cell(session, "w = dv.show(t); w.sort = ['-part', 'id']; w")
    sorted_root = session.page.locator(".dv-root").last
    wait_status(sorted_root, r"200 of 200 rows")
    top = row(sorted_root, 1)
    top.wait_for(timeout=60_000)
    assert top.locator("[data-col='id']").inner_text() == "175"
    assert close(thumb_colour(top.locator("[data-col='image']")), COLOURS[3])
    twenty_sixth = row(sorted_root, 26)
    sorted_root.locator(".dv-scroller").evaluate(
        "el => { el.scrollTop = el.querySelector('.dv-row').getBoundingClientRect().height * 24; }"
    )
    twenty_sixth.wait_for(timeout=30_000)
    assert twenty_sixth.locator("[data-col='part']").inner_text() == "6"
    assert close(thumb_colour(twenty_sixth.locator("[data-col='image']")), COLOURS[2])
    session.shot("dask-table-sorted")
    run_cell(session, "client.close(); cluster.close()")
    assert not session.console_errors, session.console_errors
