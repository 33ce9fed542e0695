"""The model bundle: everything needed to score, in open formats, guarded by a content hash.

A bundle is a folder::

    model.txt          LightGBM's native text model
    model.json         feature order, categorical vocabularies, calibration,
                       score scale, tiers and cutoff, feature settings
    training.json      model version, data fingerprint, split, seed, library versions, metrics
    report.html        the validation report (when written)
    manifest.json      SHA-256 of every other file (dotfiles and subfolders too),
                       and an HMAC signature when MQA_BUNDLE_KEY is set

Nothing in a bundle is a pickle. Loading first hashes every file and compares
with the manifest; a bundle whose files were altered, added or removed is
refused before any of it is parsed. The hash alone catches damage and careless
edits, not a deliberate forgery: whoever can edit the files can rewrite the
manifest too. With a secret key in ``MQA_BUNDLE_KEY`` the manifest is signed
(HMAC-SHA256) when saving and the signature checked when loading, so an
edited manifest is refused as well (docs/operating.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from mqa.errors import MqaError
from mqa.features.config import FeatureSettings
from mqa.features.outputs import TEMP_PREFIX, OutputError, clean_leftovers, file_mode, os_error_message, temp_folder

from .calibration import Calibration
from .model import Encoding, raw_scores
from .score import ScoreScale, tier

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
KEY_VARIABLE = "MQA_BUNDLE_KEY"


class BundleError(MqaError):
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
        """Write the bundle to ``folder`` (replaced as a whole, atomically) and return it.

        Only a new or empty folder, or an earlier bundle (a folder with a
        manifest), is written to; any other folder is refused, never emptied.

        Raises
        ------
        BundleError
            ``folder`` holds something that is not a bundle.
        OutputError
            The operating system refused a write; nothing was changed.
        """
        folder = Path(folder)
        check_destination(folder)
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            clean_leftovers(folder.parent)
            staging = temp_folder(folder.parent, f"{folder.name}-")
        except OSError as exc:
            raise OutputError(os_error_message(exc, folder)) from None
        old = None
        try:
            model_txt, model_json = self._content()
            _ = self.version
            (staging / "model.txt").write_text(model_txt)
            (staging / "model.json").write_text(model_json)
            (staging / "training.json").write_text(json.dumps(self.training, indent=1, default=str))
            if report_html is not None:
                (staging / "report.html").write_text(report_html, encoding="utf-8")
            _write_manifest(staging)
            for p in staging.iterdir():
                os.chmod(p, file_mode())
            if folder.exists():
                old = folder.parent / f"{TEMP_PREFIX}{folder.name}-old-{os.getpid()}"
                shutil.rmtree(old, ignore_errors=True)
                os.replace(folder, old)
            os.replace(staging, folder)
        except OSError as exc:
            if old is not None and old.exists() and not folder.exists():
                os.replace(old, folder)
            raise OutputError(os_error_message(exc, folder, "the earlier bundle there, if any, was kept")) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if old is not None and folder.exists():
                shutil.rmtree(old, ignore_errors=True)
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
        try:
            model = json.loads((folder / "model.json").read_text())
            if model.get("format_version") != FORMAT_VERSION:
                raise BundleError(f"{folder}: bundle format {model.get('format_version')} is not {FORMAT_VERSION}; "
                                  "retrain with this version of mqa")
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
        except BundleError:
            raise
        except OSError as exc:
            raise BundleError(f"{folder}: cannot read the bundle ({exc.strerror}); check its permissions") from None
        except (lgb.basic.LightGBMError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            # The manifest matched, so the files were damaged before it was written, or it was rewritten with them.
            raise BundleError(f"{folder}: the bundle's files match its manifest but cannot be read as a model "
                              f"({type(exc).__name__}: {str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ''}); "
                              "retrain, or restore the bundle from where it was published") from None


def is_bundle(folder: str | Path) -> bool:
    """Whether ``folder`` looks like a bundle mqa wrote (it holds a readable manifest)."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
        return isinstance(manifest, dict) and isinstance(manifest.get("files"), dict) and "sha256" in manifest
    except (OSError, ValueError):
        return False


