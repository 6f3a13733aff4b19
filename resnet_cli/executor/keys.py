"""Cache keys of cells: sha256 over the package version, the cell function's name and the task.

`canonical_bytes` is a type-tagged serialization, equal for equal task configs and independent of dict/set
order. It covers None/bool/int/float/complex/str/bytes, enums, paths, numpy arrays and scalars (dtype, shape,
bytes), lists, tuples, named tuples, dicts and sets, dataclasses and plain objects (by their fields), and
functions/classes by qualified name; anything else is a TypeError rather than a silently unstable key.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import os
from pathlib import PurePath
from typing import Any, Callable, Iterable

import numpy as np

import resnet_cli


def _type_name(obj: Any) -> str:
    t = obj if isinstance(obj, type) else type(obj)
    return f"{t.__module__}.{t.__qualname__}"


class _Writer:
    """Appends tagged, length-prefixed items to one byte buffer."""

    def __init__(self) -> None:
        self.out = bytearray()

    def raw(self, data: bytes) -> None:
        self.out.extend(data)

    def count(self, n: int) -> None:
        self.out.extend(int(n).to_bytes(8, "big"))

    def text(self, tag: bytes, s: str) -> None:
        data = s.encode("utf-8")
        self.out.extend(tag + len(data).to_bytes(8, "big") + data)

    def blob(self, tag: bytes, data: bytes) -> None:
        self.out.extend(tag + len(data).to_bytes(8, "big") + data)

    def fields(self, tag: bytes, name: str, items: Iterable[tuple[str, Any]]) -> None:
        items = list(items)
        self.text(tag, name)
        self.count(len(items))
        for key, value in items:
            self.text(b"k", key)
            _canon(value, self)


def _scalar(obj: Any, w: _Writer) -> bool:
    """Write `obj` if it is a scalar (None, bool, enum, number, text, bytes, path); False if it is not."""
    if obj is None:
        w.raw(b"N")
    elif obj is True or obj is False:
        w.raw(b"T" if obj else b"F")
    elif isinstance(obj, enum.Enum):
        w.text(b"E", f"{_type_name(obj)}.{obj.name}")
    elif isinstance(obj, np.generic):
        if obj.dtype.hasobject:
            raise TypeError("cannot make a cache key of a numpy object scalar")
        w.text(b"G", obj.dtype.str)
        w.count(len(obj.tobytes()))
        w.raw(obj.tobytes())
    elif isinstance(obj, int):
        w.text(b"I", str(int(obj)))
    elif isinstance(obj, float):
        w.text(b"D", float(obj).hex())
    elif isinstance(obj, complex):
        w.text(b"C", f"{obj.real.hex()},{obj.imag.hex()}")
    elif isinstance(obj, str):
        w.text(b"S", str(obj))
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        w.blob(b"B", bytes(obj))
    elif isinstance(obj, PurePath):
        w.text(b"P", os.fspath(obj))
    elif isinstance(obj, range):
        w.text(b"R", f"{obj.start},{obj.stop},{obj.step}")
    else:
        return False
    return True


def _array(obj: np.ndarray, w: _Writer) -> None:
    if obj.dtype.hasobject:
        raise TypeError("cannot make a cache key of a numpy array of Python objects")
    w.text(b"A", repr(obj.dtype.descr) if obj.dtype.fields else obj.dtype.str)
    w.count(len(obj.shape))
    for n in obj.shape:
        w.count(n)
    w.blob(b"", np.ascontiguousarray(obj).tobytes())


def _object_state(obj: Any) -> dict[str, Any]:
    state: dict[str, Any] = dict(getattr(obj, "__dict__", {}))
    for klass in type(obj).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                state[slot] = getattr(obj, slot)
    return state


def _canon(obj: Any, w: _Writer) -> None:
    if _scalar(obj, w):
        return
    if isinstance(obj, np.ndarray):
        _array(obj, w)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        w.fields(b"O", _type_name(obj), ((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)))
    elif isinstance(obj, tuple) and hasattr(obj, "_fields"):
        w.fields(b"O", _type_name(obj), zip(obj._fields, obj))
    elif isinstance(obj, (tuple, list)):
        w.raw(b"(" if isinstance(obj, tuple) else b"[")
        w.count(len(obj))
        for item in obj:
            _canon(item, w)
    elif isinstance(obj, dict):
        pairs = sorted((canonical_bytes(k), canonical_bytes(v)) for k, v in obj.items())
        w.raw(b"{")
        w.count(len(pairs))
        for k, v in pairs:
            w.raw(k + v)
    elif isinstance(obj, (set, frozenset)):
        items = sorted(canonical_bytes(v) for v in obj)
        w.raw(b"<")
        w.count(len(items))
        for item in items:
            w.raw(item)
    elif isinstance(obj, type) or (callable(obj) and hasattr(obj, "__qualname__") and hasattr(obj, "__module__")):
        w.text(b"Q", f"{obj.__module__}.{obj.__qualname__}")
    elif hasattr(obj, "__dict__") or hasattr(type(obj), "__slots__"):
        w.fields(b"O", _type_name(obj), sorted(_object_state(obj).items()))
    else:
        raise TypeError(f"cannot make a cache key of a {_type_name(obj)}")


def canonical_bytes(obj: Any) -> bytes:
    """A type-tagged byte string that is equal for equal task configs, independent of dict/set order."""
    w = _Writer()
    _canon(obj, w)
    return bytes(w.out)


def fn_name(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of a cell function."""
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def cell_key(fn: Callable[[Any], Any], task: Any) -> str:
    """sha256 (hex) over the package version, `fn`'s module and qualified name, and the task's canonical bytes."""
    h = hashlib.sha256()
    for part in (b"resnet-cli cell key v1", resnet_cli.__version__.encode(), fn_name(fn).encode(), canonical_bytes(task)):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()
