"""Content-addressed objects in an S3-compatible bucket: the team store's ``objects/``.

The same rules as the local :class:`~dsviz_widget.artifacts._objects.ObjectStore`: an object is
stored once, under its SHA-256, with the same key layout as on disk (``<prefix>/objects/ab/abcd…``);
a stored key is never overwritten; every read is checked against the digest.

- **Writes** are conditional (``If-None-Match: *``) so the server, not a check-then-write race,
  decides: a 412 means the object is there already, which for a content-addressed key is success.
  Files above ``part_size`` go up as a multipart upload whose *completion* is conditional, so a
  half-uploaded object is never visible under its name.
- **Opening** probes the server: a second conditional write to a probe key must be refused. An
  S3 look-alike that ignores the header would let a writer replace a stored object, so such a
  server is refused with :class:`ConditionalWritesNotEnforced` before anything is written.
  A pass is remembered for a day in the user's cache directory (``_probe_record.py``): the
  next open of the same place sends nothing at all (a table read before is read from the
  cache, with no round trip), and probes before its first write instead, so no write ever
  relies on the record. A server that is down is then reported by the first call that
  needs it (a fetch, a write), naming that step.
  The probe's 7 requests are signed and sent by small clients of the standard library
  (``_sigv4.py``), not boto3, whenever the credentials and settings are all the
  ``S3Config``'s; otherwise (a profile, ``~/.aws``, instance metadata, a proxy…) by boto3.
  They go in parallel branches (:meth:`S3ObjectStore._probe_through`): three round trips
  before the open returns, the cleanup after it; ``Store`` opens the catalog meanwhile
  (``probe_in_background``).
- **boto3** (writes, listing, deletes) is imported and its client made on first use (~0.8 s:
  botocore parses its JSON service models), so a process that only reads never pays for it.
- **Reads** go into a bounded, least-recently-used cache of whole objects in the user's cache
  directory. Objects never change, so a cached copy is checked once, when fetched, and later
  reads of it need no server at all. A fetch is one GET of the first :data:`SMALL` bytes by
  ``_sigv4``'s client (a manifest, a table's head object: no pyarrow ``S3FileSystem`` to make,
  ~30 ms, and no HEAD first); the rest of a bigger object comes down through pyarrow's
  ``S3FileSystem`` (no DuckDB extension download) as several ranged GETs at once
  (``_ranged.py``), still hashed whole, in order, before it is kept. Where the small client
  cannot stand in (``_sigv4.unsupported``: a profile, a proxy, …) pyarrow fetches it all.
- **Failures** of the server (refused, timed out, reset) are :class:`RemoteStoreError`\\ s naming
  the step; nothing partial is left visible.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import socket
import stat
import sys
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from dsviz_widget._errors import (
    IntegrityError,
    MissingObjectError,
    StoreError,
    UnsafePathError,
    ValidationError,
    store_error,
)
from dsviz_widget.artifacts import _probe_record, _ranged
from dsviz_widget.artifacts._objects import check_digest, unlink_quietly
from dsviz_widget.artifacts._read_cache import ReadCache

#: Objects larger than this go up in parts of this size (S3 allows 5 MiB to 5 GiB per part).
PART_SIZE = 16 << 20
#: The read cache's default bound, in bytes (``$DSVIZ_CACHE_SIZE`` or ``dv.init(cache_size=)``
#: override it).
DEFAULT_CACHE_BYTES = 8 << 30
CACHE_SIZE_ENV = "DSVIZ_CACHE_SIZE"
#: Attempts at reaching a server that refuses connections or does not accept one within
#: ``connect_timeout``: a server that is down is reported in about a second, not after the
#: standard retries' growing back-off (seconds each). Other failures (throttling, 5xx, a slow
#: read of a big object) keep the standard retries.
CONNECT_ATTEMPTS = 2
_CONNECT_RETRY_DELAY = 0.2
_CHUNK = 1 << 20
_HEX = re.compile(r"[0-9a-f]{64}")
_PROBE = re.compile(r"[0-9a-f]{32}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
#: Retries of a conditional write that S3 reports as racing another one (409).
_CONFLICT_RETRIES = 3
#: Bytes of an object fetched by ``_sigv4``'s client in one GET: all of a small object; the
#: first range of a bigger one, whose rest pyarrow's ranged GETs fetch (same range size).
SMALL = _ranged.RANGE
#: Idle small clients (kept-alive connections) a store keeps for its fetching threads.
_IDLE_CLIENTS = 16


class RemoteStoreError(StoreError):
    """The object store's server failed one step (refused, timed out, answered an error).

    ``step`` names what was being done, e.g. ``"storing object 3f2a… (part 2 of 7)"``.
    """

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step


class ConditionalWritesNotEnforced(StoreError):
    """The server ignores ``If-None-Match: *``: stored objects could be overwritten silently."""


@dataclass(frozen=True)
class S3Config:
    """Where the bucket's server is and who we are, as the AWS tools read it from the
    environment (``None``: boto3's and pyarrow's own defaults, e.g. ``~/.aws``)."""

    endpoint_url: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"
    #: Seconds to open a connection (TCP and TLS handshakes). A server that answers at all
    #: does so well within it (three round trips, under half a second across an ocean);
    #: waiting longer only delays reporting one that is down or unreachable.
    connect_timeout: float = 2.0
    #: Seconds to wait for the next bytes of an answer once connected: generous, since a big
    #: object's read or a multipart completion may legitimately take a while.
    read_timeout: float = 60.0
    connect_attempts: int = CONNECT_ATTEMPTS
    #: ``AWS_SESSION_TOKEN``: temporary credentials' token, sent with the keys.
    session_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Config:
        """``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``), ``AWS_ACCESS_KEY_ID``,
        ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or
        ``AWS_DEFAULT_REGION``)."""
        env = os.environ if env is None else env
        return cls(
            endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
            access_key=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        )

    @property
    def where(self) -> str:
        return self.endpoint_url or "AWS S3"


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix")`` (prefix may be empty)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or parts.query or parts.fragment:
        raise ValidationError(f"not an s3:// store location: {url!r} (s3://bucket/prefix)")
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if not _BUCKET.fullmatch(bucket):
        raise ValidationError(f"not an S3 bucket name: {bucket!r} in {url!r}")
    if any(p in ("", ".", "..") for p in prefix.split("/")) and prefix:
        raise ValidationError(f"the prefix of {url!r} has an empty, '.' or '..' part")
    return bucket, prefix


def resolve_cache_size(size: int | str | None = None) -> int:
    """The read cache's bound in bytes: ``size`` if given (bytes, or ``"20GB"``,
    ``"500MB"``, ``"1.5GiB"``), else ``$DSVIZ_CACHE_SIZE``, else 8 GiB.

    Examples
    --------
    >>> resolve_cache_size("20GB")
    20000000000
    >>> resolve_cache_size(1 << 30)
    1073741824
    """
    from dsviz_widget.engine._disk import parse_bytes

    what = "cache_size"
    if size is None:
        raw = os.environ.get(CACHE_SIZE_ENV)
        if not raw:
            return DEFAULT_CACHE_BYTES
        size, what = raw, f"${CACHE_SIZE_ENV}"
    if isinstance(size, str):
        try:
            return parse_bytes(size, what)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValidationError(
            f"cache_size must be a number of bytes >= 0 or a size such as '20GB', got {size!r}"
        )
    return size


def default_cache_dir() -> Path:
    """``$DSVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/dsviz``, else ``~/.cache/dsviz``."""
    if own := os.environ.get("DSVIZ_CACHE_DIR"):
        return Path(own)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dsviz"


@dataclass(frozen=True)
class RemoteObject:
    """An object found by :meth:`S3ObjectStore.iter_objects` (for gc's grace period)."""

    digest: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class Upload:
    """An unfinished multipart upload found by :meth:`S3ObjectStore.iter_uploads`."""

    key: str
    upload_id: str
    initiated: datetime


class S3ObjectStore:
    """The objects of a store at ``s3://bucket/prefix``.

    Parameters
    ----------
    url : str
        ``s3://bucket/prefix``; the bucket must exist.
    config : S3Config, optional
        Endpoint and credentials; by default :meth:`S3Config.from_env`.
    cache_dir : Path, optional
        Where fetched objects are kept (``objects/`` inside it); by default
        :func:`default_cache_dir`. Shared by every store: a digest names the same bytes anywhere.
    cache_bytes : int, optional
        The cache's bound; the least recently read objects are removed beyond it. By default
        :func:`resolve_cache_size` (``$DSVIZ_CACHE_SIZE``, else 8 GiB).
    part_size : int
        Files larger than this are uploaded in parts of this size.
    check : bool
        Probe that the server enforces conditional writes (leave on: see the module's notes).
        False: the caller vouches that this process already did (a Dask worker of a client
        that opened the store); nothing is probed, not even before a write.
    probe_in_background : bool
        Send the open's probe from a thread of its own and return at once: the caller does
        its own work meanwhile (``Store`` opens the catalog) and must call :meth:`opened`
        before using the store, which raises the probe's error. Reads of objects before
        that are safe (they never change, and are checked); writes wait for the probe.

    Examples
    --------
    >>> objects = S3ObjectStore("s3://team-bucket/datasets")  # doctest: +SKIP
    >>> digest = objects.put_bytes(b"hello")  # doctest: +SKIP
    >>> objects.read(digest, "greeting")  # doctest: +SKIP
    b'hello'
    """

    def __init__(
        self,
        url: str,
        config: S3Config | None = None,
        *,
        cache_dir: Path | None = None,
        cache_bytes: int | None = None,
        part_size: int = PART_SIZE,
        check: bool = True,
        probe_in_background: bool = False,
    ) -> None:
        self.url = url
        self.bucket, self.prefix = parse_url(url)
        self.config = config or S3Config.from_env()
        if part_size < 5 << 20:
            raise ValidationError("part_size must be at least 5 MiB (S3's smallest part)")
        self.part_size = part_size
        self._base = f"{self.prefix}/" if self.prefix else ""
        self._boto: Any = None
        self._fs: Any = None
        self._fs_lock = threading.Lock()
        self._boto_lock = threading.Lock()
        #: ``_sigv4`` clients not in use, their connections closed with the store.
        self._idle: list[Any] = []
        self._idle_pid = os.getpid()
        self._idle_lock = threading.Lock()
        #: False once the small client is known not to stand in here (``_sigv4.unsupported``).
        self._small_ok = True
        weakref.finalize(self, _close_clients, self._idle)
        self.cache = ReadCache(
            cache_dir or default_cache_dir(),
            resolve_cache_size() if cache_bytes is None else cache_bytes,
        )
        #: True once this process knows the server refuses overwrites (probed, or vouched
        #: for by ``check=False``); until then every write path probes first.
        self.probed = not check
        self._probe_lock = threading.Lock()
        #: The open's probe running in a thread of its own until :meth:`opened`.
        self._opening: _Branch[None] | None = None
        _guard_arrow_exit()
        if check and not self._probe_remembered():
            if probe_in_background:
                self._opening = _Branch(self._probe_at_open, "dsviz-open-probe")
            else:
                self.check_conditional_writes()

    def opened(self) -> None:
        """Wait for the open's probe when it was started in the background
        (``probe_in_background=True``: the caller opens its catalog meanwhile) and raise its
        error, as the constructor would have raised it; nothing to wait for otherwise."""
        opening, self._opening = self._opening, None
        if opening is not None:
            opening.result()

    @property
    def _client(self) -> Any:
        """boto3's client for this server, made on first use (thread-safe)."""
        if self._boto is None:
            with self._boto_lock:
                if self._boto is None:
                    self._boto = _client(self.config)
        return self._boto

    # -- layout -------------------------------------------------------------------------------
    def key(self, digest: str) -> str:
        """The object's key in the bucket: the on-disk layout under the prefix."""
        check_digest(digest)
        return f"{self._base}objects/{digest[:2]}/{digest}"

    def filesystem_path(self, digest: str) -> str:
        """``bucket/key`` of the object, as pyarrow's :meth:`filesystem` names it."""
        return f"{self.bucket}/{self.key(digest)}"

    # -- the open-time probe ------------------------------------------------------------------
    def _record_place(self) -> tuple[Path, str, str, str]:
        endpoint = self.config.endpoint_url or f"aws:{self.config.region}"
        return self.cache.root, endpoint, self.bucket, self.prefix

    def _probe_remembered(self) -> bool:
        return _probe_record.passed(*self._record_place())

    def _check_bucket(self, step: str) -> None:
        """Raise a RemoteStoreError naming ``step`` if the bucket does not exist (any doubt
        passes: this only words an error that is about to be raised)."""
        from pyarrow import fs

        try:
            info = self.filesystem().get_file_info(self.bucket)
        except Exception:
            return
        if info.type == fs.FileType.NotFound:
            raise RemoteStoreError(step, f"no bucket {self.bucket!r} at {self.config.where}")

    def _ensure_probed(self) -> None:
        """Before a write: probe once in this process if the open relied on a record (or
        wait for the open's probe still running in the background, then probe again only
        if it failed)."""
        if self.probed:
            return
        with self._probe_lock:
            if not self.probed:
                self.check_conditional_writes("writing to the store")

    def _probe_at_open(self) -> None:
        with self._probe_lock:
            if not self.probed:
                self.check_conditional_writes()

    def check_conditional_writes(self, doing: str = "opening the store") -> None:
        """Refuse a server that would overwrite an object despite ``If-None-Match: *``.

        Writes a probe key under ``<prefix>/probe/`` twice, first with one request and then as
        a multipart upload (large objects go up that way); both second writes must be refused
        with 412. The probe key is removed afterwards. A pass is remembered
        (``_probe_record.py``); a refusal drops what was remembered.
        """
        try:
            self._probe(doing)
        except ConditionalWritesNotEnforced:
            _probe_record.forget(*self._record_place())
            raise
        self.probed = True
        _probe_record.remember(*self._record_place())

    def _probe(self, doing: str) -> None:
        from dsviz_widget.artifacts import _sigv4

        step = f"{doing} {self.url} (checking that {self.config.where} refuses overwrites)"
        with self._small_client() as small:  # kept idle for the probe's first branch
            usable = small is not None
        if usable:
            try:
                return self._probe_through(self._small_sender, step)
            except RemoteStoreError as exc:
                if not isinstance(exc.__cause__, _sigv4.WrongRegion | _NoSmallClient):
                    raise
            # The bucket is in another region than configured: boto3 follows such an answer.
        self._probe_through(self._boto_sender, step)

    @contextmanager
    def _small_sender(self) -> Iterator[_ProbeRequests]:
        """A small client for one branch of the probe (its own connection)."""
        with self._small_client() as small:
            if small is None:  # another thread found it cannot stand in here meanwhile
                raise _NoSmallClient("the small client cannot send the probe here")
            yield small

    @contextmanager
    def _boto_sender(self) -> Iterator[_ProbeRequests]:
        """boto3's client (thread-safe: one for every branch of the probe)."""
        yield _BotoRequests(self._client, self.bucket)

    @contextmanager
    def _small_client(self) -> Iterator[Any]:
        """One of ``_sigv4``'s clients for this thread's request (its kept-alive connection
        reused by the next), or None when it cannot stand in for boto3's and pyarrow's
        (``_sigv4.unsupported``: decided once per store). A client whose request failed is
        closed rather than kept."""
        from dsviz_widget.artifacts import _sigv4

        client = None
        with self._idle_lock:
            if self._idle_pid != os.getpid():  # a forked child: the connections are the parent's
                _close_clients(self._idle)  # this process's copies of them only
                self._idle_pid = os.getpid()
            if self._idle:
                client = self._idle.pop()
        if client is None and self._small_ok:
            client = _sigv4.for_config(self.config, self.bucket)
            self._small_ok = client is not None
        if client is None:
            yield None
            return
        try:
            yield client
        except BaseException:
            client.close()
            raise
        with self._idle_lock:
            if self._small_ok and len(self._idle) < _IDLE_CLIENTS:
                self._idle.append(client)
                client = None
        if client is not None:
            client.close()

    def _probe_through(self, sender: _Sender, step: str) -> None:
        """The probe's requests, each branch sent by its own ``sender()`` (a small client with
        its own connection, or boto3's): three round trips on the way, not seven.

        ::

            PUT key (conditional)  ─┬─ PUT key again: must be 412 ──────────┬─ (in the background:
            create upload ─ part 1 ─┴─ complete, conditional: must be 412 ──┘   abort, DELETE key)

        Both second writes are sent only once the key exists (the first PUT answered), as
        when they went one after the other; the failure reported is the one the sequence
        would have met first (the first PUT's, then the second PUT's or its overwrite, then
        the completion's). On success the cleanup is left to a thread (waited for at exit:
        :func:`wait_for_probe_cleanups`); on failure it is done before the error is raised.
        """
        key = f"{self._base}probe/{uuid.uuid4().hex}"
        upload: list[str] = []  # the multipart upload's id, once created

        def start_upload() -> str:
            with sender() as via:
                upload.append(via.create_upload(key))
                return via.upload_part(key, upload[0], 1, b"3")

        try:
            with self._step(step):
                multipart = _Branch(start_upload, "dsviz-probe-upload")
                try:
                    with sender() as via:
                        via.put(key, b"1")
                except BaseException:
                    multipart.wait()  # its own failure, if any, comes second
                    raise
                etag = multipart.result()

                def complete() -> bool:
                    with sender() as via:
                        return self._complete_once(key, upload[0], [etag], via)

                completion = _Branch(complete, "dsviz-probe-complete")
                try:
                    with sender() as via:
                        overwrote = self._put_once(key, b"2", via)
                except BaseException:
                    completion.wait()
                    raise
                if overwrote:
                    completion.wait()
                    raise self._ignores(key, "a second PUT")
                if completion.result():
                    raise self._ignores(key, "a second multipart upload's completion")
        except BaseException as exc:
            # Cleaning up on a server we cannot reach would only repeat its retries.
            if not _unreachable(exc):
                _clean_probe(key, upload, sender)
            raise
        _clean_probe_later(key, upload, sender)

    def _ignores(self, key: str, what: str) -> ConditionalWritesNotEnforced:
        return ConditionalWritesNotEnforced(
            f"the S3 server at {self.config.where} accepted {what} to the existing key "
            f"s3://{self.bucket}/{key} despite 'If-None-Match: *': it would overwrite stored "
            "objects and lose data silently. Use a server that enforces conditional writes "
            "(AWS S3, SeaweedFS, MinIO, Cloudflare R2 and others do)."
        )

    # -- writing ------------------------------------------------------------------------------
    def has(self, digest: str) -> bool:
        return self.size(digest) is not None

    def size(self, digest: str) -> int | None:
        """The stored object's size, None if it is not stored."""
        key = self.key(digest)
        with self._step(f"looking for object {digest[:12]} in {self.url}"):
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=key)
            except Exception as exc:
                if _status(exc) == 404:
                    return None
                raise
        return int(head["ContentLength"])

    def put_bytes(self, data: bytes, digest: str | None = None) -> str:
        """Store ``data``; returns its digest. Storing it again changes nothing."""
        actual = hashlib.sha256(data).hexdigest()
        if digest is not None and check_digest(digest) != actual:
            raise IntegrityError(f"the bytes given for object {digest[:12]} hash to {actual[:12]}")
        self._ensure_probed()
        if len(data) > self.part_size:
            self._upload_parts(actual, io.BytesIO(data), len(data), None)
            return actual
        with self._step(f"storing object {actual[:12]} in {self.url}"):
            self._put_once(self.key(actual), data)
        return actual

    def put_file(
        self, src: Path, on_part: Callable[[int, int], None] | None = None
    ) -> tuple[str, int]:
        """Store a copy of the file at ``src``; returns (digest, size).

        ``on_part(part_number, parts)`` is called after each part of a multipart upload.
        The file is hashed, then sent; a file that changes in between is refused (the bytes
        sent are hashed again before the upload is completed). As in the local store, a final
        symbolic link or anything but a regular file is refused, not followed.
        """
        with (
            self._local_step(f"could not read {str(src)!r} to store it"),
            _open_regular(src) as f,
        ):
            digest, size = _hash_stream(f)
            if self.size(digest) is not None:
                return digest, size  # stored already: nothing to send
            self._ensure_probed()
            f.seek(0)
            if size <= self.part_size:
                data = f.read(size + 1)
                if hashlib.sha256(data).hexdigest() != digest:
                    raise _changed(src)
                with self._step(f"storing object {digest[:12]} in {self.url}"):
                    self._put_once(self.key(digest), data)
            else:
                self._upload_parts(digest, f, size, on_part, src)
        return digest, size

    def _put_once(self, key: str, body: bytes, via: _ProbeRequests | None = None) -> bool:
        """A conditional PUT: True if it wrote, False if the key exists (412)."""
        sender = via or _BotoRequests(self._client, self.bucket)
        return _conditional(lambda: sender.put(key, body))

    def _complete_once(
        self, key: str, upload_id: str, etags: list[str], via: _ProbeRequests | None = None
    ) -> bool:
        """A conditional completion: True if it wrote, False if the key exists (412)."""
        sender = via or _BotoRequests(self._client, self.bucket)
        return _conditional(lambda: sender.complete(key, upload_id, etags))

    def _upload_parts(
        self,
        digest: str,
        f: IO[bytes],
        size: int,
        on_part: Callable[[int, int], None] | None,
        src: Path | None = None,
    ) -> None:
        """A multipart upload whose completion is conditional: until it completes, nothing is
        visible under the key; on any failure the upload is aborted (best effort: a server that
        is down keeps the parts, invisible, until its own cleanup of stale uploads)."""
        key = self.key(digest)
        parts = -(-size // self.part_size)
        what = f"storing object {digest[:12]} in {self.url}"
        with self._step(f"{what} (starting a multipart upload)"):
            upload_id = self._client.create_multipart_upload(Bucket=self.bucket, Key=key)[
                "UploadId"
            ]
        try:
            h = hashlib.sha256()
            etags = []
            for number in range(1, parts + 1):
                chunk = f.read(self.part_size)
                h.update(chunk)
                with self._step(f"{what} (part {number} of {parts})"):
                    etags.append(
                        self._client.upload_part(
                            Bucket=self.bucket,
                            Key=key,
                            UploadId=upload_id,
                            PartNumber=number,
                            Body=chunk,
                        )["ETag"]
                    )
                if on_part is not None:
                    on_part(number, parts)
            if f.read(1) or h.hexdigest() != digest:
                raise _changed(src)
            with self._step(f"{what} (completing the multipart upload)"):
                if not self._complete_once(key, upload_id, etags):
                    self._abort(key, upload_id)  # stored already (412): drop our parts
        except BaseException as exc:
            # A server we cannot reach would refuse the abort too, after the same retries:
            # its parts stay invisible until the server's own cleanup of stale uploads.
            if not _unreachable(exc):
                self._abort(key, upload_id)
            raise

    def _abort(self, key: str, upload_id: str, via: _ProbeRequests | None = None) -> None:
        with suppress(Exception):
            (via or _BotoRequests(self._client, self.bucket)).abort(key, upload_id)

    # -- reading ------------------------------------------------------------------------------
    def read(self, digest: str, what: str) -> bytes:
        """The bytes of an object, checked against its digest (once: when it was fetched)."""
        with self.local_copy(digest, what) as path, self._local_step(f"{what}: cannot read {path}"):
            return path.read_bytes()

    def copy_out(self, digest: str, dst: int, what: str) -> int:
        """Copy an object to the open descriptor ``dst``; returns its size."""
        size = 0
        with (
            self.local_copy(digest, what) as path,
            self._local_step(f"{what}: cannot copy {path}"),
            open(path, "rb") as f,
        ):
            while chunk := f.read(_CHUNK):
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(dst, view) :]
        return size

    @contextmanager
    def local_copy(self, digest: str, what: str) -> Iterator[Path]:
        """A local file holding the object's checked bytes, for the ``with`` block.

        Usually the cached copy; an object larger than the whole cache is fetched to a
        temporary file removed afterwards.
        """
        check_digest(digest)
        path = self.cache.get(digest)
        if path is not None:
            yield path
            return
        tmp = self._fetch(digest, what)
        kept = self.cache.add(digest, tmp)
        try:
            yield kept or tmp
        finally:
            if kept is None:
                unlink_quietly(tmp)

    def check(self, digest: str, what: str) -> None:
        """Hash the server's bytes of the object, whatever the cache holds (``dv.verify()``):
        :class:`IntegrityError` naming ``what`` if it is missing or damaged. A good object
        refreshes the cached copy."""
        check_digest(digest)
        tmp = self._fetch(digest, what)
        if self.cache.add(digest, tmp) is None:
            unlink_quietly(tmp)

    def _fetch(self, digest: str, what: str) -> Path:
        """Download the object to a temporary file of the cache, hashing it on the way (see
        the module's notes: one GET of :data:`SMALL` bytes by the small client, then ranged
        GETs by pyarrow of what is left). The temporary file is removed on any failure and
        returned only if the hash matches."""
        from dsviz_widget.artifacts import _sigv4

        tmp = self.cache.new_tmp()
        h = hashlib.sha256()
        step = f"{what}: fetching object {digest[:12]} from {self.url}"
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                with self._step(step):
                    done = self._fetch_first(digest, fd, h)
                    if done is not None:
                        self._fetch_rest(digest, fd, h, done)
            finally:
                os.close(fd)
        except RemoteStoreError as exc:
            unlink_quietly(tmp)
            cause = exc.__cause__
            if isinstance(cause, _sigv4.S3Error) and cause.code == "NoSuchBucket":
                raise RemoteStoreError(
                    step, f"no bucket {self.bucket!r} at {self.config.where}"
                ) from None
            answered = cause if isinstance(cause, _sigv4.S3Error) else None
            if isinstance(cause, FileNotFoundError) or (answered and answered.status == 404):
                if not (answered and answered.code == "NoSuchKey"):  # else the bucket is there
                    self._check_bucket(exc.step)  # the bucket gone is not a damaged store
                raise MissingObjectError(
                    f"{what}: stored object {digest} is missing from {self.url}"
                ) from None
            raise
        except BaseException:
            unlink_quietly(tmp)
            raise
        if h.hexdigest() != digest:
            unlink_quietly(tmp)
            raise IntegrityError(
                f"{what}: stored object {digest} in {self.url} is corrupt "
                "(its SHA-256 does not match)"
            )
        return tmp

    def _fetch_first(self, digest: str, fd: int, h: Any) -> int | None:
        """The object's first :data:`SMALL` bytes (all of a small object) into ``fd`` and
        ``h`` by the small client: None when that was the whole object, else the bytes
        received (0: the small client cannot stand in here, or the size is unknown)."""
        from dsviz_widget.artifacts import _sigv4

        with self._small_client() as small:
            if small is None:
                return 0
            try:
                received, size = small.get_into(self.key(digest), fd, h, SMALL)
            except _sigv4.WrongRegion:
                self._small_ok = False  # pyarrow's client, as before, from now on
                return 0
        if size is None:  # not said: a short answer was the whole object
            return None if 0 < received < SMALL else received
        return None if received >= size else received

    def _fetch_rest(self, digest: str, fd: int, h: Any, start: int) -> None:
        """The object's bytes from ``start`` on, by pyarrow's ``S3FileSystem``: one HEAD for
        the size, then ranged GETs (``_ranged.py``; one GET if small)."""
        fs = self.filesystem()
        with _arrow_s3():  # a HEAD by the AWS SDK, in this thread
            src = fs.open_input_file(self.filesystem_path(digest))
        with src:
            size = src.size()
            if size - start <= _ranged.RANGE:
                with _arrow_s3():
                    data = src.read_at(size - start, start) if size > start else b""
                h.update(data)
                end = start + len(data)
                view = memoryview(data)
                while view:
                    view = view[os.pwrite(fd, view, end - len(view)) :]
            else:
                _ranged.download(src, size, fd, h, start)

    def filesystem(self) -> Any:
        """pyarrow's ``S3FileSystem`` for this server (made on first use)."""
        with self._fs_lock:
            if self._fs is None:
                self._fs = _arrow_fs(self.config)
            return self._fs

    # -- listing and removing (gc, verify) -----------------------------------------------------
    def iter_objects(self) -> Iterator[RemoteObject]:
        """The objects stored, with size and time of writing; keys not in the layout are
        skipped (the store did not write them)."""
        base = f"{self._base}objects/"
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base
        )
        with self._step(f"listing the objects of {self.url}"):
            for page in pages:
                for item in page.get("Contents", []):
                    sub, _, name = item["Key"][len(base) :].partition("/")
                    if _HEX.fullmatch(name) and sub == name[:2]:
                        yield RemoteObject(name, int(item["Size"]), item["LastModified"])

    def iter_digests(self) -> Iterator[str]:
        return (o.digest for o in self.iter_objects())

    def delete(self, digest: str) -> None:
        """Remove the object (gc's decision: unreferenced, past the grace period) and its
        cached copy. Removing a missing object is not an error."""
        with self._step(f"removing object {digest[:12]} from {self.url}"):
            self._client.delete_object(Bucket=self.bucket, Key=self.key(digest))
        self.cache.discard(digest)

    def iter_probes(self) -> Iterator[tuple[str, datetime]]:
        """Probe keys left under ``<prefix>/probe/`` (a process stopped between the probe's
        writes and its cleanup) and when each was written; only names the probe makes."""
        base = f"{self._base}probe/"
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base
        )
        with self._step(f"listing the probe keys of {self.url}"):
            for page in pages:
                for item in page.get("Contents", []):
                    if _PROBE.fullmatch(item["Key"][len(base) :]):
                        yield item["Key"], item["LastModified"]

    def delete_probe(self, key: str) -> None:
        if not (key.startswith(f"{self._base}probe/") and _PROBE.fullmatch(key.rpartition("/")[2])):
            raise ValidationError(f"{key!r} is not a probe key of {self.url}")
        with self._step(f"removing the probe key {key} from {self.url}"):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def iter_uploads(self) -> Iterator[Upload]:
        """Multipart uploads not completed nor aborted under the prefix, to keys the store
        writes (objects and probes): a writer that died mid-upload leaves its parts stored,
        invisible and billed, until they are aborted."""
        pages = self._client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self._base
        )
        with self._step(f"listing the unfinished uploads of {self.url}"):
            for page in pages:
                for item in page.get("Uploads", []):
                    if self._own_key(item["Key"]):
                        yield Upload(item["Key"], item["UploadId"], item["Initiated"])

    def _own_key(self, key: str) -> bool:
        if not key.startswith(self._base):
            return False
        sub, _, name = key[len(self._base) :].partition("/")
        if sub == "probe":
            return bool(_PROBE.fullmatch(name))
        two, _, digest = name.partition("/")
        return sub == "objects" and bool(_HEX.fullmatch(digest)) and two == digest[:2]

    def abort_upload(self, upload: Upload) -> None:
        """Drop an unfinished upload's parts (gc's decision: older than the grace period)."""
        if not self._own_key(upload.key):
            raise ValidationError(f"{upload.key!r} is not a key of {self.url}")
        with self._step(f"aborting the unfinished upload to {upload.key} in {self.url}"):
            self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload.key, UploadId=upload.upload_id
            )

    # -- errors -------------------------------------------------------------------------------
    @contextmanager
    def _step(self, step: str) -> Iterator[None]:
        """Turn a failure of the server (or of reaching it) into a RemoteStoreError naming
        ``step``; our own errors pass through."""
        try:
            yield
        except (StoreError, IntegrityError, ValidationError):
            raise
        except Exception as exc:
            err = RemoteStoreError(step, _reason(exc, self.config))
            if _unreachable(exc):  # errno as for a local OSError: callers may test it
                timeout = "Timeout" in type(exc).__name__
                err.errno = errno.ETIMEDOUT if timeout else errno.ECONNREFUSED
            raise err from exc

    @contextmanager
    def _local_step(self, step: str) -> Iterator[None]:
        try:
            yield
        except (StoreError, IntegrityError, ValidationError):
            raise
        except OSError as exc:
            raise store_error(step, exc) from exc


