"""Fixtures of the team-store tests: servers on 127.0.0.1, started and stopped here.

``seaweed_shared`` serves a whole module (each test writes under its own prefix);
``seaweed`` is a server of the test's own, for tests that stop and restart it. Without the
server binaries the tests skip locally and fail in CI (``CI`` set), where .ci/run installs them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts._catalog_base import BaseCatalog
from dsviz_widget.artifacts._catalog_open import open_catalog
from tests import _servers
from tests._store_kinds import KINDS, StoreKind
from tests.team import _catalogs


@pytest.fixture(scope="module")
def seaweed_shared() -> Iterator[_servers.Seaweed]:
    yield from _servers.started(_servers.seaweed)


@pytest.fixture
def seaweed() -> Iterator[_servers.Seaweed]:
    yield from _servers.started(_servers.seaweed)


@pytest.fixture(scope="module")
def postgres() -> Iterator[_servers.Postgres]:
    yield from _servers.started(_servers.postgres)


@pytest.fixture(
    params=[(False, False), (True, False), (False, True)],
    ids=["ignores-put", "ignores-multipart", "ignores-put-only"],
)
def ignoring_s3(request: pytest.FixtureRequest) -> Iterator[_servers.IgnoringS3]:
    """The look-alike ignoring ``If-None-Match`` on every write, then only when completing
    a multipart upload, then only on a single PUT (the probe's two second writes now go
    together: either alone must be caught)."""
    honour_put, honour_complete = request.param
    with _servers.ignoring_s3(honour_put=honour_put, honour_complete=honour_complete) as server:
        yield server


@pytest.fixture
def s3_url() -> str:
    """A prefix of the test's own in the bucket."""
    return f"s3://{_servers.BUCKET}/t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


# The catalog tests' store location and catalog, one per kind (tests/team/_catalogs.py).
@pytest.fixture(params=_catalogs.KINDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with _catalogs.location_for(request.param, request, tmp_path) as where:
        yield where


@pytest.fixture
def catalog(location: str) -> Iterator[BaseCatalog]:
    cat = open_catalog(location)
    yield cat
    if hasattr(cat, "close"):
        cat.close()


@pytest.fixture
def s3_kind(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StoreKind]:
    """A fresh S3 + SQLite store on the session's server, as ``store_location`` makes it."""
    dv.finish()
    yield KINDS["s3-sqlite"](request, tmp_path, monkeypatch)
    dv.finish()


@pytest.fixture
def own_server_kind(
    seaweed: _servers.Seaweed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[_servers.Seaweed, dict[str, str]]]:
    """A store on a server of the test's own (stopped and started by the test)."""
    for name, value in seaweed.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DSVIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DSVIZ_DIR", raising=False)
    monkeypatch.delenv("DSVIZ_CATALOG", raising=False)
    kwargs = {"dir": f"s3://{seaweed.bucket}/team", "catalog": str(tmp_path / "catalog.sqlite")}
    dv.finish()
    yield seaweed, kwargs
    dv.finish()
