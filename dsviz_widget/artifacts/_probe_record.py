"""A remembered pass of the open-time probe of conditional writes, so a second open skips it.

Opening an ``s3://`` store probes that the server refuses a second conditional write
(:meth:`~dsviz_widget.artifacts._s3.S3ObjectStore.check_conditional_writes`): 7 requests
and, before this record, the boto3 client they need (~0.8 s together, more than a warm first
page takes). A pass is a property of the server, so it is remembered for :data:`TTL` in the
user's cache directory and the next process opening the same endpoint, bucket and prefix
checks only that the server answers.

Why a forged or stale record cannot lose data:

- **Writes never rely on it.** A store opened on the strength of a record probes before its
  first write in the process (``S3ObjectStore._ensure_probed``). A record only lets a
  *reading* process skip the probe, and reads check every object's SHA-256 anyway. A server
  that ignores the header is therefore refused at open if never seen, and at the first write
  at the latest; a failed probe drops the record.
- **Only the user's own records count.** Records live in ``<cache>/probes/`` made 0700; the
  directory and the file must belong to this user and be writable by nobody else, and are
  opened without following links. Anything else is ignored (the probe runs) and left alone.
- **The record names what passed, exactly**: endpoint URL (or AWS with its region), bucket
  and prefix are compared field by field, not only through the file name's hash, and its time
  must be within :data:`TTL` of now (a time in the future is not trusted either).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
import uuid
from contextlib import suppress
from pathlib import Path

#: How long a passed probe is remembered. A server's behaviour changes only when it is
#: replaced or reconfigured; a day bounds how long a reading process would not notice.
TTL = 24 * 3600.0
#: Clock skew tolerated for a record's time lying in the future (another process's clock).
_SKEW = 60.0
_FORMAT = 1


def _fields(endpoint: str, bucket: str, prefix: str) -> dict[str, object]:
    return {"format": _FORMAT, "endpoint": endpoint, "bucket": bucket, "prefix": prefix}


def _path(cache_root: Path, fields: dict[str, object]) -> Path:
    name = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    return cache_root / "probes" / name


def _own_and_private(st: os.stat_result) -> bool:
    """Belongs to this user and no one else may write it."""
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def passed(cache_root: Path, endpoint: str, bucket: str, prefix: str) -> bool:
    """True if this user's record says the probe passed for exactly this place within
    :data:`TTL`; False for anything else (no record, expired, foreign, malformed)."""
    fields = _fields(endpoint, bucket, prefix)
    path = _path(cache_root, fields)
    try:
        folder = os.lstat(path.parent)
        if not stat.S_ISDIR(folder.st_mode) or not _own_and_private(folder):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _own_and_private(st) or st.st_size > 4096:
            return False
        record = json.loads(os.read(fd, 4096))
    except (OSError, ValueError):
        return False
    finally:
        os.close(fd)
    if not isinstance(record, dict) or record.get("fields") != fields:
        return False
    when = record.get("passed")
    if isinstance(when, bool) or not isinstance(when, int | float):
        return False
    return -_SKEW <= time.time() - when <= TTL


def remember(cache_root: Path, endpoint: str, bucket: str, prefix: str) -> None:
    """Record a pass (best effort: a cache directory we cannot write only costs a probe)."""
    fields = _fields(endpoint, bucket, prefix)
    path = _path(cache_root, fields)
    with suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path.parent)
        if not stat.S_ISDIR(st.st_mode) or not _own_and_private(st):
            return  # someone else's directory: never write where they could read it back
        tmp = path.parent / f".{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with open(fd, "wb", closefd=True) as f:
                f.write(json.dumps({"fields": fields, "passed": time.time()}).encode())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


def forget(cache_root: Path, endpoint: str, bucket: str, prefix: str) -> None:
    """Drop the record (the server failed the probe)."""
    with suppress(OSError):
        _path(cache_root, _fields(endpoint, bucket, prefix)).unlink()
