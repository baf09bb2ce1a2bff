"""Winograd F(2x2, 3x3), the default for deep 3x3 stride-1 layers: accuracy at the real
layer sizes against a float64 computation (issue 5's rule: float32 within 2e-5 relative
error, float64 within 1e-11), agreement with the im2col path (``RUSTCONV_WINOGRAD=0``),
and bitwise-identical results for every thread count."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import rustconv


def ref_conv3x3(x: np.ndarray, w: np.ndarray, padding: int) -> np.ndarray:
    """Float64 3x3 stride-1 correlation with zero padding (sliding windows + tensordot)."""
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xp, (3, 3), axis=(2, 3))  # N, C, OH, OW, 3, 3
    out = np.tensordot(windows, w.astype(np.float64), axes=([1, 4, 5], [1, 2, 3]))
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def ref_input_grad3x3(dy: np.ndarray, w: np.ndarray, padding: int) -> np.ndarray:
    """The adjoint: a correlation of grad_output with the flipped, transposed kernel."""
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return ref_conv3x3(dy, flipped, 2 - padding)


def ref_weight_grad3x3(x: np.ndarray, dy: np.ndarray, padding: int) -> np.ndarray:
    """grad_weight[o, c, ky, kx] = sum over samples and positions of dy[n, o] times the shifted x[n, c]."""
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xp, dy.shape[2:], axis=(2, 3))  # N, C, 3, 3, OH, OW
    return np.tensordot(dy.astype(np.float64), windows, axes=([0, 2, 3], [0, 4, 5]))


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got.astype(np.float64) - want) / np.linalg.norm(want))


# issue 5's deep 3x3 layers, batch reduced to keep the float64 reference quick.
LAYERS = [((2, 64, 56, 56), 64), ((4, 256, 14, 14), 256), ((3, 17, 13, 11), 19)]


@pytest.mark.parametrize(("shape", "out_channels"), LAYERS)
@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, 2e-5), (np.float64, 1e-11)])
def test_forward_and_input_grad_accuracy(
    shape: tuple[int, int, int, int],
    out_channels: int,
    dtype: type,
    tol: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUSTCONV_WINOGRAD", "1")  # the small layer too (the deep ones take it by default)
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((out_channels, shape[1], 3, 3)) / np.sqrt(9 * shape[1])
    b = rng.standard_normal(out_channels)
    want = ref_conv3x3(x.astype(dtype), w.astype(dtype), 1) + b[:, None, None]
    got = rustconv.conv2d(x.astype(dtype), w.astype(dtype), b.astype(dtype), padding=1)
    assert got.dtype == dtype
    assert got.shape == want.shape
    assert rel_err(got, want) < tol
    dy = rng.standard_normal(want.shape)
    want_dx = ref_input_grad3x3(dy.astype(dtype), w.astype(dtype), 1)
    dx = rustconv.conv2d_input(shape, w.astype(dtype), dy.astype(dtype), padding=1)
    assert dx.shape == shape
    assert rel_err(dx, want_dx) < tol
    want_dw = ref_weight_grad3x3(x.astype(dtype), dy.astype(dtype), 1)
    dw = rustconv.conv2d_weight(x.astype(dtype), w.shape, dy.astype(dtype), padding=1)
    assert dw.shape == w.shape
    assert rel_err(dw, want_dw) < tol


@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("size", [(5, 7), (8, 8), (9, 4)])
def test_matches_im2col_path(padding: int, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUSTCONV_WINOGRAD", "0")
    rng = np.random.default_rng(padding * 10 + size[0])
    x = rng.standard_normal((2, 16, *size))
    w = rng.standard_normal((20, 16, 3, 3))
    b = rng.standard_normal(20)
    dy = rng.standard_normal((2, 20, size[0] + 2 * padding - 2, size[1] + 2 * padding - 2))
    im2col = rustconv.conv2d(x, w, b, padding=padding)
    im2col_grads = rustconv.conv2d_backward(dy, x, w, padding=padding)
    monkeypatch.setenv("RUSTCONV_WINOGRAD", "1")  # Winograd wherever it applies
    winograd = rustconv.conv2d(x, w, b, padding=padding)
    grads = rustconv.conv2d_backward(dy, x, w, padding=padding)
    np.testing.assert_allclose(winograd, im2col, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        winograd, ref_conv3x3(x, w, padding) + b[:, None, None], rtol=1e-12, atol=1e-12
    )
    for got, want in zip(grads, im2col_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_default_dispatch_takes_winograd_on_deep_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default path differs from the im2col path in the last bits on a deep layer (so it is
    not im2col) while agreeing to float32 accuracy."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 64, 20, 20)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    monkeypatch.delenv("RUSTCONV_WINOGRAD", raising=False)
    default = rustconv.conv2d(x, w, padding=1)
    dy = rng.standard_normal((2, 64, 20, 20)).astype(np.float32)
    default_dw = rustconv.conv2d_weight(x, w.shape, dy, padding=1)
    monkeypatch.setenv("RUSTCONV_WINOGRAD", "0")
    im2col = rustconv.conv2d(x, w, padding=1)
    im2col_dw = rustconv.conv2d_weight(x, w.shape, dy, padding=1)
    assert not np.array_equal(default, im2col)
    assert rel_err(default, im2col.astype(np.float64)) < 2e-6
    assert not np.array_equal(default_dw, im2col_dw)
    assert rel_err(default_dw, im2col_dw.astype(np.float64)) < 2e-6


def test_bitwise_identical_for_every_thread_count() -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 32, 23, 29)).astype(np.float32)
    w = rng.standard_normal((24, 32, 3, 3)).astype(np.float32)
    dy = rng.standard_normal((3, 24, 23, 29)).astype(np.float32)
    outs = [rustconv.conv2d(x, w, padding=1, workers=n) for n in (1, 2, 3)]
    grads = [rustconv.conv2d_input(x.shape, w, dy, padding=1, workers=n) for n in (1, 2, 3)]
    # Batch 8 of 48x48: several batch chunks whose partial weight gradients are summed.
    xb = rng.standard_normal((8, 32, 48, 48)).astype(np.float32)
    dyb = rng.standard_normal((8, 24, 48, 48)).astype(np.float32)
    dws = [rustconv.conv2d_weight(xb, w.shape, dyb, padding=1, workers=n) for n in (1, 2, 3)]
    for other in outs[1:]:
        assert np.array_equal(outs[0], other)
    for other in grads[1:]:
        assert np.array_equal(grads[0], other)
    for other in dws[1:]:
        assert np.array_equal(dws[0], other)
    assert rel_err(dws[0], ref_weight_grad3x3(xb, dyb, 1)) < 2e-5
