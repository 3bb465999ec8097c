"""Local files waiting to be logged: ``add_file``, ``add_dir``, ``new_file`` and ``file://``
references (``add_reference``).

A reference is *copied* into the content store when the artifact is logged, like any file;
only its URI is kept as a label (``Entry.source``). W&B keeps a reference as a pointer and
reads the path again at download time; we do not, so the store stays self-contained (``gc``,
``verify``, another process or machine reading a copy of the store, a source deleted or
changed since) and reading never follows a path out of the store. What W&B's pointer buys,
detecting that the referenced file changed, is kept: with ``checksum=True`` the file's
SHA-256 is taken at ``add_reference`` and the copy made at logging must match it, else the
log fails naming the entry.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from dsviz_widget._errors import (
    IntegrityError,
    NotFoundError,
    UnsupportedError,
    ValidationError,
)
from dsviz_widget._names import check_entry_name
from dsviz_widget.artifacts._manifest import DraftEntry

#: W&B's default bound on the files one directory reference may add.
DEFAULT_MAX_OBJECTS = 10_000_000
_CHUNK = 1 << 20
#: Schemes W&B stores references for that need a network or a cloud SDK.
_OBJECT_STORES = ("s3", "gs", "gcs", "az", "azure", "abfs", "abfss", "wasb", "wasbs")
_WEB = ("http", "https")


@dataclass(frozen=True)
class LocalFile:
    """A file to copy into the store at logging.

    ``digest`` (SHA-256 hex) is what the bytes must be then, when known at add time;
    ``source`` is the ``file://`` URI of a reference (None for ``add_file``).
    """

    path: Path
    digest: str | None = None
    source: str | None = None


def file_digest(path: Path) -> str:
    """SHA-256 of a regular file, opened without following a final link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValidationError(f"{str(path)!r} is not a regular file")
        h = hashlib.sha256()
        while chunk := os.read(fd, _CHUNK):
            h.update(chunk)
        return h.hexdigest()
    finally:
        os.close(fd)


def draft_entry(name: str, local: LocalFile) -> DraftEntry:
    """The draft manifest's entry of a file waiting to be logged: its size and SHA-256 as
    they are now (or as taken at ``add_reference``); None for a file gone or unreadable, which
    logging will report."""
    try:
        size = os.stat(local.path, follow_symlinks=False).st_size
        digest = local.digest or file_digest(local.path)
    except (OSError, ValidationError):
        return DraftEntry(name, "file", local.digest, None, local.source)
    return DraftEntry(name, "file", digest, size, local.source)


def check_copied(name: str, expected: LocalFile, digest: str) -> None:
    """Raise if a reference's bytes at logging differ from those seen at ``add_reference``."""
    if expected.digest is not None and digest != expected.digest:
        raise IntegrityError(
            f"reference {name!r} ({expected.source}) changed since add_reference: its SHA-256 "
            f"was {expected.digest[:12]}..., it is now {digest[:12]}...; nothing was logged. "
            "Add the reference again to log its new contents."
        )


def file_uri_path(uri: str) -> Path:
    """The local path a ``file://`` URI names (absolute); other schemes are refused."""
    if not isinstance(uri, str):
        raise ValidationError(f"a reference is a URI string, got {type(uri).__name__}")
    if "\x00" in uri:
        raise ValidationError("reference URI contains a NUL byte")
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if not scheme:
        raise ValidationError(
            f"references must be URIs, got {uri!r}; to reference a local file, use "
            f"'file://{os.path.abspath(uri)}' (or add_file / add_dir to add it by path)"
        )
    if scheme in _OBJECT_STORES:
        raise UnsupportedError(
            f"{scheme}:// references are not supported yet: they come with the object-store "
            "work (the team store on S3-compatible storage, SPEC.md section 2, 'Beyond one "
            "machine'). Until then, copy the objects locally and use a file:// reference, "
            "add_file or add_dir"
        )
    if scheme in _WEB:
        raise UnsupportedError(
            f"{scheme}:// references are not supported: dsviz_widget stores everything locally "
            "and never fetches over the network; download the file and use a file:// reference"
        )
    if scheme != "file":
        raise ValidationError(
            f"unsupported reference scheme {scheme!r} in {uri!r}: only file:// URIs are "
            "supported (W&B would record an unchecked pointer; the store keeps only what it "
            "can verify)"
        )
    if parsed.netloc not in ("", "localhost"):
        raise ValidationError(
            f"{uri!r} names the host {parsed.netloc!r}; a file URI for this machine is "
            f"'file:///absolute/path' (three slashes)"
        )
    if parsed.query or parsed.fragment:
        raise ValidationError(
            f"{uri!r} has a query or fragment; write '?' as %3F and '#' as %23 in a file name"
        )
    return Path(os.path.abspath(unquote(parsed.path)))


