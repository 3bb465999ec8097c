"""The probe's small S3 client signs as botocore does, and stands in for boto3 only when it may.

Signature Version 4 is checked as a class of inputs: generated methods, hosts and ports,
keys (unicode, spaces, ``~``, ``+``, ``%``, ``/``), query parameters, headers, bodies, regions,
session tokens and times, each signed by ``_sigv4.sign`` and by botocore's own
``S3SigV4Auth`` (what boto3 sends to S3) on the same request (its query given in the URL as sent, and as
parameters botocore encodes itself): the ``Authorization`` headers must be equal. botocore's clock is set to the generated time; nothing else of it is replaced.

No server here: ``test_probe_client.py`` sends the probe to SeaweedFS.
"""

from __future__ import annotations

import string
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.utils import percent_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from dsviz_widget.artifacts import _sigv4
from dsviz_widget.artifacts._s3 import S3Config

_ODD = " ~+%/&=?#"
keys = st.text(
    st.one_of(st.sampled_from(_ODD), st.characters(codec="utf-8", exclude_categories=["Cs"])),
    min_size=1,
    max_size=40,
)
words = st.text(
    st.one_of(st.sampled_from(_ODD), st.characters(codec="utf-8", exclude_categories=["Cs"])),
    max_size=12,
)
header_names = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True).filter(
    # Set by the signer itself; ``date`` would make botocore sign with it instead.
    lambda n: (
        n not in {"host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
        and n not in {"authorization", "date"}
    )
)
header_values = st.text(string.ascii_letters + string.digits + " \t*\"',;:=/-_.", max_size=30)
printable = st.text(string.ascii_letters + string.digits + "+/=_-", min_size=1, max_size=60)


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str]:
    """Unique names (some of them ones botocore leaves unsigned), in any case."""
    names = draw(
        st.lists(
            st.one_of(header_names, st.sampled_from(sorted(_sigv4.UNSIGNED_HEADERS))),
            unique=True,
            max_size=6,
        )
    )
    out = {}
    for name in names:
        cased = "".join(c.upper() if draw(st.booleans()) else c for c in name)
        out[cased] = draw(header_values)
    return out


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]),
    scheme=st.sampled_from(["http", "https"]),
    host=st.sampled_from(["127.0.0.1", "LocalHost", "s3.eu-west-1.amazonaws.com", "b.s3.x.io"]),
    port=st.sampled_from([None, 80, 443, 8333, 9000]),
    key=keys,
    params=st.lists(st.tuples(words, words), max_size=5),
    extra=headers(),
    body=st.binary(max_size=300),
    region=st.one_of(
        st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"]),
        st.from_regex(r"[a-z]{2}-[a-z]{1,10}-[0-9]", fullmatch=True),
    ),
    access=printable,
    secret=st.text(min_size=1, max_size=50).filter(lambda s: "\x00" not in s),
    token=st.none() | printable,
    when=st.integers(0, 4_102_444_800),  # 1970 to 2100
)
def test_the_authorization_is_botocores_on_the_same_request(
    method: str,
    scheme: str,
    host: str,
    port: int | None,
    key: str,
    params: list[tuple[str, str]],
    extra: dict[str, str],
    body: bytes,
    region: str,
    access: str,
    secret: str,
    token: str | None,
    when: int,
) -> None:
    path = f"/dsviz/{_sigv4.quote_key(key)}"
    query = _sigv4.canonical_query(params)
    ours = _sigv4.sign(
        method,
        _sigv4.host_header(scheme, host, port),
        path,
        query,
        extra,
        body,
        _sigv4.Credentials(access, secret, token),
        region,
        _sigv4.amz_date(when),
    )
    # botocore is given the URL the client sends and derives the Host header from it.
    netloc = host if port is None else f"{host}:{port}"
    url = f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers=dict(extra), data=body)
    clock = datetime.fromtimestamp(when, timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=clock):
        S3SigV4Auth(BotoCredentials(access, secret, token), "s3", region).add_auth(request)
    assert ours["Authorization"] == request.headers["Authorization"]
    # The query as botocore encodes parameters itself: as a server re-encodes the one sent.
    by_params = AWSRequest(
        method=method, url=url.partition("?")[0], headers=dict(extra), data=body, params=params
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=clock):
        S3SigV4Auth(BotoCredentials(access, secret, token), "s3", region).add_auth(by_params)
    assert ours["Authorization"] == by_params.headers["Authorization"]
    for name in ("X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token"):
        assert ours.get(name) == request.headers.get(name), name
    assert ours["Host"] == url.split("/")[2].lower().removesuffix(
        {"http": ":80", "https": ":443"}[scheme]
    )
    # The key is in the path as boto3's serializer puts it (S3's ``{Key+}``).
    assert _sigv4.quote_key(key) == percent_encode(key, safe="/~")


