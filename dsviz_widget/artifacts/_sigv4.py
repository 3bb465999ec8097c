"""A small signed-request S3 client: the open-time probe of conditional writes, and GETs of
small objects.

Opening an ``s3://`` store on a machine that has not remembered a passed probe sends 7
requests (``S3ObjectStore.check_conditional_writes``). Through boto3 they cost its import and
client (~0.25 s on a quiet machine, ~0.8 s under load: botocore parses its JSON service
models), most of a cold open. The first objects a table's first page needs (its manifest,
its head object) are small; making pyarrow's ``S3FileSystem`` (the AWS SDK's start-up, ~30 ms)
and sending its HEAD then GET only to read them would cost more than reading them. This
client sends the probe's requests, and one ranged GET of an object (:meth:`Client.get_into`),
with the standard library:

- **AWS Signature Version 4**, as documented: a canonical request (method, the URI-encoded path
  as sent, the sorted URI-encoded query, the lower-cased, trimmed and sorted headers, the
  payload's SHA-256, also sent as ``x-amz-content-sha256``), a string to sign (algorithm, time,
  scope, the canonical request's SHA-256) and a signing key derived by HMAC-SHA256 from the
  secret through date, region, ``s3`` and ``aws4_request``. ``AWS_SESSION_TOKEN`` goes in
  ``x-amz-security-token``, signed. The tests check the ``Authorization`` header against
  botocore's own ``S3SigV4Auth`` over generated requests.
- **One kept-alive connection** (``http.client``; https with the default SSL context, or the
  CA bundle of ``AWS_CA_BUNDLE`` / ``REQUESTS_CA_BUNDLE`` as boto3 would use), path-style
  addressing on a custom endpoint as boto3's client is configured in ``_s3._client``; on AWS
  itself, virtual-hosted addressing for a bucket name that is a plain DNS label, path-style
  otherwise, as boto3's "auto" does.
- **Answers** are parsed with :mod:`xml.etree.ElementTree` (the multipart ``UploadId``, an
  error's ``Code`` and ``Message``); nothing in them is evaluated.

:func:`for_config` says when this client may stand in for boto3 (and pyarrow's client, which
reads the same settings): only when every setting they would use comes from the ``S3Config``
(both keys, the region, the endpoint). A credential or a setting from anywhere else (a
profile, ``~/.aws``, instance metadata, SSO, a proxy, FIPS or dual-stack endpoints, a region
outside AWS's main partition) makes it return None and the probe goes through boto3, a read
through pyarrow, exactly as before: this client never guesses what they would have done.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:  # imported where used: ``import dsviz_widget`` should not pay for them
    import http.client
    import xml.etree.ElementTree as ET

    from dsviz_widget.artifacts._s3 import S3Config

SERVICE = "s3"
ALGORITHM = "AWS4-HMAC-SHA256"
#: Headers botocore leaves out of the signature (hop-by-hop ones, and those a proxy may change).
UNSIGNED_HEADERS = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
#: Regions of AWS's main partition (``amazonaws.com``), as botocore's ``partitions.json`` says.
_AWS_REGION = re.compile(r"(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+")
#: A bucket name boto3 addresses as a subdomain on AWS (no dots: the TLS certificate is one
#: label deep).
_DNS_BUCKET = re.compile(r"[a-z0-9][a-z0-9\-]{1,61}[a-z0-9]")
#: Environment variables by which boto3 would send the probe elsewhere: any of them set,
#: boto3 probes. (``AWS_CA_BUNDLE`` / ``REQUESTS_CA_BUNDLE`` are honoured: :func:`ca_bundle`.)
_BOTO_ONLY_ENV = (
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_S3_USE_ARN_REGION",
)
#: Settings of the AWS config file's profile that change nothing once the keys, region,
#: endpoint, retries and addressing are given to boto3's client as ``_s3._client`` does.
_HARMLESS_SETTINGS = frozenset(
    {
        "region",
        "output",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "retry_mode",
        "max_attempts",
        "cli_pager",
        "cli_timestamp_format",
        "cli_history",
        "cli_auto_prompt",
    }
)
_RETRIES = 3
_RETRY_STATUS = frozenset({500, 502, 503, 504})
_CONNECT_RETRY_DELAY = 0.2
_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
_CHUNK = 1 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class S3Error(Exception):
    """The server answered an error. ``response`` has botocore's ``ClientError`` shape
    (``Error.Code``, ``Error.Message``, ``ResponseMetadata.HTTPStatusCode``), so the store's
    error helpers read both alike."""

    def __init__(self, status: int, code: str, message: str, region: str | None = None) -> None:
        super().__init__(f"{code}: {message} (HTTP {status})")
        self.status = status
        self.code = code
        self.message = message
        self.region = region
        self.response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }


class WrongRegion(S3Error):
    """The bucket lives in another region than the one configured: boto3 follows such an
    answer to the right region; this client leaves it to boto3."""


class Interrupted(ConnectionError):
    """The server stopped sending an answer whose headers it had sent (closed, reset): not
    retried, since part of the body was handed out already; the caller drops it."""


class ReadTimeout(TimeoutError):
    """Connected, but the server did not answer within ``read_timeout`` (unlike a timed-out
    connection, the server was reached)."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    #: A 2xx answer's body still to read, when asked for (``request(stream=True)``).
    stream: http.client.HTTPResponse | None = None


