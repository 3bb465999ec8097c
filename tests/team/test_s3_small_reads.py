"""Small objects fetched by the standard-library client, against SeaweedFS on loopback.

What a user relies on: the first objects of a table (its manifest, its head object) come
down in one GET each, with no pyarrow ``S3FileSystem`` made and no HEAD first, byte for byte
what was stored, whatever the object's size around the threshold and whatever the store's
prefix; a bigger object's first range comes that way and the rest through pyarrow, the same
bytes. Where the small client cannot stand in (``_sigv4.unsupported``), pyarrow reads all of
it, the same bytes. Failures keep their typed form naming the step: a missing object, a
missing bucket, refused credentials, a server that does not answer or that stops
mid-answer (one that is down: ``test_s3_open``); nothing unverified is kept.

Requests are counted by the HTTP relay of ``test_s3_parallel_reads`` (no delay added).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget._errors import IntegrityError, MissingObjectError
from dsviz_widget.artifacts import _ranged, _s3, _sigv4
from dsviz_widget.artifacts._s3 import RemoteStoreError, S3Config, S3ObjectStore
from tests import _servers
from tests.team.test_s3_parallel_reads import _Relay, running_relay

KB = 1 << 10
MB = 1 << 20
#: The threshold in these tests (the real one, 8 MiB, would make each example slow).
SMALL = 64 * KB


@pytest.fixture
def relay(seaweed_shared: _servers.Seaweed) -> Iterator[_Relay]:
    yield from running_relay(seaweed_shared.endpoint, delay=0.0)


@pytest.fixture(autouse=True)
def no_machine_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No profile or proxy of this machine decides which client reads (tested elsewhere)."""
    for name in ("AWS_PROFILE", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))


def through(server: _servers.Seaweed, relay: _Relay) -> S3Config:
    return S3Config.from_env({**server.env(), "AWS_ENDPOINT_URL": relay.endpoint})


# -- round trips --------------------------------------------------------------------------------
_PREFIX_PART = st.text(
    alphabet=st.sampled_from("aZ09-_.~ +%=&@!$'()*,;:éü中"), min_size=1, max_size=12
).filter(lambda p: p not in (".", ".."))


