"""Media of a store in a bucket are fetched several at a time, and only those asked for.

The store is read through a small HTTP relay in front of the session's SeaweedFS: it passes
every request on unchanged (the signatures hold: the Host header is kept) and writes down
each GET of an object, how many were in flight at once, and holds each such GET a little
(a network's round trip) so that reads made one after the other never overlap. What the
tests assert is what was fetched, how many at once, and that the bytes are the logged ones.
"""

from __future__ import annotations

import hashlib
import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

import dsviz_widget as dv
from dsviz_widget._errors import IntegrityError
from dsviz_widget.artifacts._prefetch import WORKERS
from dsviz_widget.widget._media import make_thumbnail
from tests import _servers
from tests._store_kinds import StoreKind
from tests.team.test_s3_store import log
from tests.widget.test_widget import call, sent

#: How long the relay holds each GET of an object (a round trip on a real network).
DELAY = 0.15
_HOP = {"connection", "keep-alive", "expect", "transfer-encoding", "proxy-connection"}


class _Relay(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str, delay: float = DELAY) -> None:
        super().__init__((_servers.HOST, 0), _RelayHandler)
        self.delay = delay
        url = urlsplit(target)
        self.target = (url.hostname or _servers.HOST, url.port or 80)
        self.lock = threading.Lock()
        self.gets: list[str] = []
        #: Every request relayed: (method, path, Range header or None).
        self.requests: list[tuple[str, str, str | None]] = []
        #: Object GETs answered before the relay answers every later one with a 500.
        self.fail_after: int | None = None
        self.in_flight = 0
        self.most_in_flight = 0

    @property
    def endpoint(self) -> str:
        return f"http://{_servers.HOST}:{self.server_address[1]}"

    def object_gets(self) -> list[str]:
        """The digests of the objects fetched so far, in the order asked."""
        with self.lock:
            return [key.rsplit("/", 1)[1] for key in self.gets]

    def reset(self) -> None:
        with self.lock:
            self.gets.clear()
            self.requests.clear()
            self.most_in_flight = 0


class _RelayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Relay

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _relay(self) -> None:
        path = urlsplit(self.path).path
        counted = self.command == "GET" and "/objects/" in path
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        with self.server.lock:
            self.server.requests.append((self.command, path, self.headers.get("Range")))
            limit = self.server.fail_after
            if counted and limit is not None and len(self.server.gets) >= limit:
                failed = b"<Error><Code>InternalError</Code></Error>"
                self.send_response(500)
                self.send_header("Content-Length", str(len(failed)))
                self.end_headers()
                self.wfile.write(failed)
                return
        if counted:
            with self.server.lock:
                self.server.gets.append(path)
                self.server.in_flight += 1
                self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        try:
            if counted:
                time.sleep(self.server.delay)
            conn = http.client.HTTPConnection(*self.server.target, timeout=30)
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP and name.lower() != "content-length":
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            reply = conn.getresponse()
            data = reply.read()
            conn.close()
        finally:
            if counted:
                with self.server.lock:
                    self.server.in_flight -= 1
        self.send_response(reply.status, reply.reason)
        for name, value in reply.getheaders():
            if name.lower() not in _HOP and name.lower() != "content-length":
                self.send_header(name, value)
        # A HEAD's length is the object's (its reply has no body to count).
        length = reply.getheader("Content-Length", "0") if self.command == "HEAD" else len(data)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay


