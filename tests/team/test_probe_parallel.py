"""The open's probe of conditional writes sends its independent requests at once.

A cold open (a machine that never saw the server) must know that the server refuses a
second conditional write before the store is used. Its 7 requests now go in parallel
branches, each on a connection of its own: the first PUT beside the multipart upload's
creation and part, then the second PUT beside the conditional completion, and the cleanup
(abort, DELETE) after the open has returned. What a user relies on, checked here through a
relay in front of the session's SeaweedFS that holds every request a little (a network's
round trip) and writes down when each arrived, on which connection, and when it was
answered:

- the open waits for three round trips, not seven, and each second write is sent only after
  the first PUT was answered (the same guarantee as one after the other);
- the cleanup still happens, also when the process exits right after the open;
- failures read as before: the same type and step for a server that stops mid-probe, a
  bucket that does not exist; a server ignoring the header on only one of the two second
  writes is refused (``ignoring_s3``'s three kinds, tests/team/test_s3_objects.py);
- ``dv.init`` opens the catalog while the probe runs, and the probe's error still comes
  first.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import xml.sax.saxutils
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget.artifacts import _probe_record, _s3, _sigv4, _store
from dsviz_widget.artifacts._s3 import (
    ConditionalWritesNotEnforced,
    RemoteStoreError,
    S3Config,
    S3ObjectStore,
)
from tests import _servers
from tests.team.test_probe_client import (  # noqa: F401  (an autouse fixture)
    clean_env,
    no_machine_settings,
    small_client_probes,
    through_boto3,
)
from tests.team.test_s3_parallel_reads import _Relay, _RelayHandler

ROOT = Path(__file__).parents[2]
#: How long the relay holds every request (a round trip on a real network).
HOLD = 0.2


@dataclass(frozen=True)
class Seen:
    """One request as the relay saw it."""

    what: str  # put, create, part, complete, abort, delete
    connection: int  # the client's port: one per kept-alive connection
    arrived: float
    answering: float  # when the relay began sending the answer (the client has it after)


def _kind(method: str, query: dict[str, list[str]]) -> str:
    if method == "PUT":
        return "part" if "partNumber" in query else "put"
    if method == "POST":
        return "create" if "uploads" in query else "complete"
    if method == "DELETE":
        return "abort" if "uploadId" in query else "delete"
    return method.lower()


class _Holding(_RelayHandler):
    """Relays like the reads' relay, holding every request :data:`HOLD` seconds first, and
    then answering nothing more after ``stop_after`` requests (a server that stopped)."""

    server: _TimedRelay

    def send_response(self, code: int, message: str | None = None) -> None:
        self._answering = time.monotonic()
        super().send_response(code, message)

    def _timed(self) -> None:
        arrived = time.monotonic()
        url = urlsplit(self.path)
        with self.server.lock:
            self.server.count += 1
            stopped = (
                self.server.stop_after is not None and self.server.count > self.server.stop_after
            )
        if stopped:  # no answer, and no more connections: the server went away
            self.close_connection = True
            threading.Thread(target=self.server.go_away, daemon=True).start()
            return
        time.sleep(self.server.hold)
        self._relay()
        seen = Seen(
            _kind(self.command, parse_qs(url.query, keep_blank_values=True)),
            self.client_address[1],
            arrived,
            self._answering,
        )
        with self.server.lock:
            self.server.seen.append(seen)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _timed


class _TimedRelay(_Relay):
    def __init__(self, target: str, hold: float, stop_after: int | None = None) -> None:
        super().__init__(target, 0.0)
        self.RequestHandlerClass = _Holding
        self.hold = hold
        self.stop_after = stop_after
        self.count = 0
        self.seen: list[Seen] = []
        self._gone = threading.Event()
        self._serving = threading.Thread(target=self.serve_forever, daemon=True)
        self._serving.start()

    def go_away(self) -> None:
        """Stop serving and close the listening socket (new connections are refused)."""
        if not self._gone.is_set():
            self._gone.set()
            self.shutdown()
            self.server_close()
            self._serving.join(10)

    def puts(self) -> list[Seen]:
        """The probe's two single PUTs, in the order they arrived."""
        return sorted(self._seen("put", 2), key=lambda s: s.arrived)

    def one(self, what: str) -> Seen:
        return self._seen(what, 1)[0]

    def _seen(self, what: str, n: int) -> list[Seen]:
        """The ``n`` requests of kind ``what``. A request is recorded once its answer has
        been sent, so the client may be done with it a moment before: wait up to 5 s."""
        deadline = time.monotonic() + 5.0
        while True:
            with self.lock:
                found = [s for s in self.seen if s.what == what]
            if len(found) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert len(found) == n, (what, self.seen)
        return found


@contextmanager
def timed_relay(
    target: str, hold: float = HOLD, stop_after: int | None = None
) -> Iterator[_TimedRelay]:
    server = _TimedRelay(target, hold, stop_after)
    try:
        yield server
    finally:
        server.go_away()


@pytest.fixture
def relay(seaweed_shared: _servers.Seaweed) -> Iterator[_TimedRelay]:
    with timed_relay(seaweed_shared.endpoint) as server:
        yield server


