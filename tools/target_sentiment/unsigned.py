"""Store a dynamically quantised model's MatMul weights as uint8 instead of int8.

``quantize_dynamic`` writes signed weights, which ONNX Runtime multiplies with the unsigned
activations in a u8 x s8 kernel. On x86 processors without VNNI (AVX2 only, e.g. many AMD
EPYC) that kernel adds pairs of products in 16-bit lanes that saturate when weights use
the full int8 range, as per-channel scales make them do: the accurate model then read
almost every target as neutral (held-out F1m 0.17 where a VNNI machine reads 0.84).

Shifting each weight and its zero point by 128 gives the same integers after subtracting
the zero point, so the model computes exactly the same products, but through the u8 x u8
kernel, which widens to 16 bits before it multiplies and cannot saturate.

    python -m tools.target_sentiment.unsigned MODEL.onnx [OUT.onnx]   # in place by default
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper


def unsigned_matmul_weights(model: onnx.ModelProto) -> int:
    """Rewrite, in ``model``, every int8 weight and weight zero point of a MatMulInteger
    as uint8 (value + 128); returns how many initialisers changed."""
    initialisers = {i.name: i for i in model.graph.initializer}
    users: dict[str, set[str]] = {}
    for node in model.graph.node:
        for name in node.input:
            users.setdefault(name, set()).add(node.op_type)
    changed = 0
    for node in model.graph.node:
        if node.op_type != "MatMulInteger":
            continue
        # inputs: A, B, a_zero_point, b_zero_point; B and its zero point are constants
        for name in (node.input[1], node.input[3] if len(node.input) > 3 else ""):
            tensor = initialisers.get(name)
            if tensor is None or tensor.data_type != onnx.TensorProto.INT8:
                continue
            if users[name] != {"MatMulInteger"}:
                raise ValueError(f"{name} also feeds {users[name]}: cannot shift it")
            shifted = numpy_helper.to_array(tensor).astype(np.int16) + 128
            tensor.CopyFrom(numpy_helper.from_array(shifted.astype(np.uint8), name))
            changed += 1
    return changed


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    src = Path(argv[0])
    dst = Path(argv[1]) if len(argv) == 2 else src
    model = onnx.load(str(src))
    changed = unsigned_matmul_weights(model)
    onnx.save(model, str(dst))
    print(f"{dst}: {changed} weight tensors now uint8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
