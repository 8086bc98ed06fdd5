"""Write the target-sentiment classifier as one ONNX graph of fused int8 kernels.

The exporter's graph of the fine-tuned encoder spells attention out in some thirty small
operators per layer, which ONNX Runtime's optimizer does not recognise. This module builds
the same network directly from its weights with ONNX Runtime's fused kernels
(``QAttention``, ``MatMulIntegerToFloat``, ``SkipLayerNormalization``, ``BiasGelu``), so
nothing is left to pattern matching:

* weights: int8, one scale per output column;
* activations: uint8 with *fixed* scales calibrated on training sentences (static
  quantisation). Dynamic quantisation measures each run's range instead, so a padded
  batch shares one scale and a reading depended on its neighbours; with fixed scales a
  row's result is the same alone or in any batch, and the runtime can batch.

Used by :mod:`tools.target_sentiment.train` (weights from the trained PyTorch model) and
on its own to rebuild a model from an earlier dynamically quantised file::

    python -m tools.target_sentiment.graph --from-onnx old/model.onnx \
        --data ../shared/data/newsmtsc/train.jsonl --out /tmp/rebuilt

Needs the ``train`` extra (``onnx``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from feeds.analysis.targeted import encoding
from tools.target_sentiment import data as splits

LAYERS = 6
HEADS = 12
HIDDEN = 384
MS = "com.microsoft"  # ONNX Runtime's contrib kernels
EPSILON = 1e-12
INPUTS = ("input_ids", "attention_mask", "token_type_ids", "target_mask")  # as encoding.py
CALIBRATION_TARGETS = 600
# a range per quantised input: the 10th percentile of each run's minimum and the 90th of
# each run's maximum, so one rare extreme does not coarsen every other run's resolution
CALIBRATION_PERCENTILE = 90.0


def _name(prefix: str, n: int) -> str:
    return f"encoder.encoder.layer.{n}.{prefix}"


def _int8_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column of an [in, out] weight: (values, scales)."""
    scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / 127.0
    return np.clip(np.round(weight / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def _uint8_range(low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Asymmetric uint8 scale and zero point covering [low, high] (and 0)."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = max(high - low, 1e-8) / 255.0
    zero = int(np.clip(round(-low / scale), 0, 255))
    return np.array(scale, np.float32), np.array(zero, np.uint8)


def build_graph(
    w: dict[str, np.ndarray],
    ranges: dict[str, tuple[float, float]] | None = None,
    *,
    sentence: bool = False,
) -> onnx.ModelProto:
    """The classifier from PyTorch-named weights (``nn.Linear`` weights as [out, in]).

    ``sentence``: the plain encoder instead (no mention input, no head): the output is
    ``embedding``, the unit-length mean of the last layer over the real word pieces, as
    sentence-transformers pools MiniLM; the topic classifier's encoder is built this way.

    Without ``ranges``: the float graph (to calibrate and to compare with). With
    ``ranges`` (the observed [low, high] of each quantised product's input, by the names
    of :data:`QUANTISED_INPUTS`): int8 weights per channel and fixed uint8 activation
    scales, so a row's result never depends on the other rows of its batch.
    """
    inits: list[TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs: object) -> str:
        """Add one node; its output tensor carries the node's name."""
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def quantised_input(x: str) -> tuple[str, str, str]:
        assert ranges is not None
        scale, zero = _uint8_range(*ranges[x])
        s, z = const(f"{x}.scale", scale), const(f"{x}.zero_point", zero)
        return node("QuantizeLinear", [x, s, z], f"{x}.quantised"), s, z

    def matmul(x: str, weight: np.ndarray, out: str, bias: str | None = None) -> str:
        """x @ weight (+ bias when the product is quantised; else the caller adds it)."""
        if ranges is None:
            return node("MatMul", [x, const(f"{out}.weight", weight.astype(np.float32))], out)
        xq, xs, xz = quantised_input(x)
        q, scales = _int8_columns(weight)
        inputs = [xq, const(f"{out}.weight", q), xs, const(f"{out}.weight_scale", scales), xz]
        inputs += [const(f"{out}.weight_zero", np.zeros(len(scales), np.int8))]
        inputs += [bias] if bias else []
        return node("MatMulIntegerToFloat", inputs, out, MS)

    def embedding(key: str, ids: str, out: str) -> str:
        table = w[key]
        if ranges is None:
            return node("Gather", [const(key, table), ids], out)
        # as the dynamic quantiser stores them: uint8, one scale for the table
        scale, zero = _uint8_range(float(table.min()), float(table.max()))
        q = np.clip(np.round(table / scale) + zero, 0, 255).astype(np.uint8)
        rows = node("Gather", [const(f"{key}.quantised", q), ids], f"{out}.quantised")
        return node(
            "DequantizeLinear",
            [rows, const(f"{key}.scale", scale), const(f"{key}.zero_point", zero)],
            out,
        )

    def param(key: str) -> str:
        return const(key, w[key])

    def skip_norm(product: str, residual: str, prefix: str, out: str) -> str:
        """LayerNorm(product + dense bias + residual): the block's closing step."""
        inputs = [product, residual, param(f"{prefix}.LayerNorm.weight")]
        inputs += [param(f"{prefix}.LayerNorm.bias"), param(f"{prefix}.dense.bias")]
        return node("SkipLayerNormalization", inputs, out, MS, epsilon=EPSILON)

    emb = "encoder.embeddings"
    words = embedding(f"{emb}.word_embeddings.weight", "input_ids", "emb_words")
    types = node(
        "Gather", [param(f"{emb}.token_type_embeddings.weight"), "token_type_ids"], "emb_types"
    )
    length = node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    first = [
        const("zero", np.array([0], np.int64)),
        length,
        const("axis0", np.array([0], np.int64)),
    ]
    positions = node("Slice", [param(f"{emb}.position_embeddings.weight"), *first], "emb_positions")
    summed = node("Add", [node("Add", [words, types], "emb_wt"), positions], "emb_sum")
    norm = [param(f"{emb}.LayerNorm.weight"), param(f"{emb}.LayerNorm.bias")]
    x = node("LayerNormalization", [summed, *norm], "emb_out", axis=-1, epsilon=EPSILON)
    mask32 = node("Cast", ["attention_mask"], "mask_int32", to=TensorProto.INT32)
    for n in range(LAYERS):
        att = _name("attention", n)
        parts = ("query", "key", "value")
        qkv_w = np.concatenate([w[f"{att}.self.{p}.weight"].T for p in parts], axis=1)
        qkv_b = np.concatenate([w[f"{att}.self.{p}.bias"] for p in parts]).astype(np.float32)
        bias = const(f"{att}.qkv.bias", qkv_b)
        if ranges is None:
            weight = const(f"{att}.qkv.weight", qkv_w.astype(np.float32))
            inputs = [x, weight, bias, mask32]
            a = node("Attention", inputs, f"layer{n}_attention", MS, num_heads=HEADS)
        else:
            xq, xs, xz = quantised_input(x)
            q, scales = _int8_columns(qkv_w)
            inputs = [xq, const(f"{att}.qkv.weight", q), bias, xs]
            inputs += [const(f"{att}.qkv.weight_scale", scales), mask32, xz]
            inputs += [const(f"{att}.qkv.weight_zero", np.zeros(len(scales), np.int8))]
            a = node("QAttention", inputs, f"layer{n}_attention", MS, num_heads=HEADS)
        d = matmul(a, w[f"{att}.output.dense.weight"].T, f"layer{n}_attention_dense")
        x = skip_norm(d, x, f"{att}.output", f"layer{n}_attention_out")
        inter = _name("intermediate.dense", n)
        h = matmul(x, w[f"{inter}.weight"].T, f"layer{n}_intermediate")
        g = node("BiasGelu", [h, param(f"{inter}.bias")], f"layer{n}_gelu", MS)
        out = _name("output", n)
        o = matmul(g, w[f"{out}.dense.weight"].T, f"layer{n}_output_dense")
        x = skip_norm(o, x, out, f"layer{n}_out")
    if sentence:
        output = _sentence_pooling(node, const, x)
        inputs, shape = INPUTS[:3], ["batch", HIDDEN]
    else:
        output = _mention_pooling(node, const, x, w)
        inputs, shape = INPUTS, ["batch", 3]
    dims = ["batch", "tokens"]
    graph = helper.make_graph(
        nodes,
        "sentence_encoder" if sentence else "target_sentiment",
        [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in inputs],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, shape)],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _masked_mean(node: Any, const: Any, x: str, masks: Sequence[str]) -> str:
    """Per row, the mean of ``x`` over the word pieces of each mask: one [masks, tokens]
    x [tokens, hidden] product, divided by the counts (at least 1), flattened."""
    rows = []
    axis1 = const("axis1", np.array([1], np.int64))
    for name in masks:
        f = node("Cast", [name], f"{name}_float", to=TensorProto.FLOAT)
        rows.append(node("Unsqueeze", [f, axis1], f"{name}_row"))
    stacked = rows[0] if len(rows) == 1 else node("Concat", rows, "pool_masks", axis=1)
    sums = node("MatMul", [stacked, x], "pool_sum")
    axis2 = const("axis2", np.array([2], np.int64))
    counts = node("ReduceSum", [stacked, axis2], "pool_count", keepdims=1)
    counts = node("Max", [counts, const("one", np.array(1.0, np.float32))], "pool_count_min1")
    pooled = node("Div", [sums, counts], "pool_mean")
    return str(
        node("Reshape", [pooled, const("flat_shape", np.array([0, -1], np.int64))], "pooled")
    )


def _mention_pooling(node: Any, const: Any, x: str, w: dict[str, np.ndarray]) -> str:
    """The mean of every word piece and the mean of the mention's, then the float head."""
    flat = _masked_mean(node, const, x, ("attention_mask", "target_mask"))
    # the head is tiny: it stays in float
    head = const("head.weight", w["head.weight"].T.astype(np.float32))
    matmul = node("MatMul", [flat, head], "head_matmul")
    return str(node("Add", [matmul, const("head.bias", w["head.bias"])], "logits"))


def _sentence_pooling(node: Any, const: Any, x: str) -> str:
    """The unit-length mean of the real word pieces' last-layer vectors."""
    flat = _masked_mean(node, const, x, ("attention_mask",))
    norm = node("ReduceL2", [flat], "pooled_norm", axes=[1], keepdims=1)  # opset 17: attribute
    floor = node("Max", [norm, const("tiny", np.array(1e-9, np.float32))], "pooled_norm_min")
    return str(node("Div", [flat, floor], "embedding"))


QUANTISED_INPUTS = tuple(
    name
    for n in range(LAYERS)
    for name in (
        "emb_out" if n == 0 else f"layer{n - 1}_out",
        f"layer{n}_attention",
        f"layer{n}_attention_out",
        f"layer{n}_gelu",
    )
)


def weights_from_int8(path: Path) -> dict[str, np.ndarray]:
    """Dequantise a dynamically quantised export (the earlier committed file) to named weights.

    Re-quantising these weights per channel gives back the same int8 values, so a model
    rebuilt from them computes what the earlier one did, up to the kernels' arithmetic.
    """
    model = onnx.load(str(path))
    arrays = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}

    def dequantised(base: str) -> np.ndarray:
        q = arrays[f"{base}_quantized"].astype(np.float32)
        return (q - arrays[f"{base}_zero_point"].astype(np.float32)) * arrays[f"{base}_scale"]

    w = {
        k: v
        for k, v in arrays.items()
        if v.dtype == np.float32 and re.match(r"(encoder|head)\.", k) and not k.endswith("_scale")
    }
    for kind in ("word", "position", "token_type"):
        key = f"encoder.embeddings.{kind}_embeddings.weight"
        w[key] = dequantised(key)
    w["head.weight"] = dequantised("head.weight").T
    for n in model.graph.node:
        if n.op_type != "MatMulInteger" or not n.name.startswith("/encoder/encoder/layer."):
            continue
        module = n.name.removeprefix("/").removesuffix("/MatMul_quant").replace("/", ".")
        w[f"{module}.weight"] = dequantised(n.input[1].removesuffix("_quantized")).T
    return w


def calibrate(
    w: dict[str, np.ndarray],
    rows: Iterable[tuple[list[int], list[int], list[int]]],
    *,
    sentence: bool = False,
) -> dict[str, tuple[float, float]]:
    """Observed ranges of every quantised input of the float graph, one row per run
    (``sentence``: of the plain encoder; the rows' mention masks are then ignored)."""
    import onnxruntime as ort

    model = build_graph(w, sentence=sentence)
    for name in QUANTISED_INPUTS:
        model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    lows: dict[str, list[float]] = {k: [] for k in QUANTISED_INPUTS}
    highs: dict[str, list[float]] = {k: [] for k in QUANTISED_INPUTS}
    pack = encoding.pack
    for row in rows:
        feed = pack([row])
        if sentence:
            del feed["target_mask"]
        for name, value in zip(
            QUANTISED_INPUTS, session.run(list(QUANTISED_INPUTS), feed), strict=True
        ):
            lows[name].append(float(value.min()))
            highs[name].append(float(value.max()))
    return {
        name: (
            float(np.percentile(lows[name], 100 - CALIBRATION_PERCENTILE)),
            float(np.percentile(highs[name], CALIBRATION_PERCENTILE)),
        )
        for name in QUANTISED_INPUTS
    }


def calibration_sample(rows: Sequence[object], seed: int = 13) -> list[object]:
    """A fixed random sample of the training rows (never the held-out ones)."""
    picked = list(rows)
    random.Random(seed).shuffle(picked)
    return picked[:CALIBRATION_TARGETS]


Row = tuple[list[int], list[int], list[int]]  # ids, type ids, mention mask


def _training_rows(data: Path, tokenizer_file: Path, *, plain: bool = False) -> list[Row]:
    """Encoded training targets (the held-out tenth left out), as the training script has it;
    ``plain``: without the other targets marked (the input of the first model)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    tok.no_padding()
    tok.enable_truncation(encoding.MAX_TOKENS, strategy="longest_first")
    rows = []
    for line in data.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        spans = [(t["from"], t["to"]) for t in item["targets"]]
        for target in item["targets"]:
            if splits.held_out(splits.article_of(target["Input.gid"]), 1):
                continue
            own = (target["from"], target["to"])
            others = [] if plain else [span for span in spans if span != own]
            pair = encoding.marked_pair(item["sentence_normalized"], *own, others)
            rows.append(encoding.encode_pair(tok, pair))
    return rows


def main() -> int:
    here = Path(__file__).resolve().parents[2] / "feeds/analysis/targeted/model"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-onnx", type=Path, required=True, help="an earlier int8 export")
    parser.add_argument("--data", type=Path, required=True, help="NewsMTSC train.jsonl")
    parser.add_argument("--tokenizer", type=Path, default=here / "tokenizer.json")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--no-mark-others",
        action="store_true",
        help="calibrate without the other targets marked (a model trained that way)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    w = weights_from_int8(args.from_onnx)
    sample = calibration_sample(
        _training_rows(args.data, args.tokenizer, plain=args.no_mark_others)
    )
    ranges = calibrate(w, sample)  # type: ignore[arg-type]
    (args.out / "ranges.json").write_text(json.dumps(ranges, indent=1))
    onnx.save(build_graph(w, ranges), str(args.out / "model.onnx"))
    print(args.out / "model.onnx", (args.out / "model.onnx").stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
