"""Writing files safely (`archc fmt`, `archc build -o`) and reading specs with bounds.

Writing: a regular file is replaced atomically (a crash, a full disk or a kill mid-write never
leaves it half-written), keeping its permission bits, owner and group; a FIFO or character
device (`/dev/null`, `/dev/stdout` piped, a terminal) is written through, never replaced.
Everything else (folders, block devices, sockets) is refused, and so is a regular file that
replacing would change in a way the user did not ask for: read-only, hard-linked, or owned by
someone whose ownership cannot be kept. Every refusal and failure is an `OSError` whose
`strerror` is one line for the user ("cannot write PATH: ...").

Reading: only regular files (and standard input), at most `max_bytes`, as UTF-8.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

STALE_TEMP_SECONDS = 600  # a leftover `.NAME.XXXXXXXX.tmp` older than this is a killed run's
# Spec files: the zoo's largest is 2 KB. Parsing costs ~100 bytes of memory per input byte
# until the syntax-element cap (E301) stops it, so 1 MiB keeps a hostile file near 100 MB.
DEFAULT_MAX_BYTES = 1024 * 1024


class Refused(OSError):
    """archc will not write or read this path; `strerror` says why."""

    def __init__(self, reason: str, code: int = errno.EPERM) -> None:
        super().__init__(code, reason)


# ---- writing ---------------------------------------------------------------------------------

def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse, before any work is done, a path `write_file` would refuse."""
    _classify(path)


def write_file(path: str | os.PathLike[str], text: str | bytes, encoding: str = "utf-8") -> None:
    """Write `text` to `path`: atomically for a regular (or new) file, through the node for a
    FIFO or character device. Raises OSError (often `Refused`) without touching anything."""
    kind = _classify(path)
    if kind == "through":
        _write_through(path, text if isinstance(text, bytes) else text.encode(encoding))
    else:
        atomic_write(path, text, encoding=encoding)


def _classify(path: str | os.PathLike[str]) -> str:
    if os.fspath(path) == "":
        raise Refused("empty file name", errno.ENOENT)
    try:
        info = os.stat(path)  # follows symlinks: what a write would reach
    except FileNotFoundError:
        _check_new_file(Path(os.path.realpath(path)))
        return "new"
    if stat.S_ISREG(info.st_mode):
        _check_replaceable(info)
        return "replace"
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode):
        return "through"
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory")
    raise Refused("not a regular file, FIFO or character device")


def _check_new_file(target: Path) -> None:
    parent = target.parent
    if not parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"no such folder: {parent}")
    effective = os.access in os.supports_effective_ids  # as a set-uid or seteuid'd process
    if not os.access(parent, os.W_OK | os.X_OK, effective_ids=effective):
        raise PermissionError(errno.EACCES, f"the folder {parent} is not writable")


def _check_replaceable(info: os.stat_result) -> None:
    if info.st_mode & 0o222 == 0:
        raise Refused("the file is read-only (make it writable first)", errno.EACCES)
    if info.st_nlink > 1:
        raise Refused(f"the file has {info.st_nlink} hard links, and replacing it would split "
                      "them (copy it to break the link first)")
    if not _can_own(info):
        raise Refused("the file belongs to another user or group, and archc cannot keep "
                      "its ownership when it replaces it")


def _can_own(info: os.stat_result) -> bool:
    """Whether a file this process creates can be given `info`'s owner and group."""
    if os.name != "posix" or os.geteuid() == 0:
        return True
    return info.st_uid == os.geteuid() and (info.st_gid == os.getegid()
                                            or info.st_gid in os.getgroups())


