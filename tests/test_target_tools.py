"""The offline target-sentiment tools (tools/target_sentiment, tools/encoders).

What needs only the runtime install is tested always: harvesting mentions as the analyzer
sends them, and the teacher unpacker's refusal of missing or altered parts. Training and
labelling need the ``train`` extra (PyTorch); without it those tests skip, saying so —
the runtime never needs it. With it, they train a tiny randomly initialised encoder of the
student's shape for a few steps, resume it from its checkpoint, and label with it.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from feeds.analysis.targeted.onnx_model import packaged_model_dir
from tests.shared_data import REPO
from tools import encoders
from tools.target_sentiment.harvest import Finder, detokenise

NO_TORCH = "needs the train extra (PyTorch): pip install -e '.[train]'"


def test_harvest_yields_the_requests_the_analyzer_sends() -> None:
    finder = Finder(REPO / "seeds" / "actors.toml")
    text = "Russia attacked Ukraine on Monday.\n\nThe Kremlin said nothing."
    got = list(finder.requests(text))
    sentence, start, end, others = got[0]
    assert sentence == "Russia attacked Ukraine on Monday." and sentence[start:end] == "Russia"
    assert others == [[16, 23]]  # Ukraine, marked as the other target
    # grouped by actor, most mentioned first
    assert [s[a:b] for s, a, b, _ in got] == ["Russia", "Kremlin", "Ukraine"]


def test_detokenise_joins_ecbplus_tokens() -> None:
    assert detokenise("her rep told People .") == "her rep told People."
    assert detokenise("the actress 's rep , Jack") == "the actress's rep, Jack"


def test_the_teacher_unpacker_refuses_missing_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [])
    with pytest.raises(encoders.EncoderError, match=r"pip install -e '\.\[train\]'"):
        encoders.joined_zip()


def test_the_teacher_unpacker_checks_every_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in encoders.MPNET_FILES:
            archive.writestr(name, b"not the pinned bytes")
    monkeypatch.setattr(encoders, "joined_zip", buffer.getvalue)
    with pytest.raises(encoders.EncoderError, match="sha256"):
        encoders.unpack_mpnet(tmp_path / "mpnet")
    assert not (tmp_path / "mpnet").exists()  # nothing half-unpacked is left to be trusted


def _tiny_encoder(folder: Path) -> Path:
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    transformers = pytest.importorskip("transformers", reason=NO_TORCH)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=24,
        num_hidden_layers=6,  # the ONNX writer's shape: six layers, twelve heads
        num_attention_heads=12,
        intermediate_size=32,
        max_position_embeddings=128,
    )
    transformers.BertModel(config).save_pretrained(folder)
    (folder / "tokenizer.json").write_bytes((packaged_model_dir() / "tokenizer.json").read_bytes())
    return folder


def _sentences(path: Path) -> Path:
    rows = []
    for n in range(40):
        rows.append(
            {
                "primary_gid": f"a_{n}_0_x",
                "sentence_normalized": f"Ann Lee praised Bob Marsh on day {n}.",
                "targets": [
                    {"Input.gid": f"a_{n}_0_x", "from": 0, "to": 7, "polarity": 6.0},
                    {"Input.gid": f"a_{n}_0_y", "from": 16, "to": 25, "polarity": 4.0},
                ],
            }
        )
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_training_resumes_from_its_checkpoint_and_writes_the_onnx_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = _tiny_encoder(tmp_path / "enc")
    from tools.target_sentiment import train

    data = _sentences(tmp_path / "train.jsonl")
    soft = tmp_path / "soft.jsonl"
    soft.write_text(
        json.dumps(
            {
                "sentence": "Cy Ray lost.",
                "start": 0,
                "end": 6,
                "others": [],
                "probs": [0.8, 0.15, 0.05],
                "weight": 2.0,
            }
        )
        + "\n"
    )
    out = tmp_path / "out"
    argv = ["train", "--data", str(data), "--out", str(out), "--encoder", str(encoder)]
    argv += ["--epochs", "2", "--batch", "8", "--threads", "1", "--soft", str(soft)]
    # stop after the first epoch's checkpoint, as a killed session would
    monkeypatch.setattr(sys, "argv", [*argv, "--epochs", "1", "--no-onnx"])
    assert train.main() == 0
    first = torch_load(out / "checkpoint.pt")
    assert first["epoch"] == 1 and first["batch"] == 0
    monkeypatch.setattr(sys, "argv", argv)
    assert train.main() == 0  # resumes at epoch 2, then writes the graphs
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert json.loads((out / "split.json").read_text())["soft_targets"] == 1
    assert (out / "model.onnx").stat().st_size > 0 and (out / "ranges.json").exists()

    # the trained model labels harvested mentions: probabilities, and the weight of a
    # sentence whose mentions it reads apart
    from tools.target_sentiment import label

    mentions = tmp_path / "mentions.jsonl"
    mentions.write_text(soft.read_text())
    labelled = tmp_path / "labelled.jsonl"
    monkeypatch.setattr(
        sys,
        "argv",
        ["label", "--teacher", str(out), "--encoder", str(encoder), "--mentions", str(mentions)]
        + ["--out", str(labelled), "--threads", "1"],
    )
    assert label.main() == 0
    row = json.loads(labelled.read_text())
    assert abs(sum(row["probs"]) - 1) < 1e-3 and row["weight"] == 1.0
    # the committed form has no text; training joins it back onto the harvest by key
    public = tmp_path / "public.jsonl"
    label.publish(labelled, public)
    assert "sentence" not in public.read_text()
    (joined,) = train.load_soft([public], mentions)
    assert joined["sentence"] == "Cy Ray lost." and joined["label"] == tuple(row["probs"])
    other_harvest = tmp_path / "other.jsonl"
    other_harvest.write_text("")
    with pytest.raises(SystemExit, match="no mention"):
        train.load_soft([public], other_harvest)


def test_the_run_time_model_labels_mentions_without_the_train_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``label --onnx``: the shipped ONNX model as the teacher, with no PyTorch needed; a
    sentence whose two actors it reads apart gets the extra weight."""
    from tools.target_sentiment import label

    sentence = "Critics condemned Ann Lee for the collapse, while Bob Marsh was praised."
    ann, bob = (18, 25), (50, 59)
    rows = [
        {"source": "t", "sentence": sentence, "start": a, "end": b, "others": [list(o)]}
        for (a, b), o in ((ann, bob), (bob, ann))
    ]
    rows.append({"source": "t", "sentence": "Ann Lee spoke.", "start": 0, "end": 7, "others": []})
    mentions = tmp_path / "mentions.jsonl"
    mentions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    labelled = tmp_path / "labelled.jsonl"
    argv = ["label", "--onnx", str(packaged_model_dir()), "--mentions", str(mentions)]
    monkeypatch.setattr(sys, "argv", [*argv, "--out", str(labelled), "--threads", "1"])
    assert label.main() == 0
    out = [json.loads(line) for line in labelled.read_text().splitlines()]
    assert [r["start"] for r in out] == [18, 50, 0]  # in input order, text kept
    assert all(abs(sum(r["probs"]) - 1) < 1e-3 for r in out)
    classes = [max(range(3), key=lambda c: r["probs"][c]) for r in out]
    assert classes[0] == 0 and classes[1] != 0  # condemned; praised (the small model: neutral)
    assert [r["weight"] for r in out] == [2.0, 2.0, 1.0]