def _close_clients(clients: list[Any]) -> None:
    """Close and forget a store's idle small clients (when it is collected, in a fork)."""
    while clients:
        clients.pop().close()


class _ProbeRequests(Protocol):
    """The requests of the probe (and of conditional writes), by whichever client sends them:
    ``_sigv4.Client`` or :class:`_BotoRequests`. Errors are raised as that client raises them
    (``_step`` words both)."""

    def put(self, key: str, body: bytes) -> None: ...
    def create_upload(self, key: str) -> str: ...
    def upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> str: ...
    def complete(self, key: str, upload_id: str, etags: list[str]) -> None: ...
    def abort(self, key: str, upload_id: str) -> None: ...
    def delete(self, key: str) -> None: ...


#: Where a branch of the probe gets its requests' sender, for the branch's duration.
_Sender = Callable[[], AbstractContextManager[_ProbeRequests]]
_T = TypeVar("_T")
#: How long the interpreter's exit waits for probe cleanups still running (a server that
#: stopped answering): whatever is left then, gc removes (``stale_probes``, ``stale_uploads``).
CLEANUP_EXIT_WAIT = 5.0


class _NoSmallClient(RuntimeError):
    """The small client stopped standing in for boto3 while the probe ran: boto3 probes."""


class _Branch(Generic[_T]):
    """``fn()`` run in a daemon thread of its own, started at once; :meth:`result` waits for
    it and returns its value or raises its error in the caller's thread."""

    def __init__(self, fn: Callable[[], _T], name: str) -> None:
        self._fn = fn
        self._value: _T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # raised by result(), in the caller's thread
            self._error = exc

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def result(self) -> _T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def _clean_probe(key: str, upload: list[str], sender: _Sender) -> None:
    """Abort the probe's multipart upload (if it was created) and remove its key (best
    effort: a probe key or upload left behind is gc's to remove)."""
    with suppress(Exception), sender() as via:
        if upload:
            with suppress(Exception):
                via.abort(key, upload[0])
        via.delete(key)