def _write_through(path: str | os.PathLike[str], data: bytes) -> None:
    # O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of hanging; no O_CREAT, so
    # the node is never replaced by a regular file.
    flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise Refused("no process is reading from this FIFO", errno.ENXIO) from None
        raise
    try:
        info = os.fstat(fd)
        if not (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
            raise Refused("the path changed while archc wrote it")
        import fcntl  # POSIX only, like FIFOs and device nodes

        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], text: str | bytes,
                 encoding: str = "utf-8") -> None:
    """Replace the regular file `path` (or create it) with `text` atomically.

    The text goes to a temporary file in the same folder (so the final rename stays on one
    file system), is flushed and fsync'ed, gets the original's permission bits, owner and
    group, and then `os.replace` swaps it in: readers see either the old file or the new one,
    never a mix. On any error the temporary file is removed and the original is left
    untouched. A symlink is followed: its target is rewritten and the link kept. Temporary
    files that killed runs left next to the target are swept once they are stale.
    """
    target = Path(os.path.realpath(path))
    existing = _stat_or_none(target)
    mode = stat.S_IMODE(existing.st_mode) if existing else _default_mode()
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        binary = isinstance(text, bytes)
        with (os.fdopen(fd, "wb") if binary
              else os.fdopen(fd, "w", encoding=encoding, newline="")) as handle:
            handle.write(text)
            handle.flush()
            if existing and (existing.st_uid, existing.st_gid) != _owner(handle.fileno()):
                os.fchown(handle.fileno(), existing.st_uid, existing.st_gid)
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(target.parent)
    sweep_stale_temps(target)


def _stat_or_none(target: Path) -> os.stat_result | None:
    try:
        return target.stat()
    except FileNotFoundError:
        return None


def _owner(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_uid, info.st_gid


def _default_mode() -> int:
    """What `open()` would give a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def sweep_stale_temps(target: Path, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove `.NAME.XXXXXXXX.tmp` files (atomic_write's own temporaries for `target`) that a
    killed run left behind. Only ours by name, only regular files this user owns, and only
    stale ones: a concurrent run's temporary file is seconds old."""
    pattern = re.compile(re.escape(f".{target.name}.") + r"[a-z0-9_]{8}\.tmp")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            if not pattern.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            info = entry.stat(follow_symlinks=False)
            if time.time() - info.st_mtime > older_than and info.st_uid == os.geteuid():
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where folders cannot be opened."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---- reading ---------------------------------------------------------------------------------

def max_input_bytes() -> int:
    """The size cap on one spec: `ARCHC_MAX_FILE_SIZE` (e.g. `32M`; the environment is the
    caller's own configuration, never a file in the tree under review) or 1 MiB."""
    value = os.environ.get("ARCHC_MAX_FILE_SIZE")
    if not value:
        return DEFAULT_MAX_BYTES
    from archc.config import ConfigError, parse_quantity

    try:
        return max(1, int(parse_quantity(value, "ARCHC_MAX_FILE_SIZE")))
    except ConfigError:
        return DEFAULT_MAX_BYTES


def read_bytes(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file, at most `max_bytes`. A FIFO, device, folder or socket is
    refused without reading (it could block forever or never end); so is a larger file."""
    limit = max_input_bytes() if max_bytes is None else max_bytes
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO must not wait for a writer
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise Refused("not a regular file (FIFOs and devices are not read)")
        if info.st_size > limit:
            raise Refused(_too_large(limit), errno.EFBIG)
        with os.fdopen(os.dup(fd), "rb") as handle:
            return _read_capped(handle, limit)
    finally:
        os.close(fd)


def read_stream(stream, max_bytes: int | None = None) -> bytes:
    """At most `max_bytes` from a binary stream (standard input), refusing anything longer."""
    return _read_capped(stream, max_input_bytes() if max_bytes is None else max_bytes)


def _read_capped(handle, limit: int) -> bytes:
    data = handle.read(limit + 1)  # a file that grows, or a stream: never more than the cap
    if len(data) > limit:
        raise Refused(_too_large(limit), errno.EFBIG)
    return data


def _too_large(limit: int) -> str:
    return (f"larger than the {limit:,}-byte limit on spec files "
            "(set ARCHC_MAX_FILE_SIZE to raise it)")