def check_destination(folder: str | Path) -> Path:
    """Refuse a bundle destination that holds anything but an earlier bundle.

    Raises
    ------
    BundleError
        ``folder`` is a file, or a folder with files that are not a bundle.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BundleError(f"--out {folder}: is a file; pass a new folder (or an earlier bundle's folder) for the model")
    if folder.is_dir() and not is_bundle(folder):
        try:
            entries = [p.name for p in folder.iterdir()]
        except OSError as exc:
            raise BundleError(f"--out {folder}: cannot be read ({exc.strerror}); pass a new folder for the model") from None
        if entries:
            shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
            raise BundleError(f"--out {folder}: holds files that are not a model bundle ({shown}); mqa only replaces a "
                              "bundle it wrote. Pass a new folder, such as models/<name>")
    return folder


def _files(folder: Path) -> list[str]:
    """Every file under ``folder`` but the manifest, dotfiles and subfolders included, as sorted relative paths."""
    out = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            rel = Path(root, name).relative_to(folder).as_posix()
            if rel != MANIFEST:
                out.append(rel)
    return sorted(out)


def _sha256(path: Path) -> str:
    if path.is_symlink():
        # A link is recorded as what it points to: its target is outside the manifest's reach.
        return "symlink:" + os.readlink(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key() -> bytes | None:
    key = os.environ.get(KEY_VARIABLE, "")
    return key.encode() if key else None


def _signature(files: dict, digest: str, key: bytes) -> str:
    return hmac.new(key, json.dumps({"files": files, "sha256": digest}, sort_keys=True).encode(), hashlib.sha256).hexdigest()


def _write_manifest(folder: Path) -> str:
    files = {rel: _sha256(folder / rel) for rel in _files(folder)}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    manifest = {"sha256": digest, "files": files}
    key = _key()
    if key is not None:
        manifest["hmac_sha256"] = _signature(files, digest, key)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return digest


def verify(folder: str | Path) -> str:
    """Check a bundle's files against its manifest (and its signature, with ``MQA_BUNDLE_KEY``); return its hash.

    Raises
    ------
    BundleError
        Not a bundle, altered (names the files that differ), or unsigned or
        badly signed while a key is set.
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not folder.is_dir() or not manifest_path.is_file():
        raise BundleError(f"{folder}: not a model bundle (no {MANIFEST}); pass the folder written by 'mqa train'")
    try:
        manifest = json.loads(manifest_path.read_text())
        expected = dict(manifest["files"])
    except OSError as exc:
        raise BundleError(f"{folder}: cannot read {MANIFEST} ({exc.strerror}); check the bundle's permissions") from None
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"{folder}: {MANIFEST} is unreadable; the bundle was altered, retrain or restore it") from None
    try:
        actual = {rel: _sha256(folder / rel) for rel in _files(folder)}
    except OSError as exc:
        raise BundleError(f"{folder}: cannot read the bundle's files ({exc.strerror}: {exc.filename}); check its "
                          "permissions") from None
    changed = sorted(n for n in expected if n in actual and actual[n] != expected[n])
    missing = sorted(n for n in expected if n not in actual)
    added = sorted(n for n in actual if n not in expected)
    digest = hashlib.sha256(json.dumps(expected, sort_keys=True).encode()).hexdigest()
    if changed or missing or added or digest != manifest.get("sha256"):
        parts = [f"{label}: {', '.join(names)}" for label, names in
                 (("changed", changed), ("missing", missing), ("added", added)) if names] or ["manifest hash does not match"]
        raise BundleError(f"{folder}: the bundle was altered since it was saved ({'; '.join(parts)}); "
                          f"refusing to load it. Retrain, or restore the bundle from where it was published.")
    key = _key()
    if key is not None:
        signed = manifest.get("hmac_sha256")
        if not isinstance(signed, str):
            raise BundleError(f"{folder}: the bundle is not signed, and {KEY_VARIABLE} is set, so only signed bundles "
                              f"are loaded; retrain with the key set, or unset {KEY_VARIABLE} to accept unsigned bundles")
        if not hmac.compare_digest(signed, _signature(expected, digest, key)):
            raise BundleError(f"{folder}: the bundle's signature does not match {KEY_VARIABLE}: it was signed with "
                              "another key, or its manifest was edited; refusing to load it. Restore the bundle from "
                              "where it was published, or retrain with the key")
    return digest


def _settings_to_dict(s: FeatureSettings) -> dict:
    d = asdict(s)
    # Left out when none are declared: a model without attributes (or URL
    # topics) keeps the same model.json, hence the same version, as before
    # they existed.
    for key in ("attributes", "topic_url_prefixes"):
        if not d[key]:
            del d[key]
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
        topic_url_prefixes=tuple((str(prefix), str(topic)) for prefix, topic in d.get("topic_url_prefixes", [])),
    )