_cleanups: set[threading.Thread] = set()
_cleanups_lock = threading.Lock()
_cleanups_guarded = False


def _clean_probe_later(key: str, upload: list[str], sender: _Sender) -> None:
    """:func:`_clean_probe` in a thread: a passed probe's open need not wait for it. The
    interpreter's exit waits for it (:func:`wait_for_probe_cleanups`), up to
    :data:`CLEANUP_EXIT_WAIT`."""
    global _cleanups_guarded

    def clean() -> None:
        try:
            _clean_probe(key, upload, sender)
        finally:
            with _cleanups_lock:
                _cleanups.discard(thread)

    thread = threading.Thread(target=clean, name="dsviz-probe-cleanup", daemon=True)
    with _cleanups_lock:
        if not _cleanups_guarded:
            import atexit

            atexit.register(wait_for_probe_cleanups, CLEANUP_EXIT_WAIT)
            _cleanups_guarded = True
        _cleanups.add(thread)
    thread.start()


def wait_for_probe_cleanups(timeout: float | None = None) -> bool:
    """Wait for the cleanups of passed probes still running (at most ``timeout`` seconds in
    all); True if none is left. Run at the interpreter's exit."""
    import time

    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _cleanups_lock:
            running = [t for t in _cleanups if t.is_alive()]
        if not running:
            return True
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        running[0].join(left)