def torch_load(path: Path) -> dict:  # type: ignore[type-arg]
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)  # type: ignore[no-any-return]


def test_embedding_tables_are_quantised_one_row_at_a_time(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx", reason=NO_TORCH)
    import numpy as np
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from tools.target_sentiment.tables import per_row_tables

    rng = np.random.default_rng(0)
    # rows of very different ranges, as a word-embedding table has
    table = (rng.normal(size=(50, 16)) * rng.choice([0.01, 0.1, 3.0], size=(50, 1))).astype(
        np.float32
    )
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["rows"])],
        "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", "t"])],
        [helper.make_tensor_value_info("rows", TensorProto.FLOAT, ["b", "t", 16])],
        [numpy_helper.from_array(table, "table")],
    )
    fp32 = tmp_path / "fp32.onnx"
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.save(proto, str(fp32))
    int8 = tmp_path / "int8.onnx"
    quantize_dynamic(
        str(fp32), str(int8), weight_type=QuantType.QInt8, op_types_to_quantize=["Gather"]
    )
    model = onnx.load(str(int8))
    assert per_row_tables(model, onnx.load(str(fp32))) == ["table"]
    ids = np.arange(50).reshape(5, 10)

    def run(proto: bytes) -> np.ndarray:
        session = onnxruntime.InferenceSession(proto, providers=["CPUExecutionProvider"])
        out: np.ndarray = session.run(["rows"], {"ids": ids})[0]
        return out

    per_tensor = run(int8.read_bytes()) - table[ids]
    per_row = run(model.SerializeToString()) - table[ids]
    small = np.abs(table).max(axis=1) < 0.5
    # every row within half a step of its own range; the small rows far better than before
    assert np.all(np.abs(per_row) <= (np.abs(table).max(axis=1) / 254 + 1e-6)[ids][..., None])
    assert np.abs(per_row[small[ids]]).max() < np.abs(per_tensor[small[ids]]).max() / 10
