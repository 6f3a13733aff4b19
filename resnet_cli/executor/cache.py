"""The resumable cell cache: one file per finished cell, trusted only if its key and checksum match.

With ``--cache DIR`` each finished cell is stored at once (atomically), keyed by `keys.cell_key` (the
package version, the cell function's module and qualified name and the canonical task, which holds the
seed); a re-run computes only missing cells and returns the same values. A corrupt, foreign or unreadable
entry is reported through ``warn(message)`` and recomputed.

Hand-written, not `joblib.Memory`. Checked with joblib 1.6: (1) a corrupt entry makes joblib print a full
traceback to stderr (even at verbose=0) before recomputing — against "no traceback" and "no printing in this
module"; (2) an entry copied from another call's folder is returned without complaint — a foreign result
silently trusted, since joblib stores no key or checksum inside its `output.pkl`; (3) its key covers the
function's source text and the path of its module file, not the package version, and a changed function
makes joblib clear that function's whole cache with a printed warning.

Format: ``<key>.cell`` = magic line + JSON header (key, sha256, size, version, fn) + pickle payload, written
with `outputs.write_atomic`; the payload is unpickled only after the key and checksum match. (A checksum is
no signature: do not point ``--cache`` at a folder others can write, as with any file that Python loads.)
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import warnings
from pathlib import Path
from typing import Any, Callable

import resnet_cli
from resnet_cli.errors import UserError
from resnet_cli.executor.keys import fn_name

#: What `CellCache.load` returns for an absent (or ignored) entry.
MISSING = object()


class CacheWarning(UserWarning):
    """A cache entry was ignored (corrupt, foreign, unreadable) or could not be written."""


def _default_warn(message: str) -> None:
    warnings.warn(message, CacheWarning, stacklevel=4)


class CellCache:
    """One file per finished cell in `folder`: ``<key>.cell`` (see the module docstring for the format)."""

    MAGIC = b"resnet-cli cell cache v1\n"
    SUFFIX = ".cell"

    def __init__(self, folder: str | os.PathLike, warn: Callable[[str], None] | None = None,
                 flag: str = "--cache") -> None:
        self.folder = Path(folder)
        self.warn = warn or _default_warn
        shown = os.fspath(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise UserError(f"{flag} {shown}: exists and is not a folder") from None
        except OSError as exc:
            raise UserError(f"{flag} {shown}: cannot create the folder ({exc.strerror or exc})") from None
        from resnet_cli.outputs import check_writable

        # A file that could be an entry: checks that entries can be created (and replaced) in the folder.
        check_writable(self.folder / f"probe{self.SUFFIX}", flag)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}{self.SUFFIX}"

    def _payload(self, path: Path, key: str, data: bytes) -> bytes | None:
        """The checked payload of an entry's bytes, or None (after a warning saying why)."""
        if not data.startswith(self.MAGIC):
            self.warn(f"cache entry {path} is not a resnet-cli cache entry; ignoring it and computing the cell again")
            return None
        end = data.find(b"\n", len(self.MAGIC))
        try:
            if end < 0:
                raise ValueError("no header")
            header = json.loads(data[len(self.MAGIC):end].decode("utf-8"))
            stored_key, digest, size = header["key"], header["sha256"], header["size"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):  # (deep nesting: '[[[…')
            self.warn(f"cache entry {path} is corrupt (unreadable header); computing the cell again")
            return None
        if stored_key != key:
            self.warn(f"cache entry {path} holds another cell's result (foreign entry); ignoring it and "
                      "computing the cell again")
            return None
        payload = data[end + 1:]
        if len(payload) != size or hashlib.sha256(payload).hexdigest() != digest:
            self.warn(f"cache entry {path} is corrupt (checksum mismatch); computing the cell again")
            return None
        return payload

    def load(self, key: str) -> Any:
        """The stored result for `key`, or `MISSING` (absent, or ignored with a warning)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return MISSING
        except OSError as exc:
            self.warn(f"cache entry {path} is unreadable ({exc.strerror or exc}); computing the cell again")
            return MISSING
        payload = self._payload(path, key, data)
        if payload is None:
            return MISSING
        try:
            return pickle.loads(payload)
        except Exception as exc:  # a checksum-valid payload that our code cannot load (e.g. a renamed class)
            self.warn(f"cache entry {path} cannot be loaded ({exc.__class__.__name__}); computing the cell again")
            return MISSING

    def store(self, key: str, value: Any, fn: Callable[..., Any] | None = None) -> None:
        """Write the entry atomically; a failure (disk full, ...) is a warning: the result is still returned."""
        from resnet_cli.outputs import write_atomic

        path = self.path(key)
        try:
            payload = pickle.dumps(value, protocol=5)
            header = {"key": key, "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload),
                      "version": resnet_cli.__version__, "fn": fn_name(fn) if fn is not None else None}
            blob = self.MAGIC + json.dumps(header, sort_keys=True).encode("utf-8") + b"\n" + payload
            write_atomic(path, blob)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            self.warn(f"cannot write cache entry {path} ({reason}); this cell will be computed again next time")
