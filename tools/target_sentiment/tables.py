"""Quantise a model's embedding tables one row at a time instead of with one scale.

``quantize_dynamic`` quantises a Gather's table with a single scale and zero point for the
whole tensor, even with ``per_channel=True``. mpnet's word-embedding table has rows of
very different ranges, so one scale spends most of its 256 steps on a few large rows and
rounds the ordinary ones coarsely. The first export's numbers suggested that this cost the
accurate model more than its MatMul quantisation; measured side by side on two teachers
(docs/BENCHMARKS.md, issue 16, fourth round) the difference was within noise, so the
shipped model keeps one scale a table and this is an option of ``export_large``.

This rewrite replaces each ``Gather(table_quantized) -> DequantizeLinear`` pair with a
symmetric int8 table and one float scale per row, taken from the float export:

    Gather(table_int8, ids) -> Cast(float) -> Mul(Unsqueeze(Gather(row_scales, ids), -1))

The file grows by one float per row (about 0.1 MB for mpnet) and the result is within
half a step of the float row for every row.

    python -m tools.target_sentiment.tables FP32.onnx QUANTISED.onnx [OUT.onnx]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

SUFFIX = "_quantized"


def row_quantised(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 rows and their scales (a row of zeros keeps scale 1)."""
    peak = np.abs(table).max(axis=1)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    rows = np.clip(np.rint(table / scales[:, None]), -127, 127).astype(np.int8)
    return rows, scales


def per_row_tables(quantised: onnx.ModelProto, fp32: onnx.ModelProto) -> list[str]:
    """Rewrite ``quantised`` in place; returns the names of the tables rewritten."""
    floats = {i.name: i for i in fp32.graph.initializer}
    inits = {i.name: i for i in quantised.graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in quantised.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    done: list[str] = []
    nodes = list(quantised.graph.node)
    for gather in nodes:
        if gather.op_type != "Gather" or not gather.input[0].endswith(SUFFIX):
            continue
        base = gather.input[0][: -len(SUFFIX)]
        users = consumers.get(gather.output[0], [])
        if base not in floats or len(users) != 1 or users[0].op_type != "DequantizeLinear":
            continue
        dequantise = users[0]
        rows, scales = row_quantised(numpy_helper.to_array(floats[base]).astype(np.float32))
        inits[gather.input[0]].CopyFrom(numpy_helper.from_array(rows, gather.input[0]))
        scale_name = f"{base}_row_scales"
        quantised.graph.initializer.append(numpy_helper.from_array(scales, scale_name))
        axes = f"{base}_row_axes"
        quantised.graph.initializer.append(numpy_helper.from_array(np.array([-1]), axes))
        picked, widened, column = (f"{base}_row_{part}" for part in ("picked", "float", "col"))
        at = list(quantised.graph.node).index(dequantise)
        replacement = [
            helper.make_node("Gather", [scale_name, gather.input[1]], [picked]),
            helper.make_node("Unsqueeze", [picked, axes], [column]),
            helper.make_node("Cast", [gather.output[0]], [widened], to=onnx.TensorProto.FLOAT),
            helper.make_node("Mul", [widened, column], [dequantise.output[0]]),
        ]
        quantised.graph.node.remove(dequantise)
        for offset, node in enumerate(replacement):
            quantised.graph.node.insert(at + offset, node)
        done.append(base)
    _drop_unused(quantised)
    return done


def _drop_unused(model: onnx.ModelProto) -> None:
    """Remove initialisers no node reads any more (the old scales and zero points)."""
    used = {name for node in model.graph.node for name in node.input}
    stale = [i for i in model.graph.initializer if i.name not in used]
    for tensor in stale:
        model.graph.initializer.remove(tensor)


def main(argv: list[str]) -> int:
    if not 2 <= len(argv) <= 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    fp32, src = Path(argv[0]), Path(argv[1])
    dst = Path(argv[2]) if len(argv) == 3 else src
    model = onnx.load(str(src))
    done = per_row_tables(model, onnx.load(str(fp32)))
    onnx.save(model, str(dst))
    print(f"{dst}: {len(done)} tables now int8 per row: {', '.join(done)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
