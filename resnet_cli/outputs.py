"""Output files (`--out`, `--plot`, cache entries): checked before any computation, written atomically.

Why:
- `check_writable(path, flag)` runs before the work starts, so an hour-long sweep never ends in "cannot
  write". It refuses a missing folder, a directory (or other non-regular file) as target, a folder where
  no file can be created (tested for real: a temp file is created and removed there, which catches
  read-only mounts, ACLs and full quotas that permission bits do not show) and an existing file the user
  cannot write. Every refusal is a one-line `UserError` naming the flag.
- `write_atomic(path, data)` and `atomic_path(path)` write into a temp file in the *real* target's folder
  (symlinks resolved, so `os.replace` stays a same-filesystem rename and the link itself is kept: writing
  `--out link.json` replaces the file the link points to), fsync it, then `os.replace` it onto the target.
  A reader sees the old file or the new one, never half of one; on any exception, KeyboardInterrupt
  included, the temp file is removed and the target is untouched.
- Permissions: the temp file is created with mode 0o666 and the kernel applies the umask, so a new file
  gets 0o666 & ~umask, as `open(path, "w")` would give it (`tempfile.mkstemp` gives 0o600, which hid
  results from group readers). Replacing an existing file keeps that file's permission bits, again as
  `open(path, "w")` would. The umask is never read with `os.umask` (that call changes it process-wide
  for a moment, a race with other threads).
Nothing here prints.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import Iterator

from resnet_cli import signals
from resnet_cli.errors import UserError

__all__ = ["atomic_path", "check_writable", "real_target", "write_atomic"]


def real_target(path: str | os.PathLike) -> Path:
    """The file a write to `path` must replace: `path` with every symlink resolved (even a dangling last one)."""
    return Path(os.path.realpath(os.fspath(path)))


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def check_writable(path: str | os.PathLike, flag: str) -> None:
    """Raise a one-line UserError naming `flag` unless `path` can be written by `write_atomic`.

    Checks, in order: the real target (symlinks resolved) is not a directory or other non-regular file;
    its folder exists and is a folder; a file can be created and removed in that folder; an existing
    target is writable by this user.
    """
    shown = os.fspath(path)
    if not shown:
        raise UserError(f"{flag}: the file name is empty")
    target = real_target(path)
    if os.path.isdir(target):
        raise UserError(f"{flag} {shown}: is a directory, not a file")
    if os.path.lexists(target) and not (os.path.isfile(target)):
        raise UserError(f"{flag} {shown}: exists and is not a regular file")
    folder = target.parent
    if not folder.exists():
        raise UserError(f"{flag} {shown}: folder {folder} does not exist")
    if not folder.is_dir():
        raise UserError(f"{flag} {shown}: {folder} is not a folder")
    try:
        fd, tmp = _create_temp(folder, target.name, ".check")
    except OSError as exc:
        raise UserError(f"{flag} {shown}: cannot create files in folder {folder} ({_reason(exc)})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    if target.exists() and not os.access(target, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        raise UserError(f"{flag} {shown}: the existing file is not writable")


def _create_temp(folder: Path, name: str, suffix: str) -> tuple[int, str]:
    """Create a new empty file `.{name}.XXXXXXXX{suffix}` in `folder` with mode 0o666 & ~umask; `name` cut to
    fit 255 bytes (a 245-byte output name made the temp name too long: the output was refused)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    room = 255 - len(f"..XXXXXXXX{suffix}".encode())
    name = os.fsdecode(os.fsencode(name)[:room])  # the file system's bytes: a non-UTF-8 name (\xff) stays as given
    for _ in range(100):
        tmp = folder / f".{name}.{os.urandom(4).hex()}{suffix}"
        try:
            return os.open(tmp, flags, 0o666), os.fspath(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", os.fspath(folder))


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; best effort (some filesystems refuse to open or fsync folders)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _keep_existing_mode(fd: int, target: Path) -> None:
    with contextlib.suppress(OSError):
        st = os.stat(target)
        if stat.S_ISREG(st.st_mode):
            os.fchmod(fd, stat.S_IMODE(st.st_mode))


_WRITTEN: list[str] = []  # the outputs completed since `forget_written` (the start of a run)


def forget_written() -> None:
    """A run begins: no output of it is complete yet (`written`)."""
    _WRITTEN.clear()


def written() -> list[str]:
    """The outputs (as given) completed since the run began, each once (a file written twice, e.g.
    reproductions.md after each section, counts once, at its last write): what a stopped run keeps."""
    last = {real: i for i, real in enumerate(os.path.realpath(p) for p in _WRITTEN)}
    return [_WRITTEN[i] for i in sorted(last.values())]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[str]:
    """Yield a temp file path to write (e.g. `fig.savefig(tmp)`); on success it replaces `path` atomically.

    The temp file has the target's suffix unless `suffix` is given (matplotlib picks the format from it)
    and lives in the real target's folder. On any exception (KeyboardInterrupt included) it is removed and `path` is untouched.
    """
    target = real_target(path)
    fd, tmp = _create_temp(target.parent, target.name, target.suffix if suffix is None else suffix)
    try:
        _keep_existing_mode(fd, target)
        os.close(fd)
        fd = -1
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
        _WRITTEN.append(os.fspath(path))
    except BaseException:
        with signals.cleaning():
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    _fsync_folder(target.parent)


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write `data` (str as UTF-8, newlines untouched, or bytes) to `path` atomically; see the module doc."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    # ".tmp", not the target's suffix: a reader globbing "*.json" or "*.cell" never sees a half-written file.
    with atomic_path(path, ".tmp") as tmp, open(tmp, "wb") as handle:
        handle.write(payload)
