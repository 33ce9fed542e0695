"""Batch prediction and explanations (builds on ``mqa.features`` and ``mqa.train``)."""
