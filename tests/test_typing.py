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


def test_pool_api_types() -> None:
    from typing import Any

    import numpy as np
    import numpy.typing as npt

    x1 = np.ones((1, 2, 8))
    x2 = np.ones((1, 2, 8, 8), dtype=np.float32)
    x3 = np.ones((1, 2, 4, 4, 4))
    shape: tuple[int, ...] = rustconv.pool_output_shape(x2.shape, 2, None, 0, 1, False)
    assert shape == (1, 2, 4, 4)

    out1: npt.NDArray[Any] = rustconv.max_pool1d(x1, 2)
    out2, idx2 = rustconv.max_pool2d(
        x2, (2, 2), stride=2, padding=1, dilation=1, ceil_mode=True, return_indices=True
    )
    out3, idx3 = rustconv.max_pool3d(x3, 2, return_indices=True, workers=1)
    _, idx1 = rustconv.max_pool1d(x1, 2, return_indices=True)
    g1: npt.NDArray[Any] = rustconv.max_pool1d_backward(out1, idx1, x1.shape)
    g2: npt.NDArray[Any] = rustconv.max_pool2d_backward(out2, idx2, x2.shape, workers=-1)
    g3: npt.NDArray[Any] = rustconv.max_pool3d_backward(out3, idx3, x3.shape)

    a1: npt.NDArray[Any] = rustconv.avg_pool1d(x1, 2, None, 0, False, True, 3)
    a2: npt.NDArray[Any] = rustconv.avg_pool2d(x2, 2, count_include_pad=False, divisor_override=None)
    a3: npt.NDArray[Any] = rustconv.avg_pool3d(x3, (2, 2, 2), workers=None)
    b1: npt.NDArray[Any] = rustconv.avg_pool1d_backward(a1, x1.shape, 2, None, 0, False, True, 3)
    b2: npt.NDArray[Any] = rustconv.avg_pool2d_backward(a2, x2.shape, 2, count_include_pad=False)
    b3: npt.NDArray[Any] = rustconv.avg_pool3d_backward(a3, x3.shape, (2, 2, 2))

    l1: npt.NDArray[Any] = rustconv.lp_pool1d(x1, 2.0, 2)
    l2: npt.NDArray[Any] = rustconv.lp_pool2d(x2, 2, (2, 2), stride=None, ceil_mode=False)
    l3: npt.NDArray[Any] = rustconv.lp_pool3d(x3, 1.5, 2, workers=2)
    m1: npt.NDArray[Any] = rustconv.lp_pool1d_backward(l1, x1, l1, 2.0, 2)
    m2: npt.NDArray[Any] = rustconv.lp_pool2d_backward(l2, x2, l2, 2, (2, 2))
    m3: npt.NDArray[Any] = rustconv.lp_pool3d_backward(l3, x3, l3, 1.5, 2)

    aa1: npt.NDArray[Any] = rustconv.adaptive_avg_pool1d(x1, 3)
    aa2: npt.NDArray[Any] = rustconv.adaptive_avg_pool2d(x2, (3, None))
    aa3: npt.NDArray[Any] = rustconv.adaptive_avg_pool3d(x3, None, workers=1)
    ab1: npt.NDArray[Any] = rustconv.adaptive_avg_pool1d_backward(aa1, x1.shape)
    ab2: npt.NDArray[Any] = rustconv.adaptive_avg_pool2d_backward(aa2, x2.shape)
    ab3: npt.NDArray[Any] = rustconv.adaptive_avg_pool3d_backward(aa3, x3.shape)
    am1: npt.NDArray[Any] = rustconv.adaptive_max_pool1d(x1, 3)
    am2, ai2 = rustconv.adaptive_max_pool2d(x2, (3, 3), True)
    am3, ai3 = rustconv.adaptive_max_pool3d(x3, 2, True, workers=1)
    _, ai1 = rustconv.adaptive_max_pool1d(x1, 3, True)
    mb1: npt.NDArray[Any] = rustconv.adaptive_max_pool1d_backward(am1, ai1, x1.shape)
    mb2: npt.NDArray[Any] = rustconv.adaptive_max_pool2d_backward(am2, ai2, x2.shape)
    mb3: npt.NDArray[Any] = rustconv.adaptive_max_pool3d_backward(am3, ai3, x3.shape)
    pairs: list[tuple[npt.NDArray[Any], npt.NDArray[Any]]] = [
        (g1, x1),
        (g2, x2),
        (g3, x3),
        (b1, x1),
        (b2, x2),
        (b3, x3),
        (m1, x1),
        (m2, x2),
        (m3, x3),
        (ab1, x1),
        (ab2, x2),
        (ab3, x3),
        (mb1, x1),
        (mb2, x2),
        (mb3, x3),
    ]
    for grad, like in pairs:
        assert grad.shape == like.shape


def test_dask_functions_typed() -> None:
    import numpy as np
    import numpy.typing as npt
    import pytest

    pytest.importorskip("dask.array")
    import dask.array as da

    import rustconv.dask as rd

    x = da.ones((2, 3, 16, 16), chunks=(1, 3, 5, 7))
    plane = x[0, 0]
    kernel: npt.NDArray[np.float64] = np.ones((3, 3))
    c1: da.Array = rd.convolve(plane, kernel, "same", "direct", workers=1)
    c2: da.Array = rd.correlate(x, np.ones(3), mode="valid", axes=-1, workers=None)
    c3: da.Array = rd.convolve2d(plane, kernel, "full", "wrap", workers=2)
    c4: da.Array = rd.correlate2d(x, kernel, "same", "symm", 0, axes=(-2, -1))
    p: da.Array = rd.pad(plane, ((1, 2), (0, 3)), "reflect", workers=1)
    m1: da.Array = rd.max_pool1d(plane, 2)
    m2: da.Array = rd.max_pool2d(x, 3, stride=2, padding=1, dilation=1, ceil_mode=True, workers=1)
    m3: da.Array = rd.max_pool3d(x, (1, 2, 2))
    a1: da.Array = rd.avg_pool1d(plane, 2, count_include_pad=False)
    a2: da.Array = rd.avg_pool2d(x, (2, 3), stride=None, padding=1, divisor_override=4)
    a3: da.Array = rd.avg_pool3d(x, 2, workers=None)
    l1: da.Array = rd.lp_pool1d(plane, 2.0, 2)
    l2: da.Array = rd.lp_pool2d(x, 3, (2, 2), ceil_mode=True)
    l3: da.Array = rd.lp_pool3d(x, 1.5, 2)
    shapes = [
        (c1, (16, 16)),
        (c2, (2, 3, 16, 14)),
        (c3, (18, 18)),
        (c4, (2, 3, 16, 16)),
        (p, (19, 19)),
        (m1, (16, 8)),
        (m2, (2, 3, 9, 9)),
        (m3, (2, 3, 8, 8)),
        (a1, (16, 8)),
        (a2, (2, 3, 9, 6)),
        (a3, (2, 1, 8, 8)),
        (l1, (16, 8)),
        (l2, (2, 3, 8, 8)),
        (l3, (2, 1, 8, 8)),
    ]
    for result, shape in shapes:
        assert np.asarray(result).shape == shape
