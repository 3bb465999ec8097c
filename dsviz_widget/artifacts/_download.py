"""Writing an artifact version's entries as files in a directory (``Artifact.download``).

Every entry becomes the file ``<root>/<entry name>``, with the bytes of its stored object.
Names were checked when the manifest was read; they are checked again here, at write time,
and the directories under the root are walked one level at a time through descriptors opened
with ``O_NOFOLLOW``: a symbolic link planted under the root (``root/media -> /etc``) stops
the download with an error naming it, never redirects a write. (The root itself is the
caller's choice and may be a link.)

Each file is written to a temporary name in its directory, hashed while copied from the
store, and renamed over the final name only if its SHA-256 matches: a damaged stored file is
an error naming the entry, and a reader never sees a half-written file. A file already there
with the right bytes is left as it is, so downloading twice is cheap and changes nothing.
"""

from __future__ import annotations

import errno
import os
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from dsviz_widget._errors import UnsafePathError, ValidationError, store_error
from dsviz_widget._names import check_entry_name
from dsviz_widget.artifacts._manifest import Entry
from dsviz_widget.artifacts._objects import io_step
from dsviz_widget.artifacts._prefetch import run_all
from dsviz_widget.artifacts._remote import Objects, RemoteObjects

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def materialise(
    objects: Objects, entries: Iterable[tuple[str, Entry]], root: Path, label: str
) -> None:
    """Write each ``(name, entry)`` under ``root`` (created if missing).

    From a store in a bucket the entries are written on the fetching pool, several at once
    (each waits on its own GET); the first failure, in entry order, is raised. Locally they
    are written one after the other, as a disk is not faster for being asked twice.
    """
    todo = list(entries)
    if isinstance(objects, RemoteObjects):
        run_all(lambda item: write_entry(objects, item[0], item[1], root, label), todo)
        return
    for name, entry in todo:
        write_entry(objects, name, entry, root, label)


def write_entry(objects: Objects, name: str, entry: Entry, root: Path, label: str) -> Path:
    """Write one entry as ``root/name``; returns that path."""
    check_entry_name(name, what=f"entry name of {label}")
    *dirs, leaf = name.split("/")
    what = f"{label} entry {name!r}"
    with _walk(root, dirs, name) as fd:
        if _up_to_date(objects, fd, leaf, entry):
            return root / name
        _write_new(
            fd, leaf, root / name, what, lambda out: objects.copy_out(entry.digest, out, what)
        )
    return root / name


def _write_new(fd: int, leaf: str, path: Path, what: str, fill: Callable[[int], object]) -> None:
    """Write ``leaf`` in the directory ``fd`` (``path`` names it in errors): ``fill(out)``
    writes a temporary file, which is then renamed over ``leaf``, so a reader never sees
    it half-written; nothing is left behind on failure."""
    tmp = f".{leaf[:200]}.{uuid.uuid4().hex}.part"
    try:
        out = os.open(tmp, _WRITE, 0o644, dir_fd=fd)
    except OSError as exc:
        raise store_error(f"cannot write {path}", exc) from exc
    try:
        try:
            fill(out)
        finally:
            os.close(out)
        try:
            os.rename(tmp, leaf, src_dir_fd=fd, dst_dir_fd=fd)
        except IsADirectoryError:
            raise ValidationError(
                f"cannot write {what}: {path} is a directory (another entry is stored under "
                "it, or it was there before)"
            ) from None
        except OSError as exc:
            raise store_error(f"cannot write {path}", exc) from exc
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp, dir_fd=fd)
        raise


def write_made(
    root: Path,
    name: str,
    make: Callable[[], bytes],
    kept: Callable[[int], bool],
    label: str,
) -> Path:
    """Write a file made at download time (not a stored entry) as ``root/name``.

    ``kept(fd)`` says whether the file already there (opened without following a link) can
    stay; only otherwise is ``make()`` called, so an expensive file (a table's JSON) is made
    once. Written the way entries are: under a temporary name, then renamed, links refused.
    """
    check_entry_name(name, what=f"file name of {label}")
    *dirs, leaf = name.split("/")
    with _walk(root, dirs, name) as fd:
        try:
            old = os.open(leaf, _READ, dir_fd=fd)
        except OSError:
            pass
        else:
            try:
                if stat.S_ISREG(os.fstat(old).st_mode) and kept(old):
                    return root / name
            finally:
                os.close(old)
        data = make()

        def fill(out: int) -> None:
            with io_step(f"cannot write {root / name}"):
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view) :]

        _write_new(fd, leaf, root / name, f"{label} file {name!r}", fill)
    return root / name


@contextmanager
def _walk(root: Path, dirs: list[str], name: str) -> Iterator[int]:
    """A descriptor of ``root/dirs...``, making missing directories, following no link."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, _DIR & ~os.O_NOFOLLOW)
    except OSError as exc:
        raise store_error(f"cannot open the download directory {root}", exc) from exc
    try:
        done: list[str] = []
        for part in dirs:
            done.append(part)
            with suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
            try:
                sub = os.open(part, _DIR, dir_fd=fd)
            except OSError as exc:
                where = root.joinpath(*done)
                # Linux reports a link opened with O_DIRECTORY | O_NOFOLLOW as ENOTDIR.
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(fd, part):
                    raise UnsafePathError(
                        f"{where} is a symbolic link; download does not follow links under its "
                        f"root (entry {name!r}); remove the link or download elsewhere"
                    ) from None
                if exc.errno == errno.ENOTDIR:
                    raise ValidationError(
                        f"cannot write entry {name!r}: {where} is a file, not a directory"
                    ) from None
                raise store_error(f"cannot open {where}", exc) from exc
            os.close(fd)
            fd = sub
        yield fd
    finally:
        os.close(fd)


def _up_to_date(objects: Objects, dir_fd: int, leaf: str, entry: Entry) -> bool:
    """True if ``leaf`` is already a regular file holding the entry's bytes."""
    try:
        fd = os.open(leaf, _READ, dir_fd=dir_fd)
    except OSError:
        return False  # missing, a link (replaced by the rename), a directory: rewrite
    try:
        st = os.fstat(fd)
        return (
            stat.S_ISREG(st.st_mode)
            and st.st_size == entry.size
            and objects.matches(fd, entry.digest)
        )
    finally:
        os.close(fd)


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False
