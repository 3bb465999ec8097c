"""Opening a team store a second time, and fetching a big object, against SeaweedFS on loopback.

What a user relies on: the second open of a store skips the probe of conditional writes (and
boto3) and sends nothing at all, yet no write ever relies on that memory: a server that
ignores ``If-None-Match`` is refused at the first write, whatever the cache dir says, and
nothing is stored. A server that is down is reported, within seconds, by the first call that
needs it (the first read of an object not cached here, or a write), naming that step.
A big object comes down as several ranged GETs at once, byte for byte the object; a damaged
or interrupted one is never kept.

Requests are counted by the HTTP relay of ``test_s3_parallel_reads`` (no delay added).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget._errors import IntegrityError
from dsviz_widget.artifacts import _probe_record, _ranged, _s3, _store
from dsviz_widget.artifacts._s3 import (
    ConditionalWritesNotEnforced,
    RemoteStoreError,
    S3Config,
    S3ObjectStore,
)
from tests import _servers
from tests.team.test_s3_parallel_reads import _Relay, running_relay

KB = 1 << 10


@pytest.fixture
def relay(seaweed_shared: _servers.Seaweed) -> Iterator[_Relay]:
    yield from running_relay(seaweed_shared.endpoint, delay=0.0)


def through(server: _servers.Seaweed, relay: _Relay) -> S3Config:
    return S3Config.from_env({**server.env(), "AWS_ENDPOINT_URL": relay.endpoint})


def writes(relay: _Relay) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in relay.requests if m in ("PUT", "POST", "DELETE")]


def record_place(store: S3ObjectStore) -> tuple[Path, str, str, str]:
    assert store.config.endpoint_url is not None
    return store.cache.root, store.config.endpoint_url, store.bucket, store.prefix


# -- the second open ---------------------------------------------------------------------------
def test_a_second_open_sends_nothing_and_probes_only_before_its_first_write(
    seaweed_shared: _servers.Seaweed, relay: _Relay, s3_url: str, cache_dir: Path
) -> None:
    cfg = through(seaweed_shared, relay)
    first = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir)
    assert first.probed and len(writes(relay)) >= 5  # the probe: PUTs, POSTs
    digest = first.put_bytes(b"stored by the first process")
    assert _s3.wait_for_probe_cleanups(10)  # its abort and DELETE follow the open
    relay.reset()

    second = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir)
    assert relay.requests == []
    assert not second.probed and second._boto is None  # no boto3 client was made
    assert second.read(digest, "a note") == b"stored by the first process"
    assert writes(relay) == []
    # Its first write probes first, once; the write that follows and later ones do not.
    relay.reset()
    other = second.put_bytes(b"stored by the second")
    assert _s3.wait_for_probe_cleanups(10)
    probe_writes = [p for _, p in writes(relay) if "/probe/" in p]
    assert second.probed and len(probe_writes) >= 5
    relay.reset()
    second.put_bytes(b"and a third")
    assert all("/probe/" not in p for _, p in writes(relay))
    assert second.read(other, "a note") == b"stored by the second"


def test_reading_in_a_second_process_never_imports_boto3(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    """The import itself (~0.3 s) and the client (~0.5 s) stay off the read path."""
    writer = S3ObjectStore(s3_url, S3Config.from_env(seaweed_shared.env()), cache_dir=cache_dir)
    digest = writer.put_bytes(b"read elsewhere")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from dsviz_widget.artifacts._s3 import S3Config, S3ObjectStore\n"
        f"s = S3ObjectStore({s3_url!r}, S3Config.from_env(), cache_dir=Path({str(cache_dir)!r}))\n"
        f"data = s.read({digest!r}, 'a note')\n"
        "print(data.decode(), 'boto3' in sys.modules, 'botocore' in sys.modules)\n"
    )
    env = {**os.environ, **seaweed_shared.env(), "PYTHONPATH": str(Path(__file__).parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["read", "elsewhere", "False", "False"]


def test_a_stopped_server_is_reported_by_the_first_read_when_the_probe_is_remembered(
    cache_dir: Path,
) -> None:
    port = _servers.free_ports(1)[0]  # nothing listens there: a stopped server
    endpoint = f"http://127.0.0.1:{port}"
    cfg = S3Config(endpoint_url=endpoint, access_key="a", secret_key="b")
    _probe_record.remember(cache_dir, endpoint, _servers.BUCKET, "team")
    store = S3ObjectStore(f"s3://{_servers.BUCKET}/team", cfg, cache_dir=cache_dir)
    began = time.monotonic()
    with pytest.raises(RemoteStoreError) as down:
        store.read("ab" * 32, "a manifest")
    took = time.monotonic() - began
    assert took < 2.0, f"reporting the stopped server took {took:.1f} s"
    assert down.value.step == f"a manifest: fetching object abababababab from {store.url}"
    assert f"could not reach the S3 server at {endpoint}" in str(down.value)
    assert isinstance(down.value, OSError) and down.value.errno == errno.ECONNREFUSED


def test_a_bucket_gone_since_its_record_is_named_at_the_first_read(
    seaweed_shared: _servers.Seaweed, cache_dir: Path
) -> None:
    """The unsigned HEAD of the open may not tell (SeaweedFS answers 403 for a missing
    bucket); the first read then says what is missing, rather than "object missing"."""
    cfg = S3Config.from_env(seaweed_shared.env())
    assert cfg.endpoint_url is not None
    bucket = f"gone-{uuid.uuid4().hex[:12]}"
    _probe_record.remember(cache_dir, cfg.endpoint_url, bucket, "team")
    store = S3ObjectStore(f"s3://{bucket}/team", cfg, cache_dir=cache_dir)
    with pytest.raises(RemoteStoreError, match=f"no bucket '{bucket}' at") as missing:
        store.read("ab" * 32, "a manifest")
    assert missing.value.step.startswith("a manifest: fetching object abababababab")


@pytest.mark.parametrize("log_first", [False, True], ids=["put", "log"])
def test_an_ignoring_server_with_a_forged_record_is_refused_at_the_first_write(
    ignoring_s3: _servers.IgnoringS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    log_first: bool,
) -> None:
    """A record written for the look-alike (as a stale one from before it was swapped in, or
    a forged one would be) lets it open, and refuses it before anything is stored."""
    cache = tmp_path / "cache"
    _probe_record.remember(cache, ignoring_s3.endpoint, _servers.BUCKET, "team")
    for name, value in {
        "AWS_ENDPOINT_URL": ignoring_s3.endpoint,
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
        "DSVIZ_CACHE_DIR": str(cache),
    }.items():
        monkeypatch.setenv(name, value)
    place = (cache, ignoring_s3.endpoint, _servers.BUCKET, "team")
    dv.finish()
    kwargs = {"dir": f"s3://{_servers.BUCKET}/team", "catalog": str(tmp_path / "c.sqlite")}
    try:
        dv.init(**kwargs)  # opens: the record stood in for the probe
        art = dv.Artifact("cars", type="dataset")
        art.add(dv.Table(columns=["id"], data=[[1], [2]]), "data")
        with pytest.raises(ConditionalWritesNotEnforced, match="would overwrite stored objects"):
            if log_first:
                dv.log_artifact(art)
            else:
                assert dv.run is not None
                dv.run.store.objects.put_bytes(b"anything")
        assert ignoring_s3.objects == {}  # nothing stored; the probe's key is gone
        with pytest.raises(dv.NotFoundError):
            dv.use_artifact("cars:latest")
    finally:
        dv.finish()
    assert not _probe_record.passed(*place)  # the record went with the refusal
    _store._open.clear()  # a new process: the next open probes and refuses at once
    with pytest.raises(ConditionalWritesNotEnforced):
        dv.init(**kwargs)
    assert dv.run is None


# -- what makes a record trusted -----------------------------------------------------------------
def test_only_the_users_own_fresh_record_for_exactly_this_place_is_trusted(tmp_path: Path) -> None:
    place = (tmp_path, "http://127.0.0.1:8333", "team-bucket", "ds")
    assert not _probe_record.passed(*place)
    _probe_record.remember(*place)
    assert _probe_record.passed(*place)
    probes = tmp_path / "probes"
    assert probes.stat().st_mode & 0o777 == 0o700
    (record,) = probes.iterdir()
    assert record.stat().st_mode & 0o777 == 0o600
    # Another place, however close, has no record.
    for other in (
        (tmp_path, "http://127.0.0.1:8334", "team-bucket", "ds"),
        (tmp_path, "https://127.0.0.1:8333", "team-bucket", "ds"),
        (tmp_path, "http://127.0.0.1:8333/", "team-bucket", "ds"),
        (tmp_path, "http://127.0.0.1:8333", "team-bucket", "ds/sub"),
        (tmp_path, "http://127.0.0.1:8333", "other-bucket", "ds"),
    ):
        assert not _probe_record.passed(*other)
    content = json.loads(record.read_text())

    def rewrite(**changes: object) -> None:
        record.chmod(0o600)
        record.write_text(json.dumps({**content, **changes}))

    # A file under this place's name that names another endpoint (copied or edited).
    rewrite(fields={**content["fields"], "endpoint": "http://127.0.0.1:9999"})
    assert not _probe_record.passed(*place)
    for when in (time.time() - _probe_record.TTL - 60, time.time() + 3600, "now", True, None):
        rewrite(passed=when)
        assert not _probe_record.passed(*place), when
    rewrite()
    assert _probe_record.passed(*place)
    # Writable by others: the file, or the directory (anyone could have put the file there).
    record.chmod(0o666)
    assert not _probe_record.passed(*place)
    record.chmod(0o600)
    probes.chmod(0o777)
    assert not _probe_record.passed(*place)
    probes.chmod(0o700)
    assert _probe_record.passed(*place)
    # A link in the record's place is not followed.
    target = tmp_path / "elsewhere.json"
    target.write_text(record.read_text())
    target.chmod(0o600)
    record.unlink()
    record.symlink_to(target)
    assert not _probe_record.passed(*place)
    record.unlink()
    record.write_text("not json")
    record.chmod(0o600)
    assert not _probe_record.passed(*place)
    if os.geteuid() == 0:  # another user's record (only root can make one here)
        _probe_record.remember(*place)
        os.chown(record, 65534, 65534)
        assert not _probe_record.passed(*place)
        os.chown(record, 0, 0)
        os.chown(probes, 65534, 65534)
        assert not _probe_record.passed(*place)


def test_a_cache_dir_others_may_write_gets_no_record(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "probes").mkdir(parents=True)
    (shared / "probes").chmod(0o777)
    place = (shared, "http://127.0.0.1:8333", "team-bucket", "ds")
    _probe_record.remember(*place)
    assert list((shared / "probes").iterdir()) == []
    assert not _probe_record.passed(*place)


# -- a big object, several ranges at once ----------------------------------------------------------
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ranges=st.integers(0, 5),
    extra=st.sampled_from([0, 1, 17, 64 * KB - 1]),
    in_flight=st.integers(1, 4),
)
def test_a_big_object_comes_down_in_ranges_equal_to_the_object(
    seaweed_shared: _servers.Seaweed,
    relay: _Relay,
    s3_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    ranges: int,
    extra: int,
    in_flight: int,
) -> None:
    monkeypatch.setattr(_ranged, "RANGE", 64 * KB)
    monkeypatch.setattr(_s3, "SMALL", 64 * KB)
    monkeypatch.setattr(_ranged, "IN_FLIGHT", in_flight)
    size = ranges * 64 * KB + extra
    data = os.urandom(size)
    cfg = S3Config.from_env(seaweed_shared.env())
    digest = S3ObjectStore(s3_url, cfg, cache_dir=tmp_path_factory.mktemp("w")).put_bytes(data)
    relay.reset()
    reader = S3ObjectStore(
        s3_url, through(seaweed_shared, relay), cache_dir=tmp_path_factory.mktemp("r"), check=False
    )
    assert reader.read(digest, "a big file") == data
    gets = [r for m, p, r in relay.requests if m == "GET" and p.endswith(digest)]
    # One GET per range: the first by the small client (all of an object up to SMALL, with
    # no HEAD first), the rest by pyarrow; an empty object is asked for once.
    assert len(gets) == max(1, -(-size // (64 * KB)))
    heads = [p for m, p, _ in relay.requests if m == "HEAD"]
    assert heads == ([] if 0 < size <= 64 * KB else heads)
    if size > 64 * KB:  # the ranges cover the object once, each as asked
        starts = sorted(int(r.removeprefix("bytes=").split("-")[0]) for r in gets if r)
        assert starts == list(range(0, size, 64 * KB))
    assert list((reader.cache.root / "tmp").iterdir()) == []


def test_a_damaged_big_object_is_refused_naming_the_entry_and_not_kept(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ranged, "RANGE", 256 * KB)
    good = os.urandom(3 * (1 << 20))
    digest = hashlib.sha256(good).hexdigest()
    store = S3ObjectStore(s3_url, S3Config.from_env(seaweed_shared.env()), cache_dir=cache_dir)
    bad = bytearray(good)
    bad[2 * (1 << 20) + 5] ^= 1  # one bit, in a range fetched late
    seaweed_shared.client().put_object(Bucket=_servers.BUCKET, Key=store.key(digest), Body=bad)
    with pytest.raises(IntegrityError) as damaged:
        store.read(digest, "data.table.parquet of cars:v0")
    assert str(damaged.value).startswith("data.table.parquet of cars:v0: stored object")
    assert "is corrupt" in str(damaged.value)
    assert digest not in store.cache
    assert list((cache_dir / "tmp").iterdir()) == []


def test_a_download_cut_off_midway_leaves_nothing_and_a_retry_reads_it_whole(
    seaweed_shared: _servers.Seaweed,
    relay: _Relay,
    s3_url: str,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_ranged, "RANGE", 256 * KB)
    monkeypatch.setattr(_s3, "SMALL", 256 * KB)  # the first range by the small client
    data = os.urandom(3 * (1 << 20))
    digest = S3ObjectStore(
        s3_url, S3Config.from_env(seaweed_shared.env()), cache_dir=cache_dir / "w"
    ).put_bytes(data)
    reader = S3ObjectStore(
        s3_url, through(seaweed_shared, relay), cache_dir=cache_dir / "r", check=False
    )
    relay.reset()
    relay.fail_after = 5  # the server fails every GET after the fifth range
    with pytest.raises(RemoteStoreError) as cut:
        reader.read(digest, "an image")
    assert cut.value.step == f"an image: fetching object {digest[:12]} from {s3_url}"
    assert digest not in reader.cache
    assert list((cache_dir / "r" / "tmp").iterdir()) == []
    relay.fail_after = None
    assert reader.read(digest, "an image") == data


def test_a_forked_child_fetches_big_objects_with_pools_of_its_own(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    """The parent's fetching threads do not exist in a forked child (a notebook forking
    workers): its downloads must not wait forever on them. Forked from a fresh interpreter:
    this pytest process holds other tests' DuckDB state, whose own fork handling is not
    what is tested here."""
    cfg = S3Config.from_env(seaweed_shared.env())
    writer = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir / "w")
    digests = [writer.put_bytes(os.urandom(300 * KB)) for _ in range(2)]
    code = f"""