def test_a_known_signature_from_aws_documentation() -> None:
    """AWS's worked example of a signed S3 GET (the "GET Object" example of "Signature
    Calculations for the Authorization Header"): the same signature, by hand-made inputs."""
    signed = _sigv4.sign(
        "GET",
        "examplebucket.s3.amazonaws.com",
        "/test.txt",
        "",
        {"Range": "bytes=0-9"},
        b"",
        _sigv4.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        "us-east-1",
        "20130524T000000Z",
    )
    assert signed["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


# -- when the small client stands in for boto3 -------------------------------------------------
KEYS = {"access_key": "id", "secret_key": "secret"}


def test_it_stands_in_only_when_every_setting_is_the_configs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    env = {"AWS_CONFIG_FILE": str(tmp_path / "missing")}
    local = S3Config(endpoint_url="http://127.0.0.1:8333", **KEYS)
    assert _sigv4.unsupported(local, "dsviz", env) is None
    client = _sigv4.for_config(local, "dsviz")
    assert client is not None and (client.scheme, client.host, client.port) == (
        "http",
        "127.0.0.1",
        8333,
    )
    # Credentials boto3 would look for itself (a profile, ~/.aws, metadata, SSO).
    for partial in ({}, {"access_key": "id"}, {"secret_key": "secret"}):
        cfg = S3Config(endpoint_url="http://127.0.0.1:8333", **partial)
        assert "credentials" in (_sigv4.unsupported(cfg, "dsviz", env) or "")
        assert _sigv4.for_config(cfg, "dsviz") is None
    # Settings only boto3 reads.
    for name in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
        assert _sigv4.unsupported(local, "dsviz", {**env, name: "true"}) is not None
    # boto3's CA bundle is honoured (its order: AWS_CA_BUNDLE, then REQUESTS_CA_BUNDLE).
    assert _sigv4.unsupported(local, "dsviz", {**env, "AWS_CA_BUNDLE": "/ca.pem"}) is None
    assert _sigv4.ca_bundle({"REQUESTS_CA_BUNDLE": "/r.pem", "AWS_CA_BUNDLE": "/a.pem"}) == "/a.pem"
    assert _sigv4.ca_bundle({"REQUESTS_CA_BUNDLE": "/r.pem"}) == "/r.pem"
    assert _sigv4.ca_bundle({}) is None
    aws = S3Config(region="eu-west-1", **KEYS)
    assert _sigv4.unsupported(aws, "dsviz", {**env, "AWS_ENDPOINT_URL": "http://x"})
    for region in ("cn-north-1", "us-gov-west-1", "us-iso-east-1"):
        assert "partition" in (_sigv4.unsupported(S3Config(region=region, **KEYS), "b", env) or "")
    # A profile of the AWS config file: harmless settings, then one that changes requests.
    config = tmp_path / "config"
    config.write_text(
        "[default]\nregion = eu-west-1\noutput = json\n[profile other]\nca_bundle = /x\n"
    )
    env = {"AWS_CONFIG_FILE": str(config)}
    assert _sigv4.unsupported(local, "dsviz", env) is None
    assert "ca_bundle" in (
        _sigv4.unsupported(local, "dsviz", {**env, "AWS_PROFILE": "other"}) or ""
    )
    assert "not in" in (_sigv4.unsupported(local, "dsviz", {**env, "AWS_PROFILE": "gone"}) or "")
    config.write_text("[default]\ns3 =\n  addressing_style = virtual\n")
    assert "s3" in (_sigv4.unsupported(local, "dsviz", env) or "")
    config.write_text("not an ini file")
    assert "could not be read" in (_sigv4.unsupported(local, "dsviz", env) or "")
    # A proxy for the server's host.
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    assert "proxy" in (_sigv4.unsupported(local, "dsviz", {}) or "")


def test_on_aws_a_dns_bucket_is_a_subdomain_and_others_use_the_path() -> None:
    east = _sigv4.for_config(S3Config(region="us-east-1", **KEYS), "team-data")
    west = _sigv4.for_config(S3Config(region="eu-west-1", **KEYS), "team.data")
    if east is None or west is None:
        pytest.skip("this machine's AWS settings make boto3 send the probe")
    assert (east.scheme, east.host, east._base) == ("https", "team-data.s3.amazonaws.com", "")
    assert (west.host, west._base) == ("s3.eu-west-1.amazonaws.com", "/team.data")
    path = _sigv4.for_config(S3Config("https://minio.internal:9000/s3/", **KEYS), "b")
    assert path is not None and (path.host, path.port, path._base) == (
        "minio.internal",
        9000,
        "/s3/b",
    )


def test_an_error_answer_is_read_without_evaluating_it() -> None:
    redirect = _sigv4.Response(
        301,
        "Moved Permanently",
        {"x-amz-bucket-region": "eu-west-1"},
        b"<Error><Code>PermanentRedirect</Code><Message>use the right endpoint</Message></Error>",
    )
    error = _sigv4._error(redirect, "us-east-1")
    assert isinstance(error, _sigv4.WrongRegion) and error.region == "eu-west-1"
    assert not isinstance(_sigv4._error(redirect, "eu-west-1"), _sigv4.WrongRegion)
    refused = _sigv4.Response(
        403,
        "Forbidden",
        {},
        b'<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code>'
        b"<Message>The request signature we calculated does not match</Message></Error>",
    )
    error = _sigv4._error(refused, "us-east-1")
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # as botocore's
    # No XML (a HEAD, a proxy's page): the status and its reason.
    for body in (
        b"",
        b"<html>bad gateway",
        b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><Error>&e;</Error>",
    ):
        error = _sigv4._error(_sigv4.Response(502, "Bad Gateway", {}, body), "us-east-1")
        assert (error.code, error.message) == ("502", "Bad Gateway")
    with pytest.raises(_sigv4.S3Error, match="has no UploadId"):
        _sigv4._text(b"<InitiateMultipartUploadResult/>", "UploadId", "CreateMultipartUpload")


def test_a_session_token_comes_with_the_keys_from_the_environment() -> None:
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:8333",
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "temporary/token+1=",
    }
    cfg = S3Config.from_env(env)
    assert cfg.session_token == "temporary/token+1="
    client = _sigv4.for_config(cfg, "dsviz")
    if client is None:
        pytest.skip("this machine's AWS settings make boto3 send the probe")
    assert client.credentials == _sigv4.Credentials("id", "secret", "temporary/token+1=")
    assert S3Config.from_env({**env, "AWS_SESSION_TOKEN": ""}).session_token is None