@settings(
    max_examples=16,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    size=st.sampled_from([0, 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL + 17]),
    prefix=st.lists(_PREFIX_PART, min_size=1, max_size=3).map("/".join),
    small_client=st.booleans(),
)
def test_objects_round_trip_whole_through_either_client(
    seaweed_shared: _servers.Seaweed,
    relay: _Relay,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    size: int,
    prefix: str,
    small_client: bool,
) -> None:
    monkeypatch.setattr(_s3, "SMALL", SMALL)
    monkeypatch.setattr(_ranged, "RANGE", SMALL)
    url = f"s3://{_servers.BUCKET}/{prefix}"
    data = os.urandom(size)
    writer = S3ObjectStore(
        url, S3Config.from_env(seaweed_shared.env()), cache_dir=tmp_path_factory.mktemp("w")
    )
    digest = writer.put_bytes(data)
    with monkeypatch.context() as patch:
        if not small_client:
            patch.setattr(_sigv4, "for_config", lambda config, bucket: None)
        reader = S3ObjectStore(
            url, through(seaweed_shared, relay), cache_dir=tmp_path_factory.mktemp("r"), check=False
        )
        relay.reset()
        assert reader.read(digest, "an entry") == data
    assert reader.read(digest, "an entry") == data  # again: from the cache
    asked = [(m, r) for m, p, r in relay.requests if p.endswith(digest)]
    gets = [r for m, r in asked if m == "GET"]
    if small_client and 0 < size <= SMALL:
        # One GET, no HEAD, and no pyarrow client made for it.
        assert asked == [("GET", f"bytes=0-{SMALL - 1}")]
        assert reader._fs is None
    elif small_client:  # the first range by the small client, the rest by pyarrow's
        assert gets[0] == f"bytes=0-{SMALL - 1}"
        assert len(gets) == max(1, -(-size // SMALL))
    else:  # pyarrow's client: a HEAD for the size first
        assert asked[0] == ("HEAD", None)
    assert list((reader.cache.root / "tmp").iterdir()) == []


def test_a_table_read_on_a_new_machine_makes_no_pyarrow_client_for_its_small_objects(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    """A manifest and a small table: read with no ``S3FileSystem`` (the AWS SDK's start-up)."""
    cfg = S3Config.from_env(seaweed_shared.env())
    writer = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir / "w")
    digests = [writer.put_bytes(os.urandom(n)) for n in (300, 40 * KB, 2 * MB)]
    reader = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir / "r", check=False)
    for digest in digests:
        assert hashlib.sha256(reader.read(digest, "an entry")).hexdigest() == digest
    assert reader._fs is None and reader._boto is None


# -- failures -----------------------------------------------------------------------------------
def test_a_missing_object_and_a_missing_bucket_are_named(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    cfg = S3Config.from_env(seaweed_shared.env())
    store = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir, check=False)
    with pytest.raises(MissingObjectError, match=f"a label file: stored object {'ab' * 32} is"):
        store.read("ab" * 32, "a label file")
    gone = S3ObjectStore("s3://no-such-bucket-here/team", cfg, cache_dir=cache_dir, check=False)
    with pytest.raises(RemoteStoreError, match="no bucket 'no-such-bucket-here' at") as missing:
        gone.read("ab" * 32, "a manifest")
    assert missing.value.step.startswith("a manifest: fetching object abababababab")
    assert list((cache_dir / "tmp").iterdir()) == []


def test_refused_credentials_are_named_with_the_step(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    good = S3Config.from_env(seaweed_shared.env())
    digest = S3ObjectStore(s3_url, good, cache_dir=cache_dir / "w").put_bytes(b"secret rows")
    bad = S3Config.from_env({**seaweed_shared.env(), "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    store = S3ObjectStore(s3_url, bad, cache_dir=cache_dir / "r", check=False)
    with pytest.raises(RemoteStoreError) as refused:
        store.read(digest, "a manifest")
    assert refused.value.step == f"a manifest: fetching object {digest[:12]} from {s3_url}"
    assert f"the S3 server at {good.endpoint_url} answered" in str(refused.value)
    assert "SignatureDoesNotMatch" in str(refused.value) or "AccessDenied" in str(refused.value)
    assert "not-the-secret" not in str(refused.value)
    assert digest not in store.cache


def test_a_server_that_does_not_answer_is_reported_after_the_read_timeout(
    cache_dir: Path,
) -> None:
    with socket.create_server((_servers.HOST, 0)) as silent:  # accepts, never answers
        endpoint = f"http://{_servers.HOST}:{silent.getsockname()[1]}"
        cfg = S3Config(endpoint_url=endpoint, access_key="a", secret_key="b", read_timeout=0.3)
        store = S3ObjectStore(f"s3://{_servers.BUCKET}/team", cfg, cache_dir=cache_dir, check=False)
        with pytest.raises(RemoteStoreError) as late:
            store.read("ef" * 32, "a manifest")
    assert late.value.step.startswith("a manifest: fetching object efefefefefef")
    assert f"the S3 server at {endpoint} did not answer in time" in str(late.value)
    assert list((cache_dir / "tmp").iterdir()) == []


def test_a_server_stopped_mid_answer_leaves_nothing_and_a_restart_reads_it_whole(
    seaweed: _servers.Seaweed, s3_url: str, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real server killed after the first MiB of a 48 MiB answer reached us (more than
    loopback's socket buffers hold): the read fails naming its step, nothing is kept."""
    size = 48 * MB
    monkeypatch.setattr(_s3, "SMALL", size)  # all of it in the small client's one GET
    data = os.urandom(size)
    cfg = S3Config.from_env(seaweed.env())
    digest = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir / "w").put_bytes(data)
    reader = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir / "r", check=False)
    real = _sigv4.Client._body
    killed = threading.Event()

    def body(self: _sigv4.Client, stream: object, length: int | None) -> Iterator[bytes]:
        for chunk in real(self, stream, length):  # type: ignore[arg-type]
            if not killed.is_set():
                seaweed.kill()  # as a crash would, with the answer under way
                killed.set()
            yield chunk

    monkeypatch.setattr(_sigv4.Client, "_body", body)
    with pytest.raises(RemoteStoreError) as cut:
        reader.read(digest, "data.table.parquet of cars:v0")
    assert killed.is_set()
    assert cut.value.step == (
        f"data.table.parquet of cars:v0: fetching object {digest[:12]} from {s3_url}"
    )
    assert f"the S3 server at {cfg.endpoint_url} stopped mid-answer" in str(cut.value)
    assert digest not in reader.cache
    assert list((cache_dir / "r" / "tmp").iterdir()) == []
    monkeypatch.setattr(_sigv4.Client, "_body", real)
    seaweed.start()
    assert reader.read(digest, "data.table.parquet of cars:v0") == data


def test_a_corrupt_small_object_is_refused_and_not_kept(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    store = S3ObjectStore(s3_url, S3Config.from_env(seaweed_shared.env()), cache_dir=cache_dir)
    digest = hashlib.sha256(b"the manifest").hexdigest()
    seaweed_shared.client().put_object(
        Bucket=_servers.BUCKET, Key=store.key(digest), Body=b"another manifest"
    )
    with pytest.raises(IntegrityError, match=f"manifest of cars:v0: stored object {digest}"):
        store.read(digest, "manifest of cars:v0")
    assert digest not in store.cache
    assert list((cache_dir / "tmp").iterdir()) == []