@dataclass(frozen=True)
class _BotoRequests:
    """:class:`_ProbeRequests` through boto3's client (writes, and the probe when the small
    client cannot stand in for it: ``_sigv4.unsupported``)."""

    client: Any
    bucket: str

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*")

    def create_upload(self, key: str) -> str:
        return str(self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        return str(
            self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )["ETag"]
        )

    def complete(self, key: str, upload_id: str, etags: list[str]) -> None:
        parts = [{"PartNumber": i, "ETag": etag} for i, etag in enumerate(etags, 1)]
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            IfNoneMatch="*",
        )

    def abort(self, key: str, upload_id: str) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)


def _open_regular(src: Path) -> IO[bytes]:
    """``src`` opened for reading without following a final link; a non-regular file refused
    (a file swapped for a link or a FIFO after the caller checked it)."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(
                f"{str(src)!r} is a symbolic link; not following it out of what was added"
            ) from None
        raise
    f = open(fd, "rb")  # noqa: SIM115 -- returned to the caller's ``with``
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise UnsafePathError(f"{str(src)!r} is not a regular file; not reading it")
    return f


def _hash_stream(f: IO[bytes]) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    while chunk := f.read(_CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def _changed(src: Path | None) -> StoreError:
    return StoreError(f"{str(src)!r} changed while it was being stored; nothing was stored")


def _status(exc: BaseException) -> int | None:
    """The HTTP status of a botocore ``ClientError`` (None for other errors)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


