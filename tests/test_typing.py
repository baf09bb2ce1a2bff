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
