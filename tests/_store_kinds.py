"""The kinds of store the store test suite runs against, through one fixture.

``store_location`` is parametrised over :data:`KINDS`: each kind makes a fresh, empty store
for one test, sets ``DSVIZ_DIR`` / ``DSVIZ_CATALOG`` (and the AWS variables a remote kind
needs) so module-level calls use it, and gives the test ``kwargs`` for ``dv.init`` and
helpers that look at the stored objects the way another program could (never through the
store under test). Adding a kind is one line in ``KINDS``.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import _servers


@dataclass
class StoreKind:
    """A fresh store of one kind for one test."""

    name: str
    #: ``dv.init(**kwargs)`` (also ``dv.verify`` / ``dv.gc``): ``dir`` and ``catalog``.
    kwargs: dict[str, str]
    #: Digest -> stored bytes, as the backend holds them (not through the store's cache).
    digests: Callable[[], list[str]]
    object_bytes: Callable[[], int]
    read: Callable[[str], bytes]
    damage: Callable[[str, bytes], None]
    remove: Callable[[str], None]
    #: What a new process on a new machine would not have: the local read cache (remote).
    cache: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        return self.kwargs["dir"].startswith("s3://")

    @property
    def workdir(self) -> Path:
        """The store's local directory (for a remote store, its working one in the cache)."""
        from dsviz_widget.artifacts import local_dir, resolve_location

        return local_dir(resolve_location(self.kwargs["dir"], self.kwargs["catalog"])[0])

    def forget(self) -> None:
        """Drop what this process (and, for a remote store, this machine) knows of the store:
        the next open is a new process's, on a new machine."""
        import dsviz_widget as dv
        from dsviz_widget.artifacts import _store

        dv.finish()  # the current run holds its store
        _store._open.clear()
        if self.cache is not None:
            shutil.rmtree(self.cache, ignore_errors=True)

    def open(self) -> Any:
        """The store object (shared per process, as ``dv.init`` opens it)."""
        from dsviz_widget.artifacts import open_store

        return open_store(self.kwargs["dir"], self.kwargs["catalog"])


def _local(request: pytest.FixtureRequest, tmp_path: Path, env: pytest.MonkeyPatch) -> StoreKind:
    root = tmp_path / "store"
    env.setenv("DSVIZ_DIR", str(root))
    env.delenv("DSVIZ_CATALOG", raising=False)

    def files() -> list[Path]:
        return [f for f in (root / "objects").rglob("*") if f.is_file()]

    def damage(digest: str, data: bytes) -> None:
        path = root / "objects" / digest[:2] / digest
        path.chmod(0o644)
        path.write_bytes(data)

    return StoreKind(
        "local",
        {"dir": str(root), "catalog": str(root / "catalog.sqlite")},
        digests=lambda: sorted(f.name for f in files()),
        object_bytes=lambda: sum(f.stat().st_size for f in files()),
        read=lambda d: (root / "objects" / d[:2] / d).read_bytes(),
        damage=damage,
        remove=lambda d: (root / "objects" / d[:2] / d).unlink(),
    )


def _s3_sqlite(
    request: pytest.FixtureRequest, tmp_path: Path, env: pytest.MonkeyPatch
) -> StoreKind:
    """Objects in a bucket of the session's SeaweedFS (a prefix of the test's own), the
    catalog a SQLite file on this machine."""
    catalog = str(tmp_path / "catalog" / "catalog.sqlite")
    return _s3(request, tmp_path, env, catalog, "s3-sqlite")


def _s3_postgresql(
    request: pytest.FixtureRequest, tmp_path: Path, env: pytest.MonkeyPatch
) -> StoreKind:
    """Objects as for ``s3-sqlite``, the catalog a database of the test's own on the
    session's PostgreSQL."""
    import psycopg
    from psycopg import sql

    server: _servers.Postgres = request.getfixturevalue("postgres_session")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host=_servers.HOST, port=server.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql://postgres@{_servers.HOST}:{server.port}/{name}"
    return _s3(request, tmp_path, env, url, "s3-postgresql")


def _s3(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    env: pytest.MonkeyPatch,
    catalog: str,
    name: str,
) -> StoreKind:
    server: _servers.Seaweed = request.getfixturevalue("seaweed_session")
    for variable, value in server.env().items():
        env.setenv(variable, value)
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    url = f"s3://{server.bucket}/{prefix}"
    env.setenv("DSVIZ_DIR", url)
    env.setenv("DSVIZ_CATALOG", catalog)
    env.setenv("DSVIZ_CACHE_DIR", str(tmp_path / "cache"))
    client = server.client()
    base = f"{prefix}/objects/"

    def listing() -> list[dict[str, Any]]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=server.bucket, Prefix=base)
        return [item for page in pages for item in page.get("Contents", [])]

    def key(digest: str) -> str:
        return f"{base}{digest[:2]}/{digest}"

    def damage(digest: str, data: bytes) -> None:
        # Another program writing over the key (the store itself never would).
        client.put_object(Bucket=server.bucket, Key=key(digest), Body=data)

    return StoreKind(
        name,
        {"dir": url, "catalog": catalog},
        digests=lambda: sorted(item["Key"].rsplit("/", 1)[1] for item in listing()),
        object_bytes=lambda: sum(int(item["Size"]) for item in listing()),
        read=lambda d: client.get_object(Bucket=server.bucket, Key=key(d))["Body"].read(),
        damage=damage,
        remove=lambda d: client.delete_object(Bucket=server.bucket, Key=key(d)),
        cache=tmp_path / "cache",
        extra={"server": server, "client": client, "prefix": prefix},
    )


#: name -> how to make a fresh store of that kind for one test.
KINDS: dict[str, Callable[[pytest.FixtureRequest, Path, pytest.MonkeyPatch], StoreKind]] = {
    "local": _local,
    "s3-sqlite": _s3_sqlite,
    "s3-postgresql": _s3_postgresql,
}


@pytest.fixture(scope="session")
def seaweed_session() -> Iterator[_servers.Seaweed]:
    """One SeaweedFS for the whole run (each test writes under its own prefix)."""
    yield from _servers.started(_servers.seaweed)


@pytest.fixture(scope="session")
def postgres_session() -> Iterator[_servers.Postgres]:
    """One PostgreSQL for the whole run (each test makes a database of its own)."""
    yield from _servers.started(_servers.postgres)


@pytest.fixture(params=list(KINDS))
def store_location(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StoreKind]:
    """A fresh store of each kind in turn, set as the default store (``DSVIZ_DIR``)."""
    import dsviz_widget as dv

    kind = KINDS[request.param](request, tmp_path, monkeypatch)
    dv.finish()
    yield kind
    dv.finish()
