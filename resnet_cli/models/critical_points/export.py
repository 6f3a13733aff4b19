"""Export and import of one point: parameters per block with shapes, the data and the risk, as plain
JSON-able lists (tests recompute R, ∇R and ∇²R from a record by finite differences of a plain forward pass)."""

from __future__ import annotations

from typing import Any

import numpy as np

from resnet_cli.models import deep_resnet as dr
from resnet_cli.models.critical_points.pattern import Problem, Shape
from resnet_cli.models.critical_points.symmetry import unit_layout

Array = np.ndarray
EXPORT_FORMAT = "resnet-cli critical point v1"


def _shape_dict(shape: Shape) -> dict[str, Any]:
    return {k: getattr(shape, k) for k in shape.__dataclass_fields__}


def export_point(problem: Problem, theta: Array, info: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-able record of one point: network, sizes, parameters per block with shapes, data and risk.

    {"format", "network": "resnet"|"fc", "shape": {d_in, width, hidden, blocks, d_out, bias} (or the FC
    fields), "blocks": [{name: {"shape": [...], "values": nested lists}} per block/layer, in order],
    "readout": {"W"/"W_out", "c"}, "flat": θ as a list (layout of shape.spec()), "data": {"X": (d_in, m),
    "Y": (d_out, m)}, "risk": R(θ), "point": `info` (e.g. `analyse_point`'s dict) when given}.
    Floats are written at full precision (json round-trips them exactly).
    """
    theta = np.asarray(theta, dtype=float)
    spec = problem.shape.spec()
    arrays = {k: v[0] for k, v in dr.unpack(spec, theta[None]).items()}

    def entry(name: str) -> dict[str, Any]:
        return {"shape": list(arrays[name].shape), "values": arrays[name].tolist()}

    blocks = []
    for ins, outs in unit_layout(problem):
        names = [n for n, _ in ins] + ([n for n, _ in outs] if problem.network == "resnet" else [])
        blocks.append({n: entry(n) for n in names})
    readout = {n: entry(n) for n in ("W", "W_out", "c") if n in arrays}
    record = {
        "format": EXPORT_FORMAT,
        "network": problem.network,
        "shape": _shape_dict(problem.shape),
        "blocks": blocks,
        "readout": readout,
        "flat": theta.tolist(),
        "data": {"X": np.asarray(problem.X, dtype=float).tolist(), "Y": np.asarray(problem.Y, dtype=float).tolist()},
        "risk": float(problem.risk(theta[None])[0]),
    }
    if info is not None:
        record["point"] = info
    return record


def import_point(record: dict[str, Any]) -> tuple[Problem, Array]:
    """(Problem, θ (P,)) from an `export_point` record; θ is rebuilt from the per-block arrays.

    Raises ValueError when a shape does not match the sizes or the flat copy disagrees with the blocks.
    """
    if record.get("format") != EXPORT_FORMAT:
        raise ValueError(f"not a critical-point record (format {record.get('format')!r})")
    cls = dr.ResNetShape if record["network"] == "resnet" else dr.FCShape
    shape = cls(**record["shape"])
    X = np.array(record["data"]["X"], dtype=float)
    Y = np.array(record["data"]["Y"], dtype=float)
    arrays: dict[str, Array] = {}
    for part in list(record["blocks"]) + [record["readout"]]:
        for name, item in part.items():
            arrays[name] = np.array(item["values"], dtype=float).reshape(item["shape"])
    for name, shp in shape.spec():
        if name not in arrays:
            raise ValueError(f"parameter {name} missing from the record")
        if tuple(arrays[name].shape) != tuple(shp):
            raise ValueError(f"parameter {name} has shape {arrays[name].shape}, the network needs {shp}")
    theta = dr.pack(shape.spec(), {k: v[None] for k, v in arrays.items()}, (1,))[0]
    if "flat" in record and not np.array_equal(np.array(record["flat"], dtype=float), theta):
        raise ValueError("the flat parameter vector disagrees with the per-block arrays")
    return Problem(shape, X, Y), theta