def config(seaweed: _servers.Seaweed, endpoint: str) -> S3Config:
    cfg = S3Config.from_env({**seaweed.env(), "AWS_ENDPOINT_URL": endpoint})
    small_client_probes(cfg)
    return cfg


def nothing_left(seaweed: _servers.Seaweed, url: str) -> None:
    """No probe key and no unfinished upload under the store's prefix."""
    prefix = url.removeprefix(f"s3://{_servers.BUCKET}/") + "/"
    client = seaweed.client()
    assert client.list_objects_v2(Bucket=_servers.BUCKET, Prefix=prefix).get("KeyCount", 0) == 0
    uploads = client.list_multipart_uploads(Bucket=_servers.BUCKET, Prefix=prefix)
    assert uploads.get("Uploads", []) == []


# -- three round trips, the same guarantee ------------------------------------------------------
def test_the_open_waits_three_round_trips_and_each_second_write_follows_the_first(
    seaweed_shared: _servers.Seaweed, relay: _TimedRelay, s3_url: str, cache_dir: Path
) -> None:
    cfg = config(seaweed_shared, relay.endpoint)
    began = time.monotonic()
    store = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir)
    opened = time.monotonic()
    assert store.probed and store._boto is None
    # One after the other the 7 requests took 7 holds or more; three are on the way now
    # (the rest: the relay's forwarding, a loaded machine).
    assert opened - began < 4.5 * HOLD, f"the open took {opened - began:.2f} s"
    assert _s3.wait_for_probe_cleanups(10)
    create, part, complete = (relay.one(w) for w in ("create", "part", "complete"))
    put, second_put = relay.puts()
    abort, delete = relay.one("abort"), relay.one("delete")
    # Independent requests went at once, on connections of their own.
    assert create.arrived < put.answering and put.arrived < create.answering
    assert put.connection != create.connection
    # The chains: each second write after the first PUT was answered; the part after the
    # upload was created; the completion after its part; the cleanup after both verdicts.
    assert second_put.arrived > put.answering
    assert complete.arrived > max(put.answering, part.answering) and part.arrived > create.answering
    assert complete.connection != second_put.connection
    # The two verdicts were awaited together.
    assert complete.arrived < second_put.answering and second_put.arrived < complete.answering
    verdicts = max(second_put.answering, complete.answering)
    assert min(abort.arrived, delete.arrived) > verdicts
    # The open did not wait for the cleanup; the cleanup still happened.
    assert opened < delete.answering
    nothing_left(seaweed_shared, s3_url)
    assert len({s.connection for s in relay.seen}) <= 3  # kept alive, reused


def test_the_cleanup_is_not_lost_when_the_process_exits_right_after_the_open(
    seaweed_shared: _servers.Seaweed, s3_url: str, tmp_path: Path
) -> None:
    with timed_relay(seaweed_shared.endpoint, hold=0.3) as relay:
        code = (
            "import time\n"
            "from pathlib import Path\n"
            "from dsviz_widget.artifacts._s3 import S3Config, S3ObjectStore\n"
            "cfg = S3Config.from_env()\n"
            f"S3ObjectStore({s3_url!r}, cfg, cache_dir=Path({str(tmp_path / 'c')!r}))\n"
            "print(time.monotonic())\n"
        )
        env = clean_env(**seaweed_shared.env(), PYTHONPATH=str(ROOT))
        env["AWS_ENDPOINT_URL"] = relay.endpoint
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        opened = float(out.stdout.split()[-1])
        assert relay.one("delete").answering > opened  # still to do when the open returned
        nothing_left(seaweed_shared, s3_url)


@pytest.mark.parametrize("stop_after", [0, 1, 2, 3, 4])
def test_a_server_that_stops_mid_probe_is_a_remote_store_error_naming_the_step(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path, stop_after: int
) -> None:
    """The server answers ``stop_after`` of the probe's 5 requests before its verdict
    (whichever came first), then nothing more."""
    with timed_relay(seaweed_shared.endpoint, hold=0.01, stop_after=stop_after) as relay:
        cfg = config(seaweed_shared, relay.endpoint)
        began = time.monotonic()
        with pytest.raises(RemoteStoreError) as stopped:
            S3ObjectStore(s3_url, cfg, cache_dir=cache_dir)
        assert time.monotonic() - began < 5
        assert not isinstance(stopped.value, ConditionalWritesNotEnforced)
        step = f"opening the store {s3_url} (checking that {relay.endpoint} refuses overwrites)"
        assert stopped.value.step == step
        assert str(stopped.value).startswith(
            f"{step}: could not reach the S3 server at {relay.endpoint} ("
        )
        assert not _probe_record.passed(cache_dir, relay.endpoint, *s3_url[5:].split("/", 1))
    # The server back (here: reached directly), the next open passes.
    store = S3ObjectStore(
        s3_url, config(seaweed_shared, seaweed_shared.endpoint), cache_dir=cache_dir
    )
    assert store.probed
    assert _s3.wait_for_probe_cleanups(10)


