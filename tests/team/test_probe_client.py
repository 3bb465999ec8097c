"""The open-time probe through the small SigV4 client (``_sigv4.py``), against SeaweedFS and
the look-alike that ignores ``If-None-Match``, all on 127.0.0.1.

What a user relies on: a cold open (a machine with no remembered probe) costs the probe's 7
round trips, not boto3's start-up, and still refuses a server that would overwrite stored
objects; a failure reads exactly as it did through boto3 (same type, same step, same words).
Where the credentials come from somewhere only boto3 reads, boto3 still probes. The
client keeps one connection, retries a busy server's 5xx and reopens a closed connection
(a scripted server on loopback), and verifies https against the CA bundle boto3 would use.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts import _probe_record, _s3, _sigv4
from dsviz_widget.artifacts._s3 import (
    ConditionalWritesNotEnforced,
    RemoteStoreError,
    S3Config,
    S3ObjectStore,
)
from tests import _servers
from tests.team.test_s3_parallel_reads import _Relay, running_relay

ROOT = Path(__file__).parents[2]


#: What makes boto3 send the probe instead (``_sigv4.unsupported``): none of it applies to a
#: server on loopback, and a machine's own (a proxy, a profile) must not decide these tests.
_MACHINE_SETTINGS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)


@pytest.fixture(autouse=True)
def no_machine_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _MACHINE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))


@pytest.fixture
def relay(seaweed_shared: _servers.Seaweed) -> Iterator[_Relay]:
    yield from running_relay(seaweed_shared.endpoint, delay=0.0)


def small_client_probes(cfg: S3Config) -> None:
    """The precondition of these tests: this machine's settings let the small client probe."""
    client = _sigv4.for_config(cfg, _servers.BUCKET)
    assert client is not None, _sigv4.unsupported(cfg, _servers.BUCKET)


