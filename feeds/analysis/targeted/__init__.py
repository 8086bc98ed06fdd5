"""Target-dependent sentiment: how a sentence treats *one* of the actors it names.

* :mod:`~feeds.analysis.targeted.encoding` — the model's input, shared with training;
* :mod:`~feeds.analysis.targeted.onnx_model` — the committed classifier on ONNX Runtime
  (implements :class:`feeds.ports.TargetSentimentModel`);
* :mod:`~feeds.analysis.targeted.verdict` — the article-level verdict rule;
* :mod:`~feeds.analysis.targeted.actors` — mentions in, one verdict per actor out.

``model/`` holds the quantised model, its tokenizer and ``MODEL.md`` (provenance,
licences, hashes, how it was trained and how well it does).
"""
