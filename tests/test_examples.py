"""The examples run: the notebook executes headlessly, training learns, the figure script writes its files.

These tests need the ``examples`` extras (matplotlib, scikit-learn, tqdm, ipykernel, nbclient,
nbformat); each test skips with the reason when one is missing, so the core test run does not need them.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOK = EXAMPLES / "cnn_basics.ipynb"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def need(*modules: str) -> None:
    for module in modules:
        pytest.importorskip(module, reason=f"{module} is not installed (pip install 'rustconv[examples]')")


@pytest.fixture
def examples_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield
    for name in ("train_digits", "quickstart_figures", "make_notebook"):
        sys.modules.pop(name, None)


def import_example(name: str) -> ModuleType:
    __import__(name)
    return sys.modules[name]


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Jupyter kernel spec that runs this interpreter, so the notebook sees the rustconv under test."""
    name = "rustconv-examples-test"
    spec_dir = tmp_path / "jupyter" / "kernels" / name
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "rustconv examples test",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # The kernel must use its inline backend (which records the figures), whatever the caller set.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    return name


def test_stored_notebook_matches_its_builder(examples_on_path: None) -> None:
    need("nbformat")
    import nbformat

    builder = import_example("make_notebook")
    stored = nbformat.read(NOTEBOOK, as_version=4)
    built = builder.build()
    assert [(c.cell_type, c.source) for c in stored.cells] == [
        (c.cell_type, c.source) for c in built.cells
    ], "examples/cnn_basics.ipynb is out of date: run python examples/make_notebook.py"
    for cell in stored.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], "the stored notebook should carry no outputs"
    nbformat.validate(stored)


@pytest.mark.timeout(240)
def test_notebook_runs_top_to_bottom(kernel_name: str) -> None:
    need("nbformat", "nbclient", "ipykernel", "matplotlib", "scipy", "sklearn", "tqdm")
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    elapsed = time.perf_counter() - start
    print(f"notebook executed in {elapsed:.1f} s")

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "data" in o and "image/png" in o["data"]]
    assert len(figures) >= 10, f"expected a figure for every step, got {len(figures)}"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "held-out accuracy" in text
    assert "conv2d_backward agrees with scipy's convolutions and with finite differences" in text


def test_short_training_learns(examples_on_path: None) -> None:
    need("sklearn", "tqdm")
    train_digits = import_example("train_digits")
    result = train_digits.train(epochs=3, limit=600, progress=False, log=False)
    assert result.n_train == 480
    assert result.n_test == 120
    assert result.epochs == [1, 2, 3]
    # Ten classes: chance is 0.1.
    assert result.test_accuracy[-1] > 0.5
    assert result.train_loss[-1] < result.train_loss[0]
    assert all(np.isfinite(result.train_loss))


def test_training_is_reproducible(examples_on_path: None) -> None:
    need("sklearn", "tqdm")
    train_digits = import_example("train_digits")
    first = train_digits.train(epochs=1, limit=300, progress=False, log=False)
    second = train_digits.train(epochs=1, limit=300, progress=False, log=False)
    assert first.train_loss == second.train_loss
    for key, value in first.params.items():
        np.testing.assert_array_equal(value, second.params[key])


def test_hand_written_backward_matches_finite_differences(examples_on_path: None) -> None:
    """The network's backward pass (rustconv's kernels chained by hand) is the derivative of its loss."""
    need("sklearn", "tqdm")
    train_digits = import_example("train_digits")
    rng = np.random.default_rng(3)
    model = train_digits.SmallCNN(channels1=4, channels2=6, seed=1)
    model.params = {key: value.astype(np.float64) for key, value in model.params.items()}
    x = rng.random((5, 1, 8, 8))
    labels = rng.integers(0, 10, size=5)

    def loss_at(params: dict[str, np.ndarray]) -> float:
        saved, model.params = model.params, params
        try:
            return train_digits.softmax_cross_entropy(model.forward(x)[0], labels)[0]
        finally:
            model.params = saved

    logits, cache = model.forward(x)
    _, grad_logits = train_digits.softmax_cross_entropy(logits, labels)
    grads = model.backward(grad_logits.astype(np.float64), cache)
    assert set(grads) == set(model.params)
    direction = {key: rng.standard_normal(value.shape) for key, value in model.params.items()}
    eps = 1e-6
    plus = loss_at({k: v + eps * direction[k] for k, v in model.params.items()})
    minus = loss_at({k: v - eps * direction[k] for k, v in model.params.items()})
    numeric = (plus - minus) / (2 * eps)
    analytic = sum(float(np.sum(grads[k] * direction[k])) for k in model.params)
    assert numeric == pytest.approx(analytic, rel=1e-5, abs=1e-7)
    for key in model.params:
        assert grads[key].shape == model.params[key].shape


def test_training_command_line_writes_learning_curve(examples_on_path: None, tmp_path: Path) -> None:
    need("sklearn", "tqdm", "matplotlib")
    train_digits = import_example("train_digits")
    plot = tmp_path / "curve.png"
    result = train_digits.main(["--epochs", "2", "--limit", "300", "--no-progress", "--plot", str(plot)])
    assert len(result.test_accuracy) == 2
    assert plot.read_bytes().startswith(PNG_SIGNATURE)


def test_quickstart_figures_are_written(examples_on_path: None, tmp_path: Path) -> None:
    need("matplotlib")
    quickstart_figures = import_example("quickstart_figures")
    paths = quickstart_figures.make_figures(tmp_path)
    assert paths
    for path in paths:
        assert path.parent == tmp_path
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) < 200_000, f"{path.name} is {len(data)} bytes; keep README pictures small"
    # The README shows the committed copy.
    assert (ROOT / "docs" / "quickstart.png").read_bytes().startswith(PNG_SIGNATURE)


def test_quickstart_panels_match_scipy(examples_on_path: None) -> None:
    need("matplotlib", "scipy")
    import scipy.signal

    quickstart_figures = import_example("quickstart_figures")
    panels = dict(quickstart_figures.quickstart_panels())
    image = panels["image 64x64"]
    sobel_x = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    np.testing.assert_allclose(
        panels["Sobel x"], scipy.signal.correlate2d(image, sobel_x, mode="same", boundary="symm"), atol=1e-12
    )
    edges = panels["edge strength"]
    np.testing.assert_allclose(panels["max_pool2d 2x2 → 32x32"], edges.reshape(32, 2, 32, 2).max(axis=(1, 3)))
    np.testing.assert_allclose(
        panels["avg_pool2d 4x4 → 16x16"], edges.reshape(16, 4, 16, 4).mean(axis=(1, 3)), atol=1e-12
    )


def test_readme_quick_start_runs() -> None:
    """The README's quick-start code runs as printed and gives the shapes its comments promise."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "README's Quick start has no python code block"
    namespace: dict[str, object] = {}
    exec(code.group(1), namespace)
    assert np.shape(namespace["edges"]) == (64, 64)
    assert np.shape(namespace["features"]) == (1, 1, 64, 64)
    assert np.shape(namespace["pooled"]) == (1, 1, 32, 32)
    assert np.shape(namespace["grad_input"]) == (1, 1, 64, 64)
    assert np.shape(namespace["grad_weight"]) == (1, 1, 3, 3)
    assert "docs/quickstart.png" in section
