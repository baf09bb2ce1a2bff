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


def test_cnn_conv_types() -> None:
    from typing import Any

    import numpy as np
    import numpy.typing as npt

    x: npt.NDArray[np.float32] = np.ones((2, 4, 8, 8), np.float32)
    w: npt.NDArray[np.float32] = np.ones((6, 2, 3, 3), np.float32)
    b: npt.NDArray[np.float32] = np.zeros(6, np.float32)
    y: npt.NDArray[np.floating[Any]] = rustconv.conv2d(x, w, b, 1, "same", 1, 2, "reflect", workers=1)
    gx, gw, gb = rustconv.conv2d_backward(y, x, w, 1, 1, 1, 2, workers=1)
    gx2: npt.NDArray[np.floating[Any]] = rustconv.conv2d_input(x.shape, w, y, padding=1, groups=2)
    gw2: npt.NDArray[np.floating[Any]] = rustconv.conv2d_weight(x, w.shape, y, padding=(1, 1), groups=2)
    assert gx.shape == gx2.shape
    assert gw.shape == gw2.shape
    assert gb.shape == (6,)
    t: npt.NDArray[np.floating[Any]] = rustconv.conv_transpose2d(
        y, np.ones((6, 3, 3, 3), np.float32), None, 2, 1, 1, 2
    )
    assert t.shape == (2, 6, 16, 16)
    x1 = np.ones((3, 10))
    y1 = rustconv.conv1d(x1, np.ones((2, 3, 3)), padding="valid")
    rustconv.conv1d_input(x1.shape, np.ones((2, 3, 3)), y1)
    rustconv.conv1d_weight(x1, (2, 3, 3), y1)
    rustconv.conv1d_backward(y1, x1, np.ones((2, 3, 3)))
    rustconv.conv_transpose1d(y1, np.ones((2, 3, 3)))
    x3 = np.ones((1, 1, 4, 4, 4))
    w3 = np.ones((1, 1, 2, 2, 2))
    y3 = rustconv.conv3d(x3, w3, dilation=(1, 2, 1))
    rustconv.conv3d_input(x3.shape, w3, y3, dilation=(1, 2, 1))
    rustconv.conv3d_weight(x3, w3.shape, y3, dilation=(1, 2, 1))
    rustconv.conv3d_backward(y3, x3, w3, dilation=(1, 2, 1))
    rustconv.conv_transpose3d(y3, w3, dilation=(1, 2, 1))
    shape: tuple[int, ...] = rustconv.conv_output_shape((28, 28), 5)
    assert shape == (24, 24)


def test_pad_api_types() -> None:
    import numpy as np

    x = np.arange(12.0).reshape(3, 4)
    padded: np.ndarray = rustconv.pad(x, ((1, 2), (3, 0)), mode="reflect", workers=1)
    edged: np.ndarray = rustconv.pad(x, 2, "replicate")
    filled: np.ndarray = rustconv.pad(x, (1, 1), constant_values=((1, 2), (3, 4)))
    grad: np.ndarray = rustconv.pad_backward(padded, ((1, 2), (3, 0)), mode="reflect", workers=2)
    assert grad.shape == x.shape == edged[2:-2, 2:-2].shape == filled[1:-1, 1:-1].shape