def reference_files(
    uri: str, name: str | None, checksum: bool, max_objects: int | None
) -> dict[str, LocalFile]:
    """The entries a ``file://`` reference adds: one for a file, one per file of a directory.

    The path the URI names is resolved once (the user chose it, links included); inside a
    directory, symbolic links are refused as by ``add_dir``, so nothing outside it is read.
    """
    prefix = check_entry_name(name, what="reference name") if name is not None else None
    limit = DEFAULT_MAX_OBJECTS if max_objects is None else max_objects
    if type(limit) is not int or limit < 1:
        raise ValidationError(f"max_objects must be a positive int, got {max_objects!r}")
    given = file_uri_path(uri)
    real = Path(os.path.realpath(given))
    if real.is_file():
        entry = prefix if prefix is not None else check_entry_name(given.name, what="file name")
        return {entry: _local(real, uri, checksum)}
    if not real.is_dir():
        raise NotFoundError(f"reference {uri!r}: {str(given)!r} is not a file or directory")
    base = uri.rstrip("/")
    out: dict[str, LocalFile] = {}
    for dirpath, dirnames, filenames in os.walk(real, followlinks=False):
        dirnames.sort()
        for d in dirnames:
            if (Path(dirpath) / d).is_symlink():
                raise ValidationError(
                    f"reference {uri!r}: refusing symbolic link {str(Path(dirpath) / d)!r}"
                )
        for f in sorted(filenames):
            path = Path(dirpath) / f
            if path.is_symlink():
                raise ValidationError(f"reference {uri!r}: refusing symbolic link {str(path)!r}")
            if len(out) >= limit:
                raise ValidationError(
                    f"reference {uri!r} has more than {limit} files; pass a larger max_objects "
                    "to add_reference"
                )
            rel = path.relative_to(real).as_posix()
            entry = check_entry_name(f"{prefix}/{rel}" if prefix else rel, what="file name")
            out[entry] = _local(path, f"{base}/{quote(rel)}", checksum)
    return out


def _local(path: Path, source: str, checksum: bool) -> LocalFile:
    return LocalFile(path, file_digest(path) if checksum else None, source)


def local_file(local_path: str | os.PathLike[str]) -> Path:
    """The path of a regular file given to ``add_file`` (not a link, not a directory)."""
    path = Path(os.fspath(local_path))
    if "\x00" in str(path):
        raise ValidationError("file path contains a NUL byte")
    if path.is_symlink() or not path.is_file():
        raise ValidationError(
            f"add_file needs a regular file (not a link or a directory): {str(path)!r}"
        )
    return path


def dir_files(local_path: str | os.PathLike[str], name: str | None) -> dict[str, LocalFile]:
    """Every file under a directory given to ``add_dir``, by entry name (``name/`` prefixed).

    Symbolic links are refused, so nothing outside the directory is read.
    """
    prefix = check_entry_name(name, what="directory name") + "/" if name else ""  # before I/O
    root = Path(os.fspath(local_path))
    if "\x00" in str(root):
        raise ValidationError("directory path contains a NUL byte")
    if not root.is_dir() or root.is_symlink():
        raise ValidationError(f"add_dir needs a directory: {str(root)!r}")
    found: dict[str, LocalFile] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for d in dirnames:
            if (Path(dirpath) / d).is_symlink():
                raise ValidationError(f"add_dir refuses symbolic link {str(Path(dirpath) / d)!r}")
        for f in filenames:
            p = Path(dirpath) / f
            if p.is_symlink():
                raise ValidationError(f"add_dir refuses symbolic link {str(p)!r}")
            rel = prefix + p.relative_to(root).as_posix()
            found[check_entry_name(rel, what="file name")] = LocalFile(p)
    return found