def _botocore_errors() -> Any:
    """botocore's exception classes, or None if botocore was never imported (then none of
    them can have been raised): the error helpers must not import it (~0.3 s) for a failure
    of the probe's small client."""
    return sys.modules.get("botocore.exceptions")


def _sigv4_errors() -> Any:
    """``_sigv4`` if the probe's small client was used (imported there, on first use)."""
    return sys.modules.get("dsviz_widget.artifacts._sigv4")


def _unreachable(exc: BaseException) -> bool:
    """True if ``exc`` (or its cause) says the server could not be reached at all."""
    bx = _botocore_errors()
    cause = exc.__cause__ if isinstance(exc, RemoteStoreError) else exc
    botocore = bx is not None and isinstance(
        cause, bx.EndpointConnectionError | bx.ConnectTimeoutError
    )
    return botocore or _arrow_unreachable(cause) or _socket_unreachable(cause)


def _socket_unreachable(exc: BaseException | None) -> bool:
    """A plain socket's failure to connect (``_sigv4.Client``): refused,
    timed out, no such host. Not a server reached that then did not answer in time."""
    sig = _sigv4_errors()
    answered_late = sig is not None and isinstance(exc, sig.ReadTimeout)
    return isinstance(exc, ConnectionRefusedError | TimeoutError | socket.gaierror) and not (
        answered_late
    )


