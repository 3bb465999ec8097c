"""The store on a PostgreSQL catalog: the whole API with ``open_catalog(url)`` as the one change.

The store directory (local objects) is what it always is; only the catalog the store opens is
the PostgreSQL one, given to it where it asks ``open_catalog``. Everything a user does goes
through it: log with aliases, a run's history, use in another run, get, lineage, gc, verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import _store
from dsviz_widget.artifacts._catalog_open import open_catalog
from tests.artifacts._data import image_table
from tests.team import _catalogs


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with _catalogs.location_for("postgresql", request, tmp_path) as url:
        yield url


def test_the_store_runs_on_a_postgresql_catalog(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_store, "_open", {})  # this test's stores, forgotten after it
    monkeypatch.setattr(_store, "open_catalog", lambda _path: open_catalog(pg_url))
    root = tmp_path / "store"
    table = image_table(5)
    with dv.init(dir=root, project="cars", job_type="make") as maker:
        art = dv.Artifact("cars", type="dataset")
        art.add(table, "data")
        maker.log_artifact(art, aliases=["best"])
        maker.log({"loss": 0.5})
        maker.log({"loss": 0.25})
    with dv.init(dir=root, job_type="train") as trainer:
        used = trainer.use_artifact("cars:best")
        got = used.get("data")
        assert got == table
        assert got.to_pandas().equals(table.to_pandas())
        again = dv.Artifact("cars", type="dataset")
        again.add(image_table(5, seed=1), "data")
        trainer.log_artifact(again)
    assert not (root / "catalog.sqlite").exists()  # nothing of the catalog is local

    catalog = open_catalog(pg_url)  # what another machine sees
    assert [r.version for r in catalog.versions("cars")] == [0, 1]
    assert catalog.resolve("cars:best").version == 0
    assert catalog.resolve("cars:latest").run_id == trainer.id
    assert sorted(catalog.lineage_edges()) == sorted(
        [
            (maker.id, "cars", 0, "produced"),
            (trainer.id, "cars", 0, "used"),
            (trainer.id, "cars", 1, "produced"),
        ]
    )
    assert [row["loss"] for row in catalog.history(maker.id)] == [0.5, 0.25]
    assert catalog.run(maker.id)["summary"]["loss"] == 0.25
    assert catalog.run(trainer.id)["state"] == "finished"

    graph = dv.lineage("cars:v0", dir=root)
    kinds = sorted(e["kind"] for e in graph["edges"])
    assert kinds == ["produced", "produced", "used"]

    report = dv.gc(dir=root, grace_seconds=0)
    assert report.removed_objects == 0  # every object belongs to a version in PostgreSQL
    assert dv.verify(dir=root).ok
    with dv.init(dir=root, job_type="check") as checker:
        assert checker.use_artifact("cars:v1").get("data") == image_table(5, seed=1)
