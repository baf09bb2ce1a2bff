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


def test_fft_api_types() -> None:
    import numpy as np
    import numpy.typing as npt

    signal: npt.NDArray[np.float64] = np.arange(16.0)
    kernel: list[float] = [1.0, 2.0, 1.0]
    full = rustconv.fftconvolve(signal, kernel)
    same = rustconv.fftconvolve(signal, kernel, "same", axes=0, workers=1)
    blocks = rustconv.oaconvolve(signal, kernel, mode="valid", axes=[-1], workers=None)
    assert full.shape == (18,)
    assert same.shape == (16,)
    assert blocks.shape == (14,)