def _arrow_unreachable(exc: BaseException | None) -> bool:
    """pyarrow's S3 filesystem reports a server it cannot reach as an ``OSError`` whose text
    names the AWS SDK's error (it has no error classes of its own)."""
    return isinstance(exc, OSError) and "NETWORK_CONNECTION" in str(exc)


def _reason(exc: BaseException, config: S3Config) -> str:
    """What went wrong, in words a user can act on (boto3's, pyarrow's, ``_sigv4``'s and
    plain sockets' failures alike)."""
    bx = _botocore_errors()

    def boto(*names: str) -> bool:
        return bx is not None and isinstance(exc, tuple(getattr(bx, n) for n in names))

    sig = _sigv4_errors()
    if sig is not None and isinstance(exc, sig.Interrupted):
        return f"the S3 server at {config.where} stopped mid-answer ({exc})"
    if boto("EndpointConnectionError", "ConnectionClosedError") or (
        _arrow_unreachable(exc) or isinstance(exc, ConnectionError | socket.gaierror)
    ):
        return f"could not reach the S3 server at {config.where} ({exc})"
    if boto("ConnectTimeoutError", "ReadTimeoutError") or isinstance(exc, TimeoutError):
        return f"the S3 server at {config.where} did not answer in time ({exc})"
    if boto("ClientError") or (sig is not None and isinstance(exc, sig.S3Error)):
        error = getattr(exc, "response", {}).get("Error", {})
        return f"the S3 server at {config.where} answered {error.get('Code', '?')}: {error.get('Message', exc)}"
    if boto("NoCredentialsError"):
        return f"no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ({exc})"
    return f"{type(exc).__name__}: {exc}"