# -- the signature -----------------------------------------------------------------------------
def amz_date(now: float | None = None) -> str:
    """The request time as SigV4 writes it: ``20261201T173000Z`` (UTC)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))


def quote_key(key: str) -> str:
    """A key as it goes in the path: UTF-8, every byte but ``A-Za-z0-9-_.~/`` percent-encoded
    (botocore's encoding of S3's ``{Key+}``). The signature covers the path as sent."""
    return quote(key, safe="/~")


def canonical_query(params: Sequence[tuple[str, str]]) -> str:
    """``k=v&…``, each URI-encoded (only ``A-Za-z0-9-_.~`` kept), sorted by name then value;
    sent as the request's query exactly so."""
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in pairs)


def host_header(scheme: str, host: str, port: int | None) -> str:
    """The ``Host`` header: the host in lower case, its port unless the scheme's default."""
    host = host.lower()
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return host if port in (None, default) else f"{host}:{port}"


def sign(
    method: str,
    host: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
    when: str,
) -> dict[str, str]:
    """The headers to send: ``headers`` plus ``Host``, ``X-Amz-Date``,
    ``X-Amz-Content-SHA256``, ``X-Amz-Security-Token`` (with a session token) and
    ``Authorization``, signing every header but :data:`UNSIGNED_HEADERS`.

    ``path`` and ``query`` are as sent (already encoded: :func:`quote_key`,
    :func:`canonical_query`); ``when`` is :func:`amz_date`'s.
    """
    payload = hashlib.sha256(body).hexdigest()
    out = {k: v for k, v in headers.items() if k.lower() not in _SET_HERE}
    out["Host"] = host
    out["X-Amz-Date"] = when
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    out["X-Amz-Content-SHA256"] = payload
    signed: dict[str, list[str]] = {}
    for name, value in out.items():
        if name.lower() not in UNSIGNED_HEADERS:
            signed.setdefault(name.lower(), []).append(" ".join(value.split()))
    names = sorted(signed)
    canonical = "\n".join(
        [
            method.upper(),
            path,
            query,
            "".join(f"{n}:{','.join(signed[n])}\n" for n in names),
            ";".join(names),
            payload,
        ]
    )
    scope = f"{when[:8]}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(
        [ALGORITHM, when, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = f"AWS4{credentials.secret_key}".encode()
    for part in (when[:8], region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


#: Headers :func:`sign` sets itself (a caller's are replaced, as botocore does).
_SET_HERE = frozenset(
    {"host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "authorization"}
)


# -- when this client may stand in for boto3 ---------------------------------------------------
def unsupported(config: S3Config, bucket: str, env: Mapping[str, str] | None = None) -> str | None:
    """Why boto3 must send the probe (a sentence), or None when this client sends exactly
    what boto3's client of ``_s3._client`` would, to the same place, with the same keys."""
    env = os.environ if env is None else env
    if not (config.access_key and config.secret_key):
        return "the credentials come from boto3's own sources (a profile, ~/.aws, metadata)"
    if set(_BOTO_ONLY_ENV) & {k for k, v in env.items() if v}:
        return "a FIPS, dual-stack or regional-endpoint setting only boto3 reads is set"
    if config.endpoint_url is None:
        if env.get("AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_S3"):
            return "boto3 would take its endpoint from the environment"
        if not _AWS_REGION.fullmatch(config.region):
            return f"region {config.region!r} is outside AWS's main partition"
    else:
        url = urlsplit(config.endpoint_url)
        if url.scheme not in ("http", "https") or not url.hostname or url.query:
            return f"endpoint {config.endpoint_url!r} is not a plain http(s) URL"
    if _proxied(_place(config, bucket)[1]):
        return "a proxy is configured for the server"
    return _profile_settings(env)


def _profile_settings(env: Mapping[str, str]) -> str | None:
    """Why the AWS config file's active profile could change boto3's requests, or None."""
    path = env.get("AWS_CONFIG_FILE") or os.path.join(os.path.expanduser("~"), ".aws", "config")
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    if not os.path.lexists(path):  # as a FileNotFoundError below, without the import
        return None if profile == "default" else f"the AWS profile {profile!r} is not in {path}"
    import configparser

    section = "default" if profile == "default" else f"profile {profile}"
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        pass
    except (OSError, UnicodeError, configparser.Error):
        return f"the AWS config file {path} could not be read here"
    if not parser.has_section(section):
        # A named profile elsewhere (the credentials file) or nowhere: boto3's to resolve.
        return None if profile == "default" else f"the AWS profile {profile!r} is not in {path}"
    extra = sorted(set(parser.options(section)) - _HARMLESS_SETTINGS)
    return f"the AWS profile {profile!r} sets {', '.join(extra)}" if extra else None


def ca_bundle(env: Mapping[str, str] | None = None) -> str | None:
    """The certificates boto3 verifies https against when told to: ``AWS_CA_BUNDLE``, else
    ``REQUESTS_CA_BUNDLE`` (botocore's order); None: the default SSL context's (the
    system's; boto3 would use certifi's copy of the same public CAs)."""
    env = os.environ if env is None else env
    return env.get("AWS_CA_BUNDLE") or env.get("REQUESTS_CA_BUNDLE") or None


def _proxied(host: str) -> bool:
    """Whether urllib (as boto3 and the AWS SDK would) sends requests to ``host`` through a
    proxy."""
    if sys.platform not in ("darwin", "win32") and not any(
        v and k.lower().endswith("_proxy") and k.lower() != "no_proxy"
        for k, v in os.environ.items()
    ):
        return False  # getproxies() reads only ``*_proxy`` variables here: none is set
    import urllib.request

    return bool(urllib.request.getproxies()) and not urllib.request.proxy_bypass(host)


def _place(config: S3Config, bucket: str) -> tuple[str, str, int | None, str, bool]:
    """(scheme, host, port, base path, virtual-hosted) of the bucket's server."""
    if config.endpoint_url:
        url = urlsplit(config.endpoint_url)
        return url.scheme, url.hostname or "", url.port, url.path.rstrip("/"), False
    host = (
        "s3.amazonaws.com" if config.region == "us-east-1" else f"s3.{config.region}.amazonaws.com"
    )
    virtual = bool(_DNS_BUCKET.fullmatch(bucket))
    return "https", f"{bucket}.{host}" if virtual else host, None, "", virtual


def for_config(config: S3Config, bucket: str) -> Client | None:
    """A client for ``bucket``, or None when boto3 must send the probe (:func:`unsupported`)."""
    if unsupported(config, bucket) is not None:
        return None
    assert config.access_key and config.secret_key  # unsupported() says so
    return Client(
        config,
        bucket,
        Credentials(config.access_key, config.secret_key, config.session_token),
        ca_bundle(),
    )


# -- the client --------------------------------------------------------------------------------
class Client:
    """Signed requests to one bucket over one kept-alive connection (not thread-safe: one
    request at a time; the store keeps a few, one per thread fetching). Use as a context
    manager, or call :meth:`close`."""

    def __init__(
        self, config: S3Config, bucket: str, credentials: Credentials, cafile: str | None = None
    ) -> None:
        self.config = config
        self.cafile = cafile
        self.bucket = bucket
        self.credentials = credentials
        self.scheme, self.host, self.port, base, self._virtual = _place(config, bucket)
        self._base = base if self._virtual else f"{base}/{bucket}"
        self._host_header = host_header(self.scheme, self.host, self.port)
        self._conn: http.client.HTTPConnection | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- the probe's requests (the same as ``_s3._BotoRequests``) ---------------------------------
    def put(self, key: str, body: bytes) -> None:
        """PUT with ``If-None-Match: *`` (412 if the key exists: :class:`S3Error`)."""
        self.request("PUT", key, headers={"If-None-Match": "*"}, body=body)

    def create_upload(self, key: str) -> str:
        answer = self.request("POST", key, [("uploads", "")])
        return _text(answer.body, "UploadId", "CreateMultipartUpload")

    def upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        query = [("partNumber", str(number)), ("uploadId", upload_id)]
        etag = self.request("PUT", key, query, body=body).headers.get("etag")
        if etag is None:
            raise S3Error(500, "MissingETag", "the server answered UploadPart without an ETag")
        return etag

    def complete(self, key: str, upload_id: str, etags: Sequence[str]) -> None:
        """CompleteMultipartUpload with ``If-None-Match: *``."""
        parts = "".join(
            f"<Part><ETag>{xml_text(etag)}</ETag><PartNumber>{n}</PartNumber></Part>"
            for n, etag in enumerate(etags, 1)
        )
        body = f'<CompleteMultipartUpload xmlns="{_XMLNS}">{parts}</CompleteMultipartUpload>'
        answer = self.request(
            "POST",
            key,
            [("uploadId", upload_id)],
            {"If-None-Match": "*", "Content-Type": "application/xml"},
            body.encode(),
        )
        # S3 may answer 200 and report a failure in the body (botocore treats it as a 500).
        if _root_tag(answer.body) == "Error":
            code, message, region = _error_fields(answer.body)
            raise S3Error(500, code or "InternalError", message or "completion failed", region)

    def abort(self, key: str, upload_id: str) -> None:
        self.request("DELETE", key, [("uploadId", upload_id)])

    def delete(self, key: str) -> None:
        self.request("DELETE", key)

    # -- reading -------------------------------------------------------------------------------
    def get_into(self, key: str, fd: int, h: Any, first: int) -> tuple[int, int | None]:
        """GET the object's first ``first`` bytes (a ``Range`` request) into the file open at
        ``fd`` (from its offset 0), feeding ``h`` in order as they arrive, never more than
        1 MiB in memory: (bytes received, the object's size). A server that ignores ``Range``
        sends the whole object, all of it kept. The size is None when the server does not
        say it (a 416 for an empty object): the caller reads the object another way.

        Errors as :meth:`request`'s (a 404 is an :class:`S3Error` whose ``code`` says
        whether the key or the bucket is missing); :class:`Interrupted` when the server
        stops mid-answer, :class:`ReadTimeout` when it stalls: what was written is the
        caller's to remove.
        """
        try:
            answer = self.request(
                "GET", key, headers={"Range": f"bytes=0-{first - 1}"}, stream=True
            )
        except S3Error as exc:
            if exc.status == 416:  # S3's answer to a range of an empty object
                return 0, None
            raise
        assert answer.stream is not None
        length = answer.headers.get("content-length")
        expected = int(length) if length is not None else None
        total: int | None = expected
        if answer.status == 206:
            span = _CONTENT_RANGE.fullmatch(answer.headers.get("content-range", "").strip())
            total = int(span.group(3)) if span else None
        received = 0
        try:
            for chunk in self._body(answer.stream, expected):
                view = memoryview(chunk)
                while view:
                    view = view[os.pwrite(fd, view, received + len(chunk) - len(view)) :]
                h.update(chunk)
                received += len(chunk)
        finally:
            if expected is None or received != expected:
                self.close()  # the connection is mid-answer: no next request on it
        return received, total

    def _body(self, stream: http.client.HTTPResponse, length: int | None) -> Iterator[bytes]:
        """The answer's body in chunks; :class:`Interrupted` if it ends before ``length``
        bytes (http.client itself returns a short body silently)."""
        import http.client

        got = 0
        while length is None or got < length:
            want = _CHUNK if length is None else min(_CHUNK, length - got)
            try:
                chunk = stream.read(want)
            except TimeoutError as exc:
                self.close()
                raise ReadTimeout(
                    f"no answer within {self.config.read_timeout:g} s after {got} bytes"
                ) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise Interrupted(f"the answer stopped after {got} bytes ({exc!r})") from exc
            if not chunk:
                if length is None:
                    return
                self.close()
                raise Interrupted(f"the answer stopped after {got} of {length} bytes")
            got += len(chunk)
            yield chunk

    # -- sending -------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        key: str,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        stream: bool = False,
    ) -> Response:
        """Send one signed request; a 2xx answer is returned, an error raised: :class:`S3Error`
        (answered), ``OSError`` (not connected: refused, timed out, no such host),
        :class:`ReadTimeout`, ``ConnectionError`` (dropped mid-answer). Errors a retry may
        cure (5xx, a dropped kept-alive connection) are retried, :data:`_RETRIES` attempts
        in all. ``stream``: a 2xx answer's body is left to read from ``Response.stream``
        (the connection is busy until it is read whole, or closed)."""
        import http.client

        path = f"{self._base}/{quote_key(key)}"
        query = canonical_query(params)
        target = f"{path}?{query}" if query else path
        extra = {"Content-Length": str(len(body)), "User-Agent": "dsviz-widget"}
        for attempt in range(1, _RETRIES + 1):
            signed = sign(
                method,
                self._host_header,
                path,
                query,
                {**extra, **(headers or {})},
                body,
                self.credentials,
                self.config.region,
                amz_date(),
            )
            try:
                answer = self._send(method, target, signed, body, stream)
            except (ConnectionError, http.client.HTTPException) as exc:
                self.close()
                if attempt == _RETRIES or isinstance(exc, ConnectionRefusedError):
                    if isinstance(exc, http.client.HTTPException):
                        raise ConnectionError(f"malformed answer: {exc!r}") from exc
                    raise
                continue
            if 200 <= answer.status < 300:
                return answer
            error = _error(answer, self.config.region)
            if answer.status not in _RETRY_STATUS or attempt == _RETRIES:
                raise error
            time.sleep(random.uniform(0.05, 0.2) * attempt)
        raise AssertionError("unreachable")

    def _connect(self) -> http.client.HTTPConnection:
        """The kept-alive connection, opened (``connect_attempts`` tries) if it is not."""
        import http.client

        if self._conn is not None and self._conn.sock is not None:
            return self._conn
        self.close()
        timeout = self.config.connect_timeout
        for attempt in range(1, self.config.connect_attempts + 1):
            conn: http.client.HTTPConnection
            if self.scheme == "https":
                import ssl

                bundle = self.cafile
                folder = bundle is not None and os.path.isdir(bundle)
                context = ssl.create_default_context(
                    cafile=None if folder else bundle, capath=bundle if folder else None
                )
                conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=timeout, context=context
                )
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                conn.connect()
            except OSError:
                conn.close()
                if attempt == self.config.connect_attempts:
                    raise
                time.sleep(_CONNECT_RETRY_DELAY)
                continue
            assert conn.sock is not None
            conn.sock.settimeout(self.config.read_timeout)
            self._conn = conn
            return conn
        raise AssertionError("unreachable")

    def _send(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, stream: bool
    ) -> Response:
        conn = self._connect()
        try:
            conn.request(method, target, body=body or None, headers=dict(headers))
            answer = conn.getresponse()
            later = stream and 200 <= answer.status < 300
            data = b"" if later else answer.read()
        except TimeoutError as exc:
            self.close()
            raise ReadTimeout(f"no answer within {self.config.read_timeout:g} s") from exc
        if answer.will_close and not later:
            self.close()
        return Response(
            answer.status,
            answer.reason,
            {k.lower(): v for k, v in answer.getheaders()},
            data,
            answer if later else None,
        )


# -- reading answers ---------------------------------------------------------------------------
def xml_text(text: str) -> str:
    """``text`` as XML character data: ``&``, ``<`` and ``>`` escaped, as
    ``xml.sax.saxutils.escape`` does (whose import pulls in ``urllib.request``: ~4 ms of a
    cold open's probe).

    >>> xml_text('"a&b<c>"')
    '"a&amp;b&lt;c&gt;"'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _parse(body: bytes) -> ET.Element | None:
    import xml.etree.ElementTree as ET

    try:
        return ET.fromstring(body) if body.strip() else None
    except ET.ParseError:
        return None


def _root_tag(body: bytes) -> str | None:
    root = _parse(body)
    return None if root is None else _local(root.tag)


def _find(root: ET.Element | None, name: str) -> str | None:
    if root is None:
        return None
    for element in root.iter():
        if _local(element.tag) == name:
            return element.text or ""
    return None


def _text(body: bytes, name: str, what: str) -> str:
    found = _find(_parse(body), name)
    if not found:
        raise S3Error(500, "MalformedAnswer", f"the server's answer to {what} has no {name}")
    return found


def _error_fields(body: bytes) -> tuple[str | None, str | None, str | None]:
    root = _parse(body)
    return _find(root, "Code"), _find(root, "Message"), _find(root, "Region")


def _error(answer: Response, region: str) -> S3Error:
    """The error an answer reports; :class:`WrongRegion` when it names another region for
    the bucket (a redirect, or a signature scoped to the wrong region)."""
    code, message, named = _error_fields(answer.body)
    named = answer.headers.get("x-amz-bucket-region") or named
    args: tuple[Any, ...] = (
        answer.status,
        code or str(answer.status),
        message or answer.reason,
        named,
    )
    if named and named != region and answer.status in (301, 307, 400):
        return WrongRegion(*args)
    return S3Error(*args)
