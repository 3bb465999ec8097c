"""The object store on S3-compatible storage, against a real SeaweedFS on 127.0.0.1.

What a user relies on: bytes come back as stored (small and 50 MB), an existing object is
never overwritten, a server that would overwrite is refused at open, a server stopped mid-write
gives an error naming the step and leaves nothing partial, and the read cache serves what it
holds without the server and keeps to its bound, least recently read out first.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from dsviz_widget._errors import IntegrityError, StoreError, UnsafePathError, ValidationError
from dsviz_widget.artifacts._s3 import (
    ConditionalWritesNotEnforced,
    RemoteStoreError,
    S3Config,
    S3ObjectStore,
    parse_url,
)
from tests import _servers

MB = 1 << 20


def config(server: _servers.Seaweed) -> S3Config:
    return S3Config.from_env(server.env())


def open_store(
    server: _servers.Seaweed,
    url: str,
    cache: Path,
    cache_bytes: int = 1 << 30,
    part_size: int = 16 * MB,
) -> S3ObjectStore:
    return S3ObjectStore(
        url, config(server), cache_dir=cache, cache_bytes=cache_bytes, part_size=part_size
    )


def big_file(path: Path, size: int, seed: int = 0) -> bytes:
    data = os.urandom(size) if seed == 0 else bytes((seed + i) % 251 for i in range(size))
    path.write_bytes(data)
    return data


def test_bytes_round_trip_in_the_disk_layout(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    store = open_store(seaweed_shared, s3_url, cache_dir)
    data = b"pixels \x00\xff" * 1000
    digest = store.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.has(digest) and store.size(digest) == len(data)
    assert store.read(digest, "a test object") == data
    # The bucket holds it where the local store's directory would, under the prefix.
    prefix = s3_url.removeprefix(f"s3://{_servers.BUCKET}/")
    listed = seaweed_shared.client().list_objects_v2(Bucket=_servers.BUCKET, Prefix=prefix)
    assert [o["Key"] for o in listed["Contents"]] == [f"{prefix}/objects/{digest[:2]}/{digest}"]
    # The open-time probe left nothing behind.
    assert list(store.iter_digests()) == [digest]
    assert not store.has("0" * 64)


def test_a_50_mb_file_round_trips_through_a_multipart_upload(
    seaweed_shared: _servers.Seaweed, s3_url: str, tmp_path: Path
) -> None:
    src = tmp_path / "big.bin"
    data = big_file(src, 50 * MB)
    store = open_store(seaweed_shared, s3_url, tmp_path / "cache")
    parts: list[tuple[int, int]] = []
    began = time.monotonic()
    digest, size = store.put_file(src, on_part=lambda n, total: parts.append((n, total)))
    put_s = time.monotonic() - began
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert parts == [(1, 4), (2, 4), (3, 4), (4, 4)]  # 16 MiB parts
    # Another machine: a cache of its own, so the bytes come from the server.
    other = open_store(seaweed_shared, s3_url, tmp_path / "other-cache")
    began = time.monotonic()
    assert other.read(digest, "big.bin") == data
    get_s = time.monotonic() - began
    began = time.monotonic()
    assert other.read(digest, "big.bin") == data
    cached_s = time.monotonic() - began
    print(f"\n50 MB: put {put_s:.2f} s, get {get_s:.2f} s, cached get {cached_s:.3f} s")
    # Stored already: a second put sends nothing (no part callback).
    parts.clear()
    assert store.put_file(src, on_part=lambda n, total: parts.append((n, total))) == (
        digest,
        size,
    )
    assert parts == []


def test_an_existing_object_is_never_overwritten(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path, tmp_path: Path
) -> None:
    store = open_store(seaweed_shared, s3_url, cache_dir)
    data = b"the original bytes"
    digest = store.put_bytes(data)
    assert store.put_bytes(data) == digest  # "already stored": success, nothing written
    key = store.key(digest)
    raw = seaweed_shared.client()
    before = raw.head_object(Bucket=_servers.BUCKET, Key=key)
    # Anyone writing other bytes under the key the same (conditional) way is refused.
    with pytest.raises(ClientError) as refused:
        raw.put_object(Bucket=_servers.BUCKET, Key=key, Body=b"other bytes", IfNoneMatch="*")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    after = raw.head_object(Bucket=_servers.BUCKET, Key=key)
    assert after["ETag"] == before["ETag"] and after["LastModified"] == before["LastModified"]
    assert raw.get_object(Bucket=_servers.BUCKET, Key=key)["Body"].read() == data
    # Same for a large object stored with a multipart upload: the second one's completion
    # is refused, the first one's bytes stay.
    src = tmp_path / "big.bin"
    big = big_file(src, 6 * MB, seed=7)
    small_parts = open_store(seaweed_shared, s3_url, cache_dir, part_size=5 * MB)
    big_digest, _ = small_parts.put_file(src)
    upload = raw.create_multipart_upload(Bucket=_servers.BUCKET, Key=small_parts.key(big_digest))
    part = raw.upload_part(
        Bucket=_servers.BUCKET,
        Key=small_parts.key(big_digest),
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=b"x",
    )
    with pytest.raises(ClientError) as refused:
        raw.complete_multipart_upload(
            Bucket=_servers.BUCKET,
            Key=small_parts.key(big_digest),
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
            IfNoneMatch="*",
        )
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert small_parts.read(big_digest, "big.bin") == big


def test_a_digest_that_does_not_match_the_bytes_is_refused(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    store = open_store(seaweed_shared, s3_url, cache_dir)
    with pytest.raises(IntegrityError, match="hash to"):
        store.put_bytes(b"abc", digest=hashlib.sha256(b"abd").hexdigest())
    assert list(store.iter_digests()) == []


def test_a_link_or_a_fifo_is_not_followed(
    seaweed_shared: _servers.Seaweed, s3_url: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside what was added")
    (tmp_path / "link").symlink_to(secret)
    os.mkfifo(tmp_path / "fifo")
    store = open_store(seaweed_shared, s3_url, tmp_path / "cache")
    for name in ("link", "fifo"):
        with pytest.raises(UnsafePathError):
            store.put_file(tmp_path / name)
    with pytest.raises(StoreError, match="could not read"):
        store.put_file(tmp_path / "missing")
    assert list(store.iter_digests()) == []


def test_a_server_that_ignores_conditional_writes_is_refused_at_open(
    ignoring_s3: _servers.IgnoringS3, cache_dir: Path
) -> None:
    cfg = S3Config(endpoint_url=ignoring_s3.endpoint, access_key="a", secret_key="b")
    with pytest.raises(ConditionalWritesNotEnforced) as refused:
        S3ObjectStore(f"s3://{_servers.BUCKET}/team", cfg, cache_dir=cache_dir)
    message = str(refused.value)
    assert "If-None-Match" in message and "overwrite" in message
    assert ignoring_s3.endpoint in message
    ignored = (
        "a second multipart upload's completion"
        if ignoring_s3.server.honour_put
        else "a second PUT"
    )
    assert f"accepted {ignored} to the existing key" in message
    assert isinstance(refused.value, StoreError)
    assert ignoring_s3.objects == {} and ignoring_s3.uploads == {}  # the probe cleaned up


def test_a_server_that_is_down_at_open_is_a_typed_error(cache_dir: Path) -> None:
    port = _servers.free_ports(1)[0]  # nothing listens there
    cfg = S3Config(endpoint_url=f"http://127.0.0.1:{port}", access_key="a", secret_key="b")
    with pytest.raises(RemoteStoreError) as down:
        S3ObjectStore(f"s3://{_servers.BUCKET}/team", cfg, cache_dir=cache_dir)
    assert down.value.step.startswith(f"opening the store s3://{_servers.BUCKET}/team")
    assert "could not reach the S3 server" in str(down.value)
    assert isinstance(down.value, OSError) and down.value.errno == errno.ECONNREFUSED


def test_the_server_stopped_mid_write_leaves_nothing_and_a_restart_works(
    seaweed: _servers.Seaweed, s3_url: str, tmp_path: Path
) -> None:
    src = tmp_path / "big.bin"
    data = big_file(src, 12 * MB)
    store = open_store(seaweed, s3_url, tmp_path / "cache", part_size=5 * MB)

    def stop_after_first_part(number: int, total: int) -> None:
        if number == 1:
            seaweed.kill()  # as a crash would: the next part meets a dead server

    with pytest.raises(RemoteStoreError) as failed:
        store.put_file(src, on_part=stop_after_first_part)
    digest = hashlib.sha256(data).hexdigest()
    assert failed.value.step == f"storing object {digest[:12]} in {s3_url} (part 2 of 3)"
    assert "could not reach the S3 server" in str(failed.value)
    # While it is down, every step says so; then it comes back.
    with pytest.raises(RemoteStoreError, match="looking for object"):
        store.has(digest)
    seaweed.start()
    assert not store.has(digest)  # nothing partial under the object's name
    assert list(store.iter_digests()) == []
    assert store.put_file(src) == (digest, len(data))
    assert store.read(digest, "big.bin") == data


def test_a_cached_object_is_read_without_the_server(
    seaweed: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    store = open_store(seaweed, s3_url, cache_dir)
    cached = store.put_bytes(b"read once, then from the cache")
    not_cached = store.put_bytes(b"never read")
    assert store.read(cached, "first read") == b"read once, then from the cache"
    assert cached in store.cache and not_cached not in store.cache
    seaweed.stop()
    assert store.read(cached, "second read") == b"read once, then from the cache"
    with pytest.raises(RemoteStoreError) as down:
        store.read(not_cached, "an image")
    assert down.value.step == f"an image: fetching object {not_cached[:12]} from {s3_url}"


def test_a_corrupt_remote_object_is_refused_and_not_cached(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    store = open_store(seaweed_shared, s3_url, cache_dir)
    digest = hashlib.sha256(b"what should be there").hexdigest()
    # Another program put other bytes under the name (the store itself never would).
    seaweed_shared.client().put_object(
        Bucket=_servers.BUCKET, Key=store.key(digest), Body=b"something else"
    )
    with pytest.raises(IntegrityError, match="corrupt"):
        store.read(digest, "a label file")
    assert digest not in store.cache
    assert list((cache_dir / "tmp").iterdir()) == []
    with pytest.raises(IntegrityError, match="missing"):
        store.read("ab" * 32, "a label file")


def test_the_cache_keeps_to_its_bound_least_recently_read_out_first(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    store = open_store(seaweed_shared, s3_url, cache_dir, cache_bytes=3000)
    a, b, c, d = (store.put_bytes(bytes([i]) * 1000) for i in range(4))
    for digest in (a, b, c, a):  # a read again: now b is the least recently read
        store.read(digest, "object")
    assert store.cache.used == 3000
    store.read(d, "object")
    assert [x in store.cache for x in (a, b, c, d)] == [True, False, True, True]
    assert not store.cache.path(b).exists() and store.cache.path(d).exists()
    assert store.cache.used == 3000
    # The order outlives the process: a new cache on the same directory evicts c next.
    again = open_store(seaweed_shared, s3_url, cache_dir, cache_bytes=3000)
    again.read(b, "object")
    assert [x in again.cache for x in (a, b, c, d)] == [True, True, False, True]
    # An object larger than the whole cache is served, not kept, and evicts nothing.
    huge = again.put_bytes(b"z" * 4000)
    assert again.read(huge, "object") == b"z" * 4000
    assert huge not in again.cache and again.cache.used == 3000
    assert list((cache_dir / "tmp").iterdir()) == []


def test_listing_and_deleting(
    seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    store = open_store(seaweed_shared, s3_url, cache_dir)
    digests = sorted(store.put_bytes(f"object {i}".encode()) for i in range(3))
    # Keys the store did not write are not objects: a stray file, a misplaced digest.
    prefix = s3_url.removeprefix(f"s3://{_servers.BUCKET}/")
    raw = seaweed_shared.client()
    raw.put_object(Bucket=_servers.BUCKET, Key=f"{prefix}/objects/notes.txt", Body=b"x")
    raw.put_object(Bucket=_servers.BUCKET, Key=f"{prefix}/objects/00/{'1' * 64}", Body=b"x")
    assert sorted(store.iter_digests()) == digests
    sizes = {o.digest: o.size for o in store.iter_objects()}
    assert sizes == {d: len("object 0") for d in digests}
    store.read(digests[0], "object")
    store.delete(digests[0])
    assert digests[0] not in store.cache
    assert sorted(store.iter_digests()) == digests[1:]
    store.delete(digests[0])  # already gone: not an error


def test_location_and_configuration_come_from_the_url_and_the_aws_variables() -> None:
    assert parse_url("s3://team-data/ml/datasets/") == ("team-data", "ml/datasets")
    assert parse_url("s3://team-data") == ("team-data", "")
    for bad in ("http://b/p", "s3://B/p", "s3://b/../p", "s3://bucket/a//b", "s3://bucket/p?x=1"):
        with pytest.raises(ValidationError):
            parse_url(bad)
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    assert S3Config.from_env(env) == S3Config("http://127.0.0.1:9000", "id", "secret", "eu-west-1")
    env["AWS_REGION"] = "eu-central-1"
    env["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:9001"
    cfg = S3Config.from_env(env)
    assert (cfg.region, cfg.endpoint_url) == ("eu-central-1", "http://127.0.0.1:9001")
