"""`atomic_write`: all or nothing, permissions kept, no debris left on failure."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from archc import fileio
from archc.fileio import atomic_write


def _debris(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "a.arch"
    target.write_text("old\n")
    atomic_write(target, "new\n")
    assert target.read_text() == "new\n"
    assert _debris(tmp_path) == []


def test_creates_a_new_file_with_default_permissions(tmp_path: Path) -> None:
    target = tmp_path / "new.arch"
    atomic_write(target, "x\n")
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_text() == "x\n"
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_keeps_permission_bits(tmp_path: Path) -> None:
    target = tmp_path / "a.arch"
    target.write_text("old\n")
    target.chmod(0o751)
    atomic_write(target, "new\n")
    assert target.stat().st_mode & 0o777 == 0o751


def test_writes_bytes_exactly(tmp_path: Path) -> None:
    target = tmp_path / "a.arch"
    atomic_write(target, "line\nµ\n")  # no newline translation, UTF-8
    assert target.read_bytes() == "line\nµ\n".encode()


def test_follows_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real.arch"
    real.write_text("old\n")
    link = tmp_path / "link.arch"
    link.symlink_to(real)
    atomic_write(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


class _HalfWriter:
    """A file object that writes half of what it is given, then fails like a full disk."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()

    def write(self, text: str) -> int:
        self.handle.write(text[: len(text) // 2])
        self.handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str):
        return getattr(self.handle, name)


def test_failure_mid_write_leaves_the_original_intact(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.arch"
    target.write_text("original\n")
    real_fdopen = os.fdopen
    monkeypatch.setattr(fileio.os, "fdopen", lambda *a, **k: _HalfWriter(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "a much longer replacement text\n" * 100)
    assert target.read_text() == "original\n"
    assert _debris(tmp_path) == []


def test_failure_at_fsync_leaves_the_original_intact(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.arch"
    target.write_text("original\n")

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(fileio.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        atomic_write(target, "new\n")
    assert target.read_text() == "original\n"
    assert _debris(tmp_path) == []


def test_failure_at_rename_leaves_the_original_intact(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.arch"
    target.write_text("original\n")

    def broken_replace(src, dst) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(fileio.os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, "new\n")
    assert target.read_text() == "original\n"
    assert _debris(tmp_path) == []


def test_interrupt_cleans_up_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.arch"
    target.write_text("original\n")

    def interrupted(*args) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "chmod", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "new\n")
    assert target.read_text() == "original\n"
    assert _debris(tmp_path) == []


def test_missing_folder_raises_without_creating_anything(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "missing" / "a.arch", "x\n")
    assert list(tmp_path.iterdir()) == []
