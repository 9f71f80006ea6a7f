"""Safe file replacement for `archc fmt`: a crash, a full disk or a kill mid-write must never
leave a spec half-written."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace `path` with `text` atomically.

    The text goes to a temporary file in the same folder (so the final rename stays on one
    file system), is flushed and fsync'ed, gets the original's permission bits, and then
    `os.replace` swaps it in: readers see either the old file or the new one, never a mix.
    On any error the temporary file is removed and the original is left untouched. A symlink
    is followed: its target is rewritten and the link kept.
    """
    target = Path(os.path.realpath(path))
    mode = _mode_for(target)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(target.parent)


def _mode_for(target: Path) -> int:
    """The existing file's permission bits; for a new file what `open()` would give."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


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
