"""The retraining notebook runs top to bottom on the public API, shows its plots, and is committed with its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "retrain.ipynb"


def _images(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_retrain_notebook_executes_on_the_public_api_and_draws_its_plots(tmp_path, monkeypatch):
    monkeypatch.delenv("MQA_DATA", raising=False)
    monkeypatch.setenv("MQA_NOTEBOOK_ACCOUNTS", "500")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # The notebook is the API's first user: no reaching into the model's insides.
    assert "import mqa" in code and "pred_contrib" not in code and ".encoding.matrix" not in code
    assert 'matplotlib.use(' not in code
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "roc_auc" in text and "rule_a_fit_engagement_2_contacts" in text and "Verdict:" in text
    # Importing mqa switches no plotting backend, so the inline plots render.
    assert _images(nb) >= 4


def test_committed_notebook_shows_its_outputs_and_plots():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("outputs") for c in code), "run the notebook and commit it with its outputs (see notebooks/README.md)"
    assert not [o for c in code for o in c["outputs"] if o.get("output_type") == "error"]
    assert _images(nbformat.reads(json.dumps(nb), as_version=4)) >= 4
