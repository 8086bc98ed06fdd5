"""IPTC Media Topics out of the box: the default topic classifier.

:class:`IptcClassifier` scores an article against the 17 top-level IPTC Media Topics (and
strong second-level ones). Its files live in ``data/`` beside this module; how they were
made, from what, and under which licences is in ``data/PROVENANCE.md``.
"""

from pathlib import Path

from feeds.analysis.iptc.classifier import IptcClassifier

MODEL_DIR = Path(__file__).resolve().parent / "data"

__all__ = ["MODEL_DIR", "IptcClassifier"]
