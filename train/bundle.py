"""The model bundle: everything needed to score, in open formats, guarded by a content hash.

A bundle is a folder::

    model.txt          LightGBM's native text model
    model.json         feature order, categorical vocabularies, calibration,
                       score scale, tiers and cutoff, feature settings
    training.json      model version, data fingerprint, split, seed, library versions, metrics
    report.html        the validation report (when written)
    manifest.json      SHA-256 of every file above

Nothing in a bundle is a pickle. Loading first hashes every file and compares
with the manifest; a bundle whose files were altered, added or removed is
refused before any of it is parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from mqa.features.config import FeatureSettings

from .calibration import Calibration
from .model import Encoding, raw_scores
from .score import ScoreScale, tier

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class BundleError(ValueError):
    """A bundle that cannot be used: missing, altered, or of another format."""


@dataclass
class ModelBundle:
    """A trained, calibrated readiness model with its score scale.

    Attributes
    ----------
    booster : lightgbm.Booster
    encoding : Encoding
        Feature order and categorical vocabularies.
    calibration : Calibration
    scale : ScoreScale
    tiers : dict
        Tier name -> lowest score; the MQA tier is the one at ``cutoff``.
    cutoff : float
        MQA cutoff on the 0-100 score.
    settings : FeatureSettings
        The feature settings the model was trained with (scoring must use the same).
    training : dict
        Fingerprint of the training data, split, seed, versions, metrics.
    """

    booster: lgb.Booster
    encoding: Encoding
    calibration: Calibration
    scale: ScoreScale
    tiers: dict[str, float]
    cutoff: float
    settings: FeatureSettings
    training: dict = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return list(self.encoding.features)

    @property
    def version(self) -> str:
        """A short id of this model: 12 hex digits of the SHA-256 of its model files' content.

        The same data, settings and seed give the same version; any change
        to the trees, calibration, scale or settings gives another.
        """
        if "model_version" not in self.training:
            model_txt, model_json = self._content()
            self.training["model_version"] = hashlib.sha256((model_txt + model_json).encode()).hexdigest()[:12]
        return self.training["model_version"]

    def _content(self) -> tuple[str, str]:
        """The text of model.txt and model.json."""
        model_txt = self.booster.model_to_string(num_iteration=self.booster.best_iteration or None)
        model = {
            "format_version": FORMAT_VERSION,
            "encoding": self.encoding.to_dict(),
            "calibration": self.calibration.to_dict(),
            "score_scale": self.scale.to_dict(),
            "tiers": self.tiers,
            "cutoff": self.cutoff,
            "feature_settings": _settings_to_dict(self.settings),
        }
        return model_txt, json.dumps(model, indent=1)

    def raw(self, rows: pd.DataFrame) -> np.ndarray:
        """Raw model output (log-odds) for feature rows."""
        return raw_scores(self.booster, self.encoding.matrix(rows))

    def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``probability``, ``score``, ``tier`` and ``is_mqa`` for feature rows (index kept)."""
        return self.predict_raw(self.raw(rows), index=rows.index)

    def predict_raw(self, raw: np.ndarray, index=None) -> pd.DataFrame:
        """``probability``, ``score``, ``tier`` and ``is_mqa`` from raw model outputs."""
        score = self.scale.score(raw)
        return pd.DataFrame({
            "probability": self.calibration.probability(raw),
            "score": score,
            "tier": pd.Series(tier(score, self.tiers), dtype="str", index=index),
            "is_mqa": score >= self.cutoff,
        }, index=index)

    # --- files --------------------------------------------------------------
    def save(self, folder: str | Path, report_html: str | None = None) -> Path:
        """Write the bundle to ``folder`` (replaced as a whole, atomically) and return it."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            model_txt, model_json = self._content()
            _ = self.version
            (staging / "model.txt").write_text(model_txt)
            (staging / "model.json").write_text(model_json)
            (staging / "training.json").write_text(json.dumps(self.training, indent=1, default=str))
            if report_html is not None:
                (staging / "report.html").write_text(report_html, encoding="utf-8")
            _write_manifest(staging)
            old = None
            if folder.exists():
                old = folder.with_name(f".{folder.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(folder, old)
            os.replace(staging, folder)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "ModelBundle":
        """Load a bundle after checking every file against its manifest.

        Raises
        ------
        BundleError
            The folder is not a bundle, or a file was altered, added or removed.
        """
        folder = Path(folder)
        verify(folder)
        model = json.loads((folder / "model.json").read_text())
        if model.get("format_version") != FORMAT_VERSION:
            raise BundleError(f"{folder}: bundle format {model.get('format_version')} is not {FORMAT_VERSION}; retrain with this version of mqa")
        training = json.loads((folder / "training.json").read_text())
        return cls(
            booster=lgb.Booster(model_str=(folder / "model.txt").read_text()),
            encoding=Encoding.from_dict(model["encoding"]),
            calibration=Calibration.from_dict(model["calibration"]),
            scale=ScoreScale.from_dict(model["score_scale"]),
            tiers={k: float(v) for k, v in model["tiers"].items()},
            cutoff=float(model["cutoff"]),
            settings=_settings_from_dict(model["feature_settings"]),
            training=training,
        )


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST and not p.name.startswith("."))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_manifest(folder: Path) -> str:
    files = {p.name: _sha256(p) for p in _files(folder)}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    (folder / MANIFEST).write_text(json.dumps({"sha256": digest, "files": files}, indent=1))
    return digest


def verify(folder: str | Path) -> str:
    """Check a bundle's files against its manifest; return the bundle's hash.

    Raises
    ------
    BundleError
        Not a bundle, or altered: names the files that differ.
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not folder.is_dir() or not manifest_path.is_file():
        raise BundleError(f"{folder}: not a model bundle (no {MANIFEST}); pass the folder written by 'mqa train'")
    try:
        manifest = json.loads(manifest_path.read_text())
        expected = dict(manifest["files"])
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"{folder}: {MANIFEST} is unreadable; the bundle was altered, retrain or restore it") from None
    actual = {p.name: _sha256(p) for p in _files(folder)}
    changed = sorted(n for n in expected if n in actual and actual[n] != expected[n])
    missing = sorted(n for n in expected if n not in actual)
    added = sorted(n for n in actual if n not in expected)
    digest = hashlib.sha256(json.dumps(expected, sort_keys=True).encode()).hexdigest()
    if changed or missing or added or digest != manifest.get("sha256"):
        parts = [f"{label}: {', '.join(names)}" for label, names in
                 (("changed", changed), ("missing", missing), ("added", added)) if names] or ["manifest hash does not match"]
        raise BundleError(f"{folder}: the bundle was altered since it was saved ({'; '.join(parts)}); "
                          f"refusing to load it. Retrain, or restore the bundle from where it was published.")
    return digest


def _settings_to_dict(s: FeatureSettings) -> dict:
    d = asdict(s)
    if not d["attributes"]:
        # Left out when none are declared: a model without attributes keeps
        # the same model.json, hence the same version, as before they existed.
        del d["attributes"]
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _settings_from_dict(d: dict) -> FeatureSettings:
    def tup(v):
        return tuple(v) if isinstance(v, list) else v

    return FeatureSettings(
        icp_industries=tup(d["icp_industries"]), icp_employees=tup(d["icp_employees"]),
        icp_technologies=tup(d["icp_technologies"]), relevant_topics=tup(d["relevant_topics"]),
        weights=dict(d["weights"]), committee={k: tuple(v) for k, v in d["committee"].items()},
        horizon_days=int(d["horizon_days"]), label_types=tup(d["label_types"]), step_days=int(d["step_days"]),
        # Keys added later: an older bundle gets the defaults (they only shape training rows).
        label_excluded_types=tup(d.get("label_excluded_types", ["renewal"])), warmup_days=d.get("warmup_days"),
        # Bundles written before attributes existed have no key: none declared.
        attributes=tuple((str(name), str(kind)) for name, kind in d.get("attributes", [])),
    )
