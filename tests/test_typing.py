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


def test_signal_api_types() -> None:
    import numpy as np

    x = np.arange(12.0).reshape(3, 4)
    k = np.ones((2, 2))
    full: np.ndarray = rustconv.convolve(x, k, "full", "direct", workers=1)
    corr: np.ndarray = rustconv.correlate(x, k, mode="same", method="auto", workers=None)
    conv2: np.ndarray = rustconv.convolve2d(x, k, "valid", "symm", 0, workers=-1)
    corr2: np.ndarray = rustconv.correlate2d(x, k, mode="same", boundary="wrap", fillvalue=1.5)
    method: str = rustconv.choose_conv_method(x, k, "full")
    measured: tuple[str, dict[str, float]] = rustconv.choose_conv_method(x, k, measure=True, workers=1)
    lags: np.ndarray = rustconv.correlation_lags(5, 3, "valid")
    assert full.shape == (4, 5)
    assert corr.shape == x.shape
    assert conv2.shape == (2, 3)
    assert corr2.shape == x.shape
    assert method in ("direct", "fft")
    assert measured[0] in measured[1]
    assert lags.tolist() == [0, 1, 2]


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