def test_a_bucket_that_does_not_exist_is_named_as_before(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SeaweedFS makes a bucket on a first write; the stand-in (honouring the header
    everywhere: only the bucket is wrong) answers NoSuchBucket to every branch."""
    with _servers.ignoring_s3(honour_put=True, honour_complete=True) as server:
        url = "s3://no-such-bucket-here/team"
        cfg = S3Config(endpoint_url=server.endpoint, access_key="a", secret_key="b")
        small_client_probes(cfg)
        with pytest.raises(RemoteStoreError) as missing:
            S3ObjectStore(url, cfg, cache_dir=cache_dir)
        step = f"opening the store {url} (checking that {cfg.where} refuses overwrites)"
        assert missing.value.step == step
        assert str(missing.value).startswith(
            f"{step}: the S3 server at {cfg.where} answered NoSuchBucket"
        )
        assert getattr(missing.value, "errno", None) is None  # answered: not "unreachable"
        before = through_boto3(url, cfg, cache_dir, monkeypatch)  # boto3's branches
        assert isinstance(before, RemoteStoreError) and before.step == step
        words = f"{step}: the S3 server at {cfg.where} answered NoSuchBucket"
        assert str(missing.value).startswith(words) and str(before).startswith(words)
        # The first PUT's failure, as when it went first (not the upload's, sent beside it).
        assert "calling the PutObject operation" in str(before)
        # The right bucket on the same server: the probe passes (the stand-in honours it).
        store = S3ObjectStore(f"s3://{_servers.BUCKET}/team", cfg, cache_dir=cache_dir)
        assert store.probed and _s3.wait_for_probe_cleanups(10)
        assert server.objects == {} and server.uploads == {}


def test_a_server_that_stops_after_the_verdict_leaves_the_probe_key_to_gc(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    with timed_relay(seaweed_shared.endpoint, hold=0.01, stop_after=5) as relay:
        store = S3ObjectStore(s3_url, config(seaweed_shared, relay.endpoint), cache_dir=cache_dir)
        assert store.probed  # the two 412s came: the open is good
        assert _s3.wait_for_probe_cleanups(10)  # the cleanup failed, quietly
    back = S3ObjectStore(s3_url, S3Config.from_env(seaweed_shared.env()), cache_dir=cache_dir)
    assert [key for key, _ in back.iter_probes()] != []  # left behind, listed for gc
    for key, _ in back.iter_probes():
        back.delete_probe(key)
    for upload in back.iter_uploads():
        back.abort_upload(upload)
    nothing_left(seaweed_shared, s3_url)


# -- the probe and the catalog at once -----------------------------------------------------------
def test_init_opens_the_catalog_while_the_probe_runs(
    seaweed_shared: _servers.Seaweed,
    relay: _TimedRelay,
    s3_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in seaweed_shared.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", relay.endpoint)
    monkeypatch.setenv("DSVIZ_CACHE_DIR", str(tmp_path / "cache"))
    opened: list[float] = []
    real = _store.open_catalog

    def open_catalog(location: str) -> object:  # the real catalog, its time written down
        catalog = real(location)
        opened.append(time.monotonic())
        return catalog

    monkeypatch.setattr(_store, "open_catalog", open_catalog)
    dv.finish()
    with dv.init(dir=s3_url, catalog=str(tmp_path / "c.sqlite")):
        returned = time.monotonic()
    assert _s3.wait_for_probe_cleanups(10)
    bucket, prefix = s3_url[5:].split("/", 1)
    assert _probe_record.passed(tmp_path / "cache", relay.endpoint, bucket, prefix)
    puts = relay.puts()
    # The catalog was open before the first PUT was answered, init returned after both
    # verdicts.
    assert opened[0] < puts[0].answering
    assert returned > max(puts[1].answering, relay.one("complete").answering)


@pytest.mark.parametrize("ignoring", [False, True], ids=["good-server", "ignoring-server"])
def test_the_probes_error_comes_before_the_catalogs(
    seaweed_shared: _servers.Seaweed,
    ignoring: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "file").write_text("not a directory")
    catalog = str(tmp_path / "file" / "c.sqlite")  # cannot be created
    monkeypatch.setenv("DSVIZ_CACHE_DIR", str(tmp_path / "cache"))
    dv.finish()
    if not ignoring:
        for name, value in seaweed_shared.env().items():
            monkeypatch.setenv(name, value)
        with pytest.raises(dv.StoreError, match="cannot create the catalog's directory"):
            dv.init(dir=f"s3://{_servers.BUCKET}/t-bad-catalog", catalog=catalog)
        assert _s3.wait_for_probe_cleanups(10)
        return
    with _servers.ignoring_s3() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
        with pytest.raises(ConditionalWritesNotEnforced):
            dv.init(dir=f"s3://{_servers.BUCKET}/team", catalog=catalog)
        assert server.objects == {} and server.uploads == {}
    assert dv.run is None


@given(st.text())
def test_the_completions_xml_escape_is_saxutils(text: str) -> None:
    assert _sigv4.xml_text(text) == xml.sax.saxutils.escape(text)
