"""The retraining notebook runs top to bottom (executed, not only parsed)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "retrain.ipynb"


def test_retrain_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.delenv("MQA_DATA", raising=False)
    monkeypatch.setenv("MQA_NOTEBOOK_ACCOUNTS", "500")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "roc_auc" in text and "rule_a_fit_engagement_2_contacts" in text
