"""Export the fine-tuned mpnet teacher to ONNX and quantise it (the accurate run-time model).

    python -m tools.target_sentiment.export_large --teacher build/teacher/run1 \
        --out build/teacher/onnx
    cp build/teacher/onnx/model.onnx build/teacher/onnx/tokenizer.json \
        feeds/analysis/targeted/model_large/

Writes ``model.fp32.onnx`` (the export) and ``model.onnx``: int8 weights per output
channel for every MatMul (stored as uint8, see ``unsigned.py``) and one scale per
embedding table, as ``quantize_dynamic`` writes it (``--tables row``: a scale per row,
``tables.py``; measured and not better, docs/BENCHMARKS.md), activations quantised per
run. Per tensor scales on the MatMuls lost 0.18 F1m on the held-out split; per channel
keeps the float reading
(``feeds/analysis/targeted/model_large/MODEL.md``).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import onnx
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from tools.encoders import mpnet_dir
from tools.target_sentiment import train
from tools.target_sentiment.tables import per_row_tables
from tools.target_sentiment.unsigned import unsigned_matmul_weights


class _Graph(torch.nn.Module):
    """The classifier with the run-time inputs (MPNet has no segment ids)."""

    def __init__(self, model: train.TargetClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, target_mask):  # type: ignore[no-untyped-def]
        return self.model(input_ids, attention_mask, None, target_mask)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, required=True, help="folder with model.pt")
    parser.add_argument("--encoder", type=Path, default=None, help="default: the pinned mpnet")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--tables", choices=("tensor", "row"), default="tensor", help="embedding-table scales"
    )
    args = parser.parse_args()
    folder = args.encoder or mpnet_dir()
    model = train.TargetClassifier(folder, 0.0)
    model.load_state_dict(torch.load(args.teacher / "model.pt", map_location="cpu"))
    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    fp32 = args.out / "model.fp32.onnx"
    ids = torch.tensor([[0, 100, 200, 2, 2, 300, 400, 2]])
    names = ["input_ids", "attention_mask", "target_mask"]
    torch.onnx.export(
        _Graph(model),
        (ids, torch.ones_like(ids), (ids == 300).long()),
        str(fp32),
        input_names=names,
        output_names=["logits"],
        dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(
        str(fp32),
        str(args.out / "model.onnx"),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Gather"],
    )
    # Signed weights saturate ONNX Runtime's u8 x s8 kernel on CPUs without VNNI
    # (unsigned.py); the same integers stored unsigned compute exactly the same model.
    quantized = onnx.load(str(args.out / "model.onnx"))
    unsigned_matmul_weights(quantized)
    if args.tables == "row":
        per_row_tables(quantized, onnx.load(str(fp32)))
    onnx.save(quantized, str(args.out / "model.onnx"))
    shutil.copy(folder / "tokenizer.json", args.out / "tokenizer.json")
    print(args.out / "model.onnx", (args.out / "model.onnx").stat().st_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