def running_relay(target: str, delay: float = DELAY) -> Iterator[_Relay]:
    """A relay to ``target`` serving for a fixture's lifetime."""
    server = _Relay(target, delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture
def relay(s3_kind: StoreKind) -> Iterator[_Relay]:
    yield from running_relay(s3_kind.extra["server"].endpoint)


def photos(n: int, seed: int = 0) -> dv.Table:
    """``n`` distinct images (a gradient plus noise: thumbnails that differ visibly)."""
    rng = np.random.default_rng(seed)
    t = dv.Table(("id", "image", "score"))
    for i in range(n):
        pixels = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        pixels[..., 0] = np.linspace(0, 255, 32, dtype=np.uint8)[None, :]
        t.add_data(i, dv.Image(pixels), float(rng.random()))
    return t


def elsewhere(kind: StoreKind, relay: _Relay, monkeypatch: pytest.MonkeyPatch) -> dv.Table:
    """The logged table opened by a new process on a new machine whose S3 endpoint is the
    relay; the relay's record starts after the table's own Parquet was fetched."""
    kind.forget()
    monkeypatch.setenv("AWS_ENDPOINT_URL", relay.endpoint)
    table = dv.use_artifact("cars:latest").get("data")
    assert isinstance(table, dv.Table)
    relay.reset()
    return table


def cached_ok(kind: StoreKind, digests: set[str]) -> None:
    """Each object is in the read cache under its digest, with bytes of that digest."""
    assert kind.cache is not None
    for d in digests:
        path = kind.cache / "objects" / d[:2] / d
        assert hashlib.sha256(path.read_bytes()).hexdigest() == d


def test_a_page_of_thumbnails_fetches_its_images_at_once_and_only_those(
    s3_kind: StoreKind, relay: _Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged = photos(60)
    log(logged)
    originals = {img.digest: img.to_bytes() for img in logged.get_column("image")}
    shown = elsewhere(s3_kind, relay, monkeypatch)
    w = dv.show(shown, sort=["-score"])
    out = sent(w, monkeypatch)
    page = shown.query(sort=["-score"], limit=24)
    digests = [img.digest for img in page["image"]]
    call(w, {"id": "t", "kind": "thumbnails", "images": digests, "masks": [], "size": 32})
    ((reply, buffers),) = out
    assert reply["kind"] == "thumbnails-response", reply
    assert [(i["digest"], i["error"]) for i in reply["items"]] == [(d, "") for d in digests]
    # Exactly the page's images were fetched, each once, several at a time (bounded).
    fetched = relay.object_gets()
    assert sorted(fetched) == sorted(digests)
    assert 4 <= relay.most_in_flight <= WORKERS
    # The thumbnails are those of the logged bytes, and the cache holds the right bytes.
    for item, digest in zip(reply["items"], digests, strict=True):
        assert buffers[item["buffer"]] == make_thumbnail(originals[digest], 32).data
    cached_ok(s3_kind, set(digests))
    # Asked again: answered from memory and cache, nothing fetched.
    relay.reset()
    out.clear()
    call(w, {"id": "u", "kind": "thumbnails", "images": digests[:5], "masks": [], "size": 32})
    assert relay.object_gets() == []
    w.close()


def test_an_image_column_is_fetched_at_once_and_then_read_from_the_cache(
    s3_kind: StoreKind, relay: _Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged = photos(40, seed=1)
    log(logged)
    shown = elsewhere(s3_kind, relay, monkeypatch)
    images = shown.get_column("image")
    want = {img.digest for img in logged.get_column("image")}
    assert sorted(relay.object_gets()) == sorted(want)
    assert 4 <= relay.most_in_flight <= WORKERS
    relay.reset()
    pixels = [img.to_numpy() for img in images]
    assert relay.object_gets() == []  # every image came from the cache
    for got, img in zip(pixels, logged.get_column("image"), strict=True):
        np.testing.assert_array_equal(got, img.to_numpy())


def test_a_download_fetches_its_entries_at_once_with_the_right_bytes(
    s3_kind: StoreKind, relay: _Relay, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    logged = photos(30, seed=2)
    log(logged)
    elsewhere(s3_kind, relay, monkeypatch)
    root = Path(dv.use_artifact("cars:latest").download(tmp_path / "out"))
    entries = dv.use_artifact("cars:latest").manifest.entries  # type: ignore[union-attr]
    images = {img.digest for img in logged.get_column("image")}
    # Every file of the version is there with its bytes: the entries, and the images under
    # media/ named by their digests.
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    # Beside them, W&B's layout: data.table.json and a copy of each image under media/images/.
    wandb_files = {n for n in files if n.startswith("media/images/") or n.endswith(".table.json")}
    assert wandb_files == {"data.table.json"} | {f"media/images/{d}.png" for d in images}
    for name in wandb_files - {"data.table.json"}:
        assert hashlib.sha256(files.pop(name).read_bytes()).hexdigest() in name
    files.pop("data.table.json")
    assert set(files) == set(entries) | {f"media/{d[:2]}/{d}" for d in images}
    digests = {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in files.items()}
    assert all(digests[n] == e.digest for n, e in entries.items())
    assert all(digests[f"media/{d[:2]}/{d}"] == d for d in images)
    # What was fetched: each of them once (the table's Parquet was read on open, before the
    # record), several at a time.
    fetched = relay.object_gets()
    assert sorted(fetched) == sorted(set(digests.values()) - {entries["data.table.parquet"].digest})
    assert 4 <= relay.most_in_flight <= WORKERS


def test_a_damaged_image_on_the_server_is_named_and_the_others_are_read(
    s3_kind: StoreKind, relay: _Relay, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    logged = photos(20, seed=3)
    log(logged)
    digests = [img.digest for img in logged.get_column("image")]
    bad = digests[7]
    s3_kind.damage(bad, b"not the image")
    shown = elsewhere(s3_kind, relay, monkeypatch)
    w = dv.show(shown)
    out = sent(w, monkeypatch)
    call(w, {"id": "t", "kind": "thumbnails", "images": digests, "masks": [], "size": 32})
    ((reply, buffers),) = out
    errors = {i["digest"]: i["error"] for i in reply["items"]}
    assert f"stored object {bad}" in errors[bad] and "corrupt" in errors[bad]
    assert all(errors[d] == "" for d in digests if d != bad)
    assert len(buffers) == len(digests) - 1
    assert not (s3_kind.cache / "objects" / bad[:2] / bad).exists()  # type: ignore[operator]
    w.close()
    # The column: read at once, the damaged file refused when it is read, naming it.
    images = shown.get_column("image")
    with pytest.raises(IntegrityError, match=f"media file {bad[:12]}: stored object {bad}"):
        images[7].to_numpy()
    np.testing.assert_array_equal(images[8].to_numpy(), logged.get_column("image")[8].to_numpy())
    # A download stops with an IntegrityError naming the entry, and leaves no damaged file.
    name = f"media/{bad[:2]}/{bad}"
    with pytest.raises(IntegrityError, match=f"cars:v0 entry '{name}': stored object {bad}"):
        dv.use_artifact("cars:latest").download(tmp_path / "out")
    assert not (tmp_path / "out" / name).exists()