_session: Any = None
_session_lock = threading.Lock()


def _client(config: S3Config) -> Any:
    import boto3
    from botocore.config import Config

    global _session
    # One session for the process: a new one loads S3's service model again (~0.2 s), which
    # every store opened (and every failure reported at open) would pay. Sessions are not
    # thread-safe for making clients, hence the lock; the clients themselves are.
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        client = _session.client(
            "s3",
            endpoint_url=config.endpoint_url,
            aws_access_key_id=config.access_key,
            aws_secret_access_key=config.secret_key,
            aws_session_token=config.session_token,
            region_name=config.region,
            config=Config(
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
                retries={"max_attempts": 3, "mode": "standard"},
                # Saves upload media files 16 at a time; botocore's default pool keeps 10.
                max_pool_connections=32,
                # Checksums only where S3 requires them: S3 look-alikes differ in what they accept,
                # and every read is checked against its SHA-256 anyway.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                # An endpoint given as an address (a local server) has no bucket subdomains.
                s3={"addressing_style": "path" if config.endpoint_url else "auto"},
            ),
        )
    # Asked first: a connection that could not be opened is retried on our terms; anything
    # else falls through (None) to the standard policy.
    client.meta.events.register_first("needs-retry.s3", _connect_retry(config.connect_attempts))
    return client


