"""The test servers themselves: loopback only, private directories, nothing left running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import _servers


def _listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of the TCP sockets ``pid`` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                address, port = cols[1].split(":")
                found.add((address, int(port, 16)))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_seaweed_listens_on_loopback_only_and_stops_whole(
    seaweed: _servers.Seaweed,
) -> None:
    assert seaweed.proc is not None
    pid = seaweed.proc.pid
    listening = _listening(pid)
    assert ("0100007F", seaweed.ports["s3"]) in listening  # 127.0.0.1, little-endian hex
    assert {address for address, _ in listening} == {"0100007F"}
    assert seaweed.started_in < 30
    seaweed.stop()
    assert not Path(f"/proc/{pid}").exists()
    for port in [*seaweed.ports.values(), seaweed.ports["admin"] + 10000]:
        assert list(Path("/tmp").glob(f"seaweedfs-*-{port}.sock")) == []


def test_postgres_runs_unprivileged_on_loopback(postgres: _servers.Postgres) -> None:
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(postgres.url) as conn:
        conn.execute("CREATE TABLE t (id integer PRIMARY KEY, name text)")
        conn.execute("INSERT INTO t VALUES (%s, %s), (%s, %s)", (1, "a", 2, "b"))
        assert conn.execute("SELECT name FROM t ORDER BY id").fetchall() == [("a",), ("b",)]
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('listen_addresses', 'port', 'unix_socket_directories')"
            ).fetchall()
        )
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "port": str(postgres.port),
        "unix_socket_directories": str(postgres.sockets),
    }
    assert pid is not None
    uid = os.stat(f"/proc/{pid[0]}").st_uid
    assert uid != 0 and (os.geteuid() != 0 or uid == postgres.user.pw_uid)  # type: ignore[union-attr]
