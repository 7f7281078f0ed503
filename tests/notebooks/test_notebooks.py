"""The models notebooks run top to bottom against a small demo feature set with a champion in MLflow,
and are committed with their outputs stripped. The challenger notebook builds its candidate feature set
through the features engine, so it runs against a home with a real (tiny) synthetic world's warehouse."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from models import registry
from models.config import TrainingConfig
from models.gate import GatePolicy, judge_challenger
from models.harness import fit_and_evaluate
from models.store import read_feature_set
from tests.models.synthetic_feature_set import write_feature_set
from tests.pipelines.commands import run_step

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("models-*.ipynb"))
SMALL = TrainingConfig(search_trials=1, max_boosting_rounds=40, early_stopping_rounds=10, bootstrap_samples=5)


def register_a_champion(home):
    """Train an admission model on the home's latest feature set and make it champion (lenient gate:
    the worlds here are tiny)."""
    feature_set = read_feature_set(home / "features")
    result = fit_and_evaluate(
        feature_set.features, feature_set.labels, "admission", SMALL, feature_set.version
    )
    uri = f"sqlite:///{home / 'mlflow.db'}"
    provenance = registry.Provenance(feature_set.version, feature_set.spec_hash)
    candidate = registry.log_candidate(
        result, SMALL, provenance, tracking_uri=uri, artifact_root=home / "art"
    )
    lenient = GatePolicy(slope_range=(0.1, 10.0), max_ici=1.0, min_auroc=0.5)
    decision = judge_challenger(result.test_rows, result.risks["model"], None, policy=lenient)
    registry.record_gate_and_card(candidate, decision, result, provenance, uri)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """A home with a made-up feature set and an admission champion."""
    home = tmp_path_factory.mktemp("notebook-home")
    write_feature_set(home, persons=700)
    register_a_champion(home)
    return home


@pytest.fixture(scope="module")
def world_home(tmp_path_factory):
    """A home with a tiny synthetic world: warehouse, default feature set, an admission champion."""
    home = tmp_path_factory.mktemp("notebook-world-home")
    run_step(home, "synth", "--citizens", "400", "--years", "5", "--seed", "7", "--history-years", "5")
    run_step(home, "ingest")
    run_step(home, "features", "--every", "quarter")
    register_a_champion(home)
    return home


def test_notebooks_are_committed_without_outputs():
    assert len(NOTEBOOKS) == 3
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not cell.outputs, path.name
                assert cell.execution_count is None, path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_against_the_demo_world(path, request, monkeypatch):
    home = request.getfixturevalue("world_home" if "challenger" in path.stem else "demo_home")
    monkeypatch.setenv("TIDLIG_HOME", str(home))
    monkeypatch.setenv("TIDLIG_DEMO", "1")
    monkeypatch.setenv("TIDLIG_NOTEBOOK_TRIALS", "1")
    monkeypatch.setenv("TIDLIG_NOTEBOOK_ROUNDS", "40")
    monkeypatch.setenv("TIDLIG_NOTEBOOK_BOOTSTRAP", "5")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(home)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    if "explore" in path.stem:  # the chart renders inline, not as "<Figure size ...>"
        figures = [o for o in outputs if "<Figure size" in o.get("data", {}).get("text/plain", "")]
        assert figures
        assert all("image/png" in output["data"] for output in figures)
        assert "<Figure size" not in "".join(output.get("text", "") for output in outputs)
    if "challenger" in path.stem:
        text = "".join(output.get("text", "") for output in outputs)
        assert "champion is still version 1" in text
        assert "adds ['repeat_acute_admissions_0_to_365d']" in text  # the spec, built by the engine