def _connect_retry(limit: int) -> Callable[..., float | bool | None]:
    """botocore's ``needs-retry`` handler for failures to connect: retry after a short fixed
    pause, up to ``limit`` attempts in all, then stop (False vetoes the standard policy, whose
    growing back-off made a stopped server take 5-8 s to report). A read timeout is not a
    connection failure: a big object's slow read keeps the standard retries."""
    from botocore import exceptions as bx

    def needs_retry(**event: Any) -> float | bool | None:
        if not isinstance(event.get("caught_exception"), bx.ConnectionError):
            return None
        return _CONNECT_RETRY_DELAY if event.get("attempts", 1) < limit else False

    return needs_retry


#: Held while pyarrow's S3 client is made or asked something outside the ranged pool;
#: :func:`_arrow_exit` takes it at exit.
_arrow_lock = threading.Lock()
_arrow_exiting = False
_arrow_guarded = False


def _arrow_exit() -> None:
    """At exit, before pyarrow's own ``ensure_s3_finalized`` (registered earlier, run later):
    wait for a call to pyarrow's S3 client in progress and let no other start. The AWS SDK
    aborts or crashes the process if it is shut down while a client is being made
    (``allocator != NULL``) or a request sent, which a background download (a daemon
    thread) still running as the process ends would do. The ranged pool's threads need no
    guard: they are joined before exit handlers run (``concurrent.futures``)."""
    global _arrow_exiting
    with _arrow_lock:
        _arrow_exiting = True


@contextmanager
def _arrow_s3() -> Iterator[None]:
    """Around a call to pyarrow's S3 client from a thread that may outlive the interpreter's
    exit handlers (:func:`_arrow_exit`)."""
    with _arrow_lock:
        if _arrow_exiting:
            raise RuntimeError("the process is exiting: no new request to the S3 server")
        yield


def _guard_arrow_exit() -> None:
    """Register :func:`_arrow_exit` once, in the thread opening a store (before any
    background download can exist), after pyarrow's own exit handler so it runs first."""
    global _arrow_guarded
    if _arrow_guarded:
        return
    import atexit

    import pyarrow.fs  # noqa: F401  (registers ``ensure_s3_finalized``; imported by the engine anyway)

    with _arrow_lock:
        if not _arrow_guarded:
            atexit.register(_arrow_exit)
            _arrow_guarded = True


def _arrow_fs(config: S3Config) -> Any:
    from pyarrow import fs

    kwargs: dict[str, Any] = {
        "region": config.region,
        "connect_timeout": config.connect_timeout,
        "request_timeout": config.read_timeout,
        # The AWS SDK's "default" strategy waits 50 then 100 ms between its 3 attempts: a
        # stopped server is reported in ~0.2 s. Its "standard" one waits a random 0-1 s, then
        # 0-2 s (measured: 0.4-1.9 s to report one). A slow answer is bounded by
        # ``request_timeout``, not by this.
        "retry_strategy": fs.AwsDefaultS3RetryStrategy(max_attempts=3),
    }
    if config.access_key and config.secret_key:
        kwargs.update(
            access_key=config.access_key,
            secret_key=config.secret_key,
            session_token=config.session_token,
        )
    if config.endpoint_url:
        url = urlsplit(config.endpoint_url)
        kwargs.update(endpoint_override=url.netloc + url.path.rstrip("/"), scheme=url.scheme)
    with _arrow_s3():
        return fs.S3FileSystem(**kwargs)


def _conditional(write: Callable[[], object]) -> bool:
    """Run a write sent with ``If-None-Match: *``: True if it wrote, False if the key exists
    (412). A 409 ("a conflicting conditional write is in progress") is retried."""
    for attempt in range(_CONFLICT_RETRIES + 1):
        try:
            write()
            return True
        except Exception as exc:
            status = _status(exc)
            if status == 412:
                return False
            if status == 409 and attempt < _CONFLICT_RETRIES:
                continue
            raise
    raise AssertionError("unreachable")