def through_boto3(
    url: str, cfg: S3Config, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> BaseException:
    """The same probe sent by boto3 (as before the small client): the error it raises."""
    store = S3ObjectStore(url, cfg, cache_dir=cache_dir, check=False)
    with monkeypatch.context() as patch, pytest.raises(Exception) as failed:
        patch.setattr(_sigv4, "for_config", lambda config, bucket: None)
        store.check_conditional_writes()
    assert store._boto is not None  # boto3's client sent it
    return failed.value


def run_python(code: str, env: dict[str, str]) -> dict[str, object]:
    """``code`` in a fresh process (this checkout imported); its last line of output, JSON."""
    env = {**env, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment (as ``no_machine_settings`` left it) without the AWS and
    dsviz variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DSVIZ_"))}
    return {**env, "AWS_CONFIG_FILE": os.environ["AWS_CONFIG_FILE"], **extra}


# -- the probe passes ---------------------------------------------------------------------------
def test_a_cold_open_probes_with_seven_signed_requests_and_makes_no_boto3_client(
    seaweed_shared: _servers.Seaweed, relay: _Relay, s3_url: str, cache_dir: Path
) -> None:
    cfg = S3Config.from_env({**seaweed_shared.env(), "AWS_ENDPOINT_URL": relay.endpoint})
    small_client_probes(cfg)
    store = S3ObjectStore(s3_url, cfg, cache_dir=cache_dir)
    assert store.probed and store._boto is None
    assert _s3.wait_for_probe_cleanups(10)  # the cleanup runs after the open, in a thread
    # The same 7 requests as ever (their order: tests/team/test_probe_parallel.py).
    methods = sorted(m for m, _, _ in relay.requests)
    assert methods == sorted(["PUT", "PUT", "POST", "PUT", "POST", "DELETE", "DELETE"])
    paths = {p for _, p, _ in relay.requests}
    assert len(paths) == 1 and f"/{_servers.BUCKET}/{store.prefix}/probe/" in paths.pop()
    assert _probe_record.passed(cache_dir, relay.endpoint, store.bucket, store.prefix)
    # The probe key is gone, and no upload is left behind.
    listing = seaweed_shared.client().list_objects_v2(
        Bucket=_servers.BUCKET, Prefix=f"{store.prefix}/"
    )
    assert listing.get("KeyCount", 0) == 0
    assert list(store.iter_uploads()) == []


def test_a_cold_dv_init_and_get_import_no_boto3(
    seaweed_shared: _servers.Seaweed, s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another machine: an empty cache dir, a fresh process; the probe runs and passes, the
    table comes back, and neither boto3 nor botocore was imported."""
    for name, value in seaweed_shared.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DSVIZ_CACHE_DIR", str(tmp_path / "writer-cache"))
    catalog = str(tmp_path / "catalog.sqlite")
    dv.finish()
    with dv.init(dir=s3_url, catalog=catalog):
        art = dv.Artifact("probe-cars", type="dataset")
        art.add(dv.Table(columns=["id", "label"], data=[[1, "cat"], [2, "dog"]]), "data")
        dv.log_artifact(art)
    dv.finish()
    cache = tmp_path / "reader-cache"
    code = (
        "import json, sys\n"
        "import dsviz_widget as dv\n"
        f"dv.init(dir={s3_url!r}, catalog={catalog!r})\n"
        "t = dv.use_artifact('probe-cars:v0').get('data')\n"
        "rows = t.to_pandas().values.tolist()\n"
        "print(json.dumps({'rows': rows, 'boto3': 'boto3' in sys.modules,"
        " 'botocore': 'botocore' in sys.modules}))\n"
    )
    out = run_python(code, clean_env(**seaweed_shared.env(), DSVIZ_CACHE_DIR=str(cache)))
    assert out == {"rows": [[1, "cat"], [2, "dog"]], "boto3": False, "botocore": False}
    bucket, prefix = s3_url.removeprefix("s3://").split("/", 1)
    assert _probe_record.passed(cache, seaweed_shared.endpoint, bucket, prefix)  # it probed


def test_credentials_only_boto3_reads_make_boto3_probe(
    seaweed_shared: _servers.Seaweed, s3_url: str, tmp_path: Path
) -> None:
    """Keys in a credentials file (a profile): the small client does not guess; boto3 reads
    them and probes, as before."""
    creds = tmp_path / "credentials"
    creds.write_text(
        f"[default]\naws_access_key_id = {seaweed_shared.access_key}\n"
        f"aws_secret_access_key = {seaweed_shared.secret_key}\n"
    )
    env = clean_env(
        AWS_ENDPOINT_URL=seaweed_shared.endpoint,
        AWS_SHARED_CREDENTIALS_FILE=str(creds),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
    )
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from dsviz_widget.artifacts._s3 import S3Config, S3ObjectStore\n"
        f"s = S3ObjectStore({s3_url!r}, S3Config.from_env(), cache_dir=Path({str(tmp_path)!r}))\n"
        "print(json.dumps({'probed': s.probed, 'boto3': 'boto3' in sys.modules}))\n"
    )
    assert run_python(code, env) == {"probed": True, "boto3": True}


# -- the probe fails, as it did through boto3 ---------------------------------------------------
def test_a_server_ignoring_conditional_writes_is_refused_without_boto3(
    ignoring_s3: _servers.IgnoringS3, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"s3://{_servers.BUCKET}/team"
    cfg = S3Config(endpoint_url=ignoring_s3.endpoint, access_key="a", secret_key="b")
    small_client_probes(cfg)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from dsviz_widget.artifacts._s3 import S3Config, S3ObjectStore\n"
        f"cfg = S3Config(endpoint_url={ignoring_s3.endpoint!r}, access_key='a', secret_key='b')\n"
        "try:\n"
        f"    S3ObjectStore({url!r}, cfg, cache_dir=Path({str(cache_dir)!r}))\n"
        "    error = None\n"
        "except Exception as exc:\n"
        "    error = [type(exc).__name__, str(exc)]\n"
        "print(json.dumps({'error': error, 'boto3': 'boto3' in sys.modules,"
        " 'botocore': 'botocore' in sys.modules}))\n"
    )
    out = run_python(code, clean_env())
    assert out["boto3"] is False and out["botocore"] is False
    kind, message = out["error"]  # type: ignore[misc]
    ignored = (
        "a second multipart upload's completion"
        if ignoring_s3.server.honour_put
        else "a second PUT"
    )
    assert kind == "ConditionalWritesNotEnforced"
    assert f"accepted {ignored} to the existing key" in message
    assert ignoring_s3.objects == {} and ignoring_s3.uploads == {}  # the probe cleaned up
    # boto3's probe, as before, says the same but for the probe key's random name.
    before = through_boto3(url, cfg, cache_dir, monkeypatch)
    assert isinstance(before, ConditionalWritesNotEnforced)
    assert message.split("probe/")[0] == str(before).split("probe/")[0]
    assert message.split("probe/")[1][32:] == str(before).split("probe/")[1][32:]


@pytest.mark.parametrize("wrong", ["access_key", "secret_key"])
def test_refused_credentials_name_the_step_in_boto3s_words(
    seaweed_shared: _servers.Seaweed,
    s3_url: str,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    wrong: str,
) -> None:
    env = seaweed_shared.env()
    cfg = S3Config.from_env(
        {
            **env,
            {"access_key": "AWS_ACCESS_KEY_ID", "secret_key": "AWS_SECRET_ACCESS_KEY"}[
                wrong
            ]: "nope",
        }
    )
    small_client_probes(cfg)
    with pytest.raises(RemoteStoreError) as refused:
        S3ObjectStore(s3_url, cfg, cache_dir=cache_dir)
    assert refused.value.step == (
        f"opening the store {s3_url} (checking that {cfg.where} refuses overwrites)"
    )
    assert isinstance(refused.value.__cause__, _sigv4.S3Error)
    assert refused.value.__cause__.status == 403
    assert getattr(refused.value, "errno", None) is None  # answered: not "unreachable"
    before = through_boto3(s3_url, cfg, cache_dir, monkeypatch)
    assert isinstance(before, RemoteStoreError)
    assert str(refused.value) == str(before)  # e.g. "… answered SignatureDoesNotMatch: …"
    assert "answered" in str(before)
    assert not _probe_record.passed(cache_dir, cfg.endpoint_url or "", *s3_url[5:].split("/", 1))


def test_a_server_that_is_down_is_a_typed_error_within_seconds(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _servers.free_ports(1)[0]  # nothing listens there
    endpoint = f"http://127.0.0.1:{port}"
    url = f"s3://{_servers.BUCKET}/team"
    cfg = S3Config(endpoint_url=endpoint, access_key="a", secret_key="b")
    small_client_probes(cfg)
    began = time.monotonic()
    with pytest.raises(RemoteStoreError) as down:
        S3ObjectStore(url, cfg, cache_dir=cache_dir)
    took = time.monotonic() - began
    assert took < 2.0, f"reporting the stopped server took {took:.1f} s"
    step = f"opening the store {url} (checking that {endpoint} refuses overwrites)"
    assert down.value.step == step
    assert isinstance(down.value, OSError) and down.value.errno == errno.ECONNREFUSED
    # boto3's words, but for what each names as the failure inside the brackets.
    before = through_boto3(url, cfg, cache_dir, monkeypatch)
    assert isinstance(before, RemoteStoreError) and before.errno == errno.ECONNREFUSED
    words = f"{step}: could not reach the S3 server at {endpoint} ("
    assert str(down.value).startswith(words) and str(before).startswith(words)


# -- the connection ------------------------------------------------------------------------------
class _Scripted(BaseHTTPRequestHandler):
    """Answers PUTs from ``server.script`` in order: (status, close the connection after)."""

    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, close = self.server.script.pop(0)
        self.server.seen.append((self.client_address[1], self.headers.get("Authorization")))
        body = (
            b""
            if status == 200
            else b"<Error><Code>SlowDown</Code><Message>later</Message></Error>"
        )
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = close


@contextlib.contextmanager
def scripted_server(tls: ssl.SSLContext | None = None) -> Iterator[Any]:
    server = ThreadingHTTPServer((_servers.HOST, 0), _Scripted)
    server.daemon_threads = True
    server.script, server.seen = [], []  # type: ignore[attr-defined]
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def scripted() -> Iterator[Any]:
    with scripted_server() as server:
        yield server


def test_one_kept_alive_connection_busy_answers_retried_a_closed_one_reopened(
    scripted: Any,
) -> None:
    cfg = S3Config(f"http://{_servers.HOST}:{scripted.server_address[1]}", "id", "secret")
    client = _sigv4.for_config(cfg, _servers.BUCKET)
    assert client is not None
    with client:
        scripted.script[:] = [(503, False), (200, False), (200, True), (200, False)]
        client.put("a", b"1")  # a 503, then stored
        client.put("b", b"2")  # stored; the server closes the connection after
        client.put("c", b"3")  # on a new connection
        ports = [port for port, _ in scripted.seen]
        assert len(ports) == 4 and ports[0] == ports[1] == ports[2] != ports[3]
        assert all(
            auth and auth.startswith("AWS4-HMAC-SHA256 Credential=id/") for _, auth in scripted.seen
        )
        scripted.script[:] = [(503, False)] * 3
        with pytest.raises(_sigv4.S3Error) as busy:
            client.put("d", b"4")  # 3 attempts in all
        assert (busy.value.status, busy.value.code, scripted.script) == (503, "SlowDown", [])


def test_https_is_verified_against_the_ca_bundle_boto3_would_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server with a certificate of its own CA: refused by the default SSL context,
    accepted with that CA given as ``AWS_CA_BUNDLE`` (as boto3 accepts it)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    host = _servers.HOST
    subject = ["-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host}"]
    files = ["-keyout", str(key), "-out", str(cert)]
    new_cert = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run([*new_cert, *subject, *files], check=True, capture_output=True)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with scripted_server(tls) as server:
        cfg = S3Config(f"https://{_servers.HOST}:{server.server_address[1]}", "id", "secret")
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
        unverified = _sigv4.for_config(cfg, _servers.BUCKET)
        assert unverified is not None and unverified.cafile is None
        with unverified, pytest.raises(ssl.SSLCertVerificationError):
            unverified.put("a", b"1")
        monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
        server.script[:] = [(200, False)]
        verified = _sigv4.for_config(cfg, _servers.BUCKET)
        assert verified is not None and verified.cafile == str(cert)
        with verified:
            verified.put("a", b"1")
        assert len(server.seen) == 1 and server.script == []