import hashlib, os, signal
from pathlib import Path
from dsviz_widget.artifacts import _prefetch, _ranged
from dsviz_widget.artifacts._s3 import S3Config, S3ObjectStore
_ranged.RANGE = 64 * 1024
cfg = S3Config.from_env()
parent = S3ObjectStore({s3_url!r}, cfg, cache_dir=Path({str(cache_dir / "parent")!r}), check=False)
got = parent.read({digests[0]!r}, "in the parent")  # the pool now has threads
assert hashlib.sha256(got).hexdigest() == {digests[0]!r}
pid = os.fork()
if pid == 0:
    code = 3
    try:
        signal.alarm(20)  # a child stuck on the parent's pool is killed, not waited on
        # Whether a stale pool hangs depends on how many of its threads had gone idle
        # before the fork: the pools themselves must be new.
        code = 2 if _ranged.POOL.made or _prefetch.POOL.made else 1
        child = S3ObjectStore({s3_url!r}, cfg, cache_dir=Path({str(cache_dir / "child")!r}), check=False)
        got = child.read({digests[1]!r}, "in the child") if code == 1 else b""
        if hashlib.sha256(got).hexdigest() == {digests[1]!r}:
            code = 0
    finally:
        os._exit(code)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""
    env = {**os.environ, **seaweed_shared.env(), "PYTHONPATH": str(Path(__file__).parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=90
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0"]
