"""Calls every public function with typed arguments.

``mypy --strict`` checks this file against the package's annotations and the
hand-written stub in CI; pytest runs it so the calls stay valid at run time.
"""

from __future__ import annotations

import rustconv


def test_thread_api_types() -> None:
    old: int = rustconv.get_num_threads()
    rustconv.set_num_threads(old)
    version: str = rustconv.__version__
    assert version


def test_pad_api_types() -> None:
    import numpy as np

    x = np.arange(12.0).reshape(3, 4)
    padded: np.ndarray = rustconv.pad(x, ((1, 2), (3, 0)), mode="reflect", workers=1)
    edged: np.ndarray = rustconv.pad(x, 2, "replicate")
    filled: np.ndarray = rustconv.pad(x, (1, 1), constant_values=((1, 2), (3, 4)))
    grad: np.ndarray = rustconv.pad_backward(padded, ((1, 2), (3, 0)), mode="reflect", workers=2)
    assert grad.shape == x.shape == edged[2:-2, 2:-2].shape == filled[1:-1, 1:-1].shape
