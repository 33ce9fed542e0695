"""Batch prediction and explanations (builds on ``mqa.features`` and ``mqa.train``)."""

from __future__ import annotations


def load_model(ref: str, settings=None):
    """A model bundle from a folder, or from an MLflow URI (``models:/NAME@champion``, ``runs:/...``).

    Raises
    ------
    mqa.train.bundle.BundleError
        The folder is not a bundle, or was altered.
    ValueError
        The MLflow URI does not resolve to an mqa model.
    """
    from mqa.train.bundle import ModelBundle

    if "://" in ref or ref.startswith("models:/") or ref.startswith("runs:/"):
        from mqa.train.tracking import load_registered_bundle

        return load_registered_bundle(ref, settings)
    return ModelBundle.load(ref)
