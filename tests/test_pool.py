"""Pooling against a NumPy reference written here (and torch when importable):
forward values and indices, gradients by finite differences and adjoint
identities, every error path, thread-count determinism."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rustconv

# --- the NumPy reference ------------------------------------------------------


def ref_len(length: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    span = d * (k - 1) + 1
    numerator = length + 2 * p - span
    out = (-(-numerator // s) if ceil else numerator // s) + 1
    if ceil and (out - 1) * s >= length + p:
        out -= 1
    return out


def _to3d(x: np.ndarray, rank: int) -> np.ndarray:
    """(N, C, *spatial) → (N, C, D, H, W) with unit leading spatial dims."""
    return x.reshape(x.shape[:2] + (1,) * (3 - rank) + x.shape[2:])


def _taps(length: int, k: int, s: int, p: int, d: int, out: int) -> np.ndarray:
    """Input positions (unpadded, may be out of range) of each window: (out, k)."""
    return np.arange(out)[:, None] * s + np.arange(k)[None, :] * d - p


def _gather(
    x: np.ndarray,
    rank: int,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    pad: tuple[int, ...],
    dil: tuple[int, ...],
    ceil: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    """Window values (N, C, OD, OH, OW, KD·KH·KW), their validity and flat
    positions, and the spatial output shape."""
    x3 = _to3d(x, rank)
    full = lambda t, fill: (fill,) * (3 - rank) + tuple(t)  # noqa: E731
    k3, s3, p3, d3 = full(kernel, 1), full(stride, 1), full(pad, 0), full(dil, 1)
    spatial = x3.shape[2:]
    outs = tuple(ref_len(spatial[a], k3[a], s3[a], p3[a], d3[a], ceil) for a in range(3))
    taps = [_taps(spatial[a], k3[a], s3[a], p3[a], d3[a], outs[a]) for a in range(3)]
    # Broadcast to (OD, OH, OW, KD, KH, KW).
    td = taps[0][:, None, None, :, None, None]
    th = taps[1][None, :, None, None, :, None]
    tw = taps[2][None, None, :, None, None, :]
    valid = (td >= 0) & (td < spatial[0]) & (th >= 0) & (th < spatial[1]) & (tw >= 0) & (tw < spatial[2])
    cd, ch, cw = (
        np.clip(td, 0, spatial[0] - 1),
        np.clip(th, 0, spatial[1] - 1),
        np.clip(tw, 0, spatial[2] - 1),
    )
    values = x3[:, :, cd, ch, cw]
    flat = (cd * spatial[1] + ch) * spatial[2] + cw
    window = int(np.prod(k3))
    shape6 = values.shape[:2] + outs + (window,)
    valid = np.broadcast_to(valid, outs + k3).reshape((*outs, window))
    flat = np.broadcast_to(flat, outs + k3).reshape((*outs, window))
    return values.reshape(shape6), valid, flat, outs


def ref_max_pool(x, rank, kernel, stride, pad, dil, ceil):
    values, valid, flat, outs = _gather(x, rank, kernel, stride, pad, dil, ceil)
    values = np.where(valid, values, -np.inf)
    nan = np.isnan(values)
    top = np.max(np.where(nan, -np.inf, values), axis=-1, keepdims=True)
    first_top = np.argmax(valid & (values == top), axis=-1)
    last_nan = values.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    any_nan = nan.any(axis=-1)
    pick = np.where(any_nan, last_nan, first_top)
    out = np.where(any_nan, np.nan, top[..., 0])
    index = np.take_along_axis(np.broadcast_to(flat, values.shape), pick[..., None], axis=-1)[..., 0]
    shape = x.shape[:2] + outs[3 - rank :]
    return out.reshape(shape).astype(x.dtype), index.reshape(shape)


def ref_divisor(length, k, s, p, o, include):
    start = o * s - p
    end = min(start + k, length + p)
    size = end - start
    return size if include else min(end, length) - max(start, 0)


def ref_avg_pool(x, rank, kernel, stride, pad, ceil, include=True, divisor=None):
    values, valid, _, outs = _gather(x, rank, kernel, stride, pad, (1,) * rank, ceil)
    sums = np.where(valid, values, 0).sum(axis=-1, dtype=np.float64)
    spatial = _to3d(x, rank).shape[2:]
    full = lambda t, fill: (fill,) * (3 - rank) + tuple(t)  # noqa: E731
    k3, s3, p3 = full(kernel, 1), full(stride, 1), full(pad, 0)
    if divisor is None:
        factors = [
            np.array([ref_divisor(spatial[a], k3[a], s3[a], p3[a], o, include) for o in range(outs[a])])
            for a in range(3)
        ]
        div = factors[0][:, None, None] * factors[1][None, :, None] * factors[2][None, None, :]
    else:
        div = divisor
    return (sums / div).reshape(x.shape[:2] + outs[3 - rank :])


def ref_lp_pool(x, rank, p, kernel, stride, ceil):
    values, valid, _, outs = _gather(x, rank, kernel, stride, (0,) * rank, (1,) * rank, ceil)
    sums = np.where(valid, np.abs(values.astype(np.float64)) ** p, 0).sum(axis=-1)
    return (sums ** (1 / p)).reshape(x.shape[:2] + outs[3 - rank :])


def ref_adaptive(x, rank, output_size, kind):
    x3 = _to3d(x, rank)
    spatial = x3.shape[2:]
    outs = (1,) * (3 - rank) + tuple(output_size)
    out = np.empty(x3.shape[:2] + outs)
    index = np.empty(x3.shape[:2] + outs, dtype=np.int64)
    bounds = [
        [
            (math.floor(o * spatial[a] / outs[a]), math.ceil((o + 1) * spatial[a] / outs[a]))
            for o in range(outs[a])
        ]
        for a in range(3)
    ]
    for od, (d0, d1) in enumerate(bounds[0]):
        for oh, (h0, h1) in enumerate(bounds[1]):
            for ow, (w0, w1) in enumerate(bounds[2]):
                window = x3[:, :, d0:d1, h0:h1, w0:w1].reshape((*x3.shape[:2], -1))
                positions = (
                    (np.arange(d0, d1)[:, None, None] * spatial[1] + np.arange(h0, h1)[None, :, None])
                    * spatial[2]
                    + np.arange(w0, w1)[None, None, :]
                ).ravel()
                if kind == "avg":
                    out[:, :, od, oh, ow] = window.astype(np.float64).mean(axis=-1)
                else:
                    nan = np.isnan(window)
                    top = np.max(np.where(nan, -np.inf, window), axis=-1, keepdims=True)
                    first = np.argmax(window == top, axis=-1)
                    last_nan = window.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
                    any_nan = nan.any(axis=-1)
                    out[:, :, od, oh, ow] = np.where(any_nan, np.nan, top[..., 0])
                    index[:, :, od, oh, ow] = positions[np.where(any_nan, last_nan, first)]
    shape = x.shape[:2] + tuple(output_size)
    return out.reshape(shape), index.reshape(shape)


# --- random configurations ----------------------------------------------------

MAX = {1: rustconv.max_pool1d, 2: rustconv.max_pool2d, 3: rustconv.max_pool3d}
MAX_BACK = {1: rustconv.max_pool1d_backward, 2: rustconv.max_pool2d_backward, 3: rustconv.max_pool3d_backward}
AVG = {1: rustconv.avg_pool1d, 2: rustconv.avg_pool2d, 3: rustconv.avg_pool3d}
AVG_BACK = {1: rustconv.avg_pool1d_backward, 2: rustconv.avg_pool2d_backward, 3: rustconv.avg_pool3d_backward}
LP = {1: rustconv.lp_pool1d, 2: rustconv.lp_pool2d, 3: rustconv.lp_pool3d}
LP_BACK = {1: rustconv.lp_pool1d_backward, 2: rustconv.lp_pool2d_backward, 3: rustconv.lp_pool3d_backward}
AAVG = {1: rustconv.adaptive_avg_pool1d, 2: rustconv.adaptive_avg_pool2d, 3: rustconv.adaptive_avg_pool3d}
AMAX = {1: rustconv.adaptive_max_pool1d, 2: rustconv.adaptive_max_pool2d, 3: rustconv.adaptive_max_pool3d}
AAVG_BACK = {
    1: rustconv.adaptive_avg_pool1d_backward,
    2: rustconv.adaptive_avg_pool2d_backward,
    3: rustconv.adaptive_avg_pool3d_backward,
}
AMAX_BACK = {
    1: rustconv.adaptive_max_pool1d_backward,
    2: rustconv.adaptive_max_pool2d_backward,
    3: rustconv.adaptive_max_pool3d_backward,
}


def random_config(
    rng: np.random.Generator, dilation: bool = True, padding: bool = True, fits: bool = False
) -> dict[str, Any]:
    """A valid random geometry (retrying until the pooling rules accept it).
    ``fits`` also asks for windows no larger than the unpadded input, which
    torch's 3-D pools require."""
    while True:
        rank = int(rng.integers(1, 4))
        spatial = tuple(int(v) for v in rng.integers(1, 8 if rank == 3 else 13, size=rank))
        kernel = tuple(int(v) for v in rng.integers(1, 5, size=rank))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=rank))
        pad = tuple(int(rng.integers(0, k // 2 + 1)) if padding else 0 for k in kernel)
        dil = tuple(int(v) for v in rng.integers(1, 3 if dilation else 2, size=rank))
        ceil = bool(rng.integers(2))
        ok = True
        for a in range(rank):
            if dil[a] * (kernel[a] - 1) + 1 > spatial[a] + (0 if fits else 2 * pad[a]):
                ok = False
                break
            out = ref_len(spatial[a], kernel[a], stride[a], pad[a], dil[a], ceil)
            taps = _taps(spatial[a], kernel[a], stride[a], pad[a], dil[a], out)
            if not ((taps >= 0) & (taps < spatial[a])).any(axis=1).all():
                ok = False
        if ok:
            shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), *spatial)
            return dict(rank=rank, shape=shape, kernel=kernel, stride=stride, pad=pad, dil=dil, ceil=ceil)


def awkward(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Values with ties, NaN and ±inf."""
    x = rng.integers(-3, 4, size=shape).astype(dtype)
    smooth = rng.random(shape) < 0.4
    x[smooth] = rng.standard_normal(int(smooth.sum()))
    special = rng.random(shape)
    x[special < 0.04] = np.nan
    x[(special >= 0.04) & (special < 0.07)] = np.inf
    x[(special >= 0.07) & (special < 0.10)] = -np.inf
    return x


def distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values far apart from each other (no ties, so max is differentiable)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).astype(np.float64) * 0.1 + rng.uniform(0, 0.01, size=n)).reshape(shape)


@pytest.mark.parametrize("seed", range(80))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_matches_reference(seed: int, dtype: Any) -> None:
    rng = np.random.default_rng(seed)
    c = random_config(rng)
    x = awkward(rng, c["shape"], dtype)
    before = x.copy()
    out, idx = MAX[c["rank"]](x, c["kernel"], c["stride"], c["pad"], c["dil"], c["ceil"], return_indices=True)
    want, want_idx = ref_max_pool(x, c["rank"], c["kernel"], c["stride"], c["pad"], c["dil"], c["ceil"])
    assert out.dtype == dtype
    assert idx.dtype == np.int64
    assert out.flags.c_contiguous
    assert idx.flags.c_contiguous
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(x, before)
    values_only = MAX[c["rank"]](x, c["kernel"], c["stride"], c["pad"], c["dil"], c["ceil"])
    np.testing.assert_array_equal(values_only, want)
    assert out.shape == rustconv.pool_output_shape(
        x.shape, c["kernel"], c["stride"], c["pad"], c["dil"], c["ceil"]
    )


@pytest.mark.parametrize("seed", range(80))
def test_avg_pool_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    c = random_config(rng, dilation=False)
    x = rng.standard_normal(c["shape"])
    include = bool(rng.integers(2))
    divisor = None if rng.integers(2) else int(rng.integers(1, 7))
    out = AVG[c["rank"]](x, c["kernel"], c["stride"], c["pad"], c["ceil"], include, divisor)
    want = ref_avg_pool(x, c["rank"], c["kernel"], c["stride"], c["pad"], c["ceil"], include, divisor)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    out32 = AVG[c["rank"]](
        x.astype(np.float32), c["kernel"], c["stride"], c["pad"], c["ceil"], include, divisor
    )
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(60))
def test_lp_pool_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(2000 + seed)
    c = random_config(rng, dilation=False, padding=False)
    x = rng.standard_normal(c["shape"])
    p = float(rng.choice([1.0, 2.0, 3.0, 1.5, 0.5]))
    out = LP[c["rank"]](x, p, c["kernel"], c["stride"], c["ceil"])
    want = ref_lp_pool(x, c["rank"], p, c["kernel"], c["stride"], c["ceil"])
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(60))
def test_adaptive_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(3000 + seed)
    rank = int(rng.integers(1, 4))
    shape = (
        int(rng.integers(1, 3)),
        int(rng.integers(1, 3)),
        *(int(v) for v in rng.integers(1, 11, size=rank)),
    )
    requested = [None if rng.random() < 0.2 else int(rng.integers(1, 9)) for _ in range(rank)]
    size = tuple(shape[2 + a] if v is None else v for a, v in enumerate(requested))
    x = awkward(rng, shape)
    out, idx = AMAX[rank](x, tuple(requested), return_indices=True)
    want, want_idx = ref_adaptive(x, rank, size, "max")
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(idx, want_idx)
    smooth = rng.standard_normal(shape)
    np.testing.assert_allclose(
        AAVG[rank](smooth, tuple(requested)), ref_adaptive(smooth, rank, size, "avg")[0], rtol=1e-12
    )
    # The gradient of the mean, via its adjoint identity.
    g = rng.standard_normal(x.shape[:2] + size)
    back = AAVG_BACK[rank](g, shape)
    assert np.isclose(np.vdot(AAVG[rank](smooth, size), g), np.vdot(smooth, back), rtol=1e-10)


def test_unbatched_inputs() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 9, 8))
    np.testing.assert_array_equal(rustconv.max_pool2d(x, 3, 2, 1), rustconv.max_pool2d(x[None], 3, 2, 1)[0])
    np.testing.assert_array_equal(rustconv.avg_pool1d(x[0], 2), rustconv.avg_pool1d(x[:1], 2)[0])
    out, idx = rustconv.adaptive_max_pool2d(x, (2, 3), return_indices=True)
    assert out.shape == idx.shape == (3, 2, 3)
    g = rustconv.max_pool2d_backward(np.ones_like(out), idx, x.shape)
    assert g.shape == x.shape
    assert g.sum() == out.size
    assert rustconv.pool_output_shape((3, 9, 8), (3, 3), 2, 1) == (3, 5, 4)


def test_max_pool_nan_and_ties_follow_torch_rules() -> None:
    x = np.array([[[1.0, np.nan, 2.0, np.nan, 0.0, 7.0, 7.0, -np.inf, -np.inf]]])
    out, idx = rustconv.max_pool1d(x, 5, 2, return_indices=True)
    # Window [0, 5): the last NaN (position 3); [2, 7): NaN at 3; [4, 9): first 7.
    assert np.isnan(out[0, 0, 0])
    assert np.isnan(out[0, 0, 1])
    assert out[0, 0, 2] == 7.0
    np.testing.assert_array_equal(idx[0, 0], [3, 3, 5])
    allneg = np.full((1, 1, 4), -np.inf)
    out, idx = rustconv.max_pool1d(allneg, 2, 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx[0, 0], [0, 1, 3])


# --- gradients ----------------------------------------------------------------


def numeric_grad(f: Any, x: np.ndarray, g: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ⟨f(x), g⟩."""
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = np.vdot(f(x), g)
        flat[i] = old - eps
        minus = np.vdot(f(x), g)
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("seed", range(20))
def test_avg_pool_backward_is_the_adjoint(seed: int) -> None:
    rng = np.random.default_rng(4000 + seed)
    c = random_config(rng, dilation=False)
    x = rng.standard_normal(c["shape"])
    include = bool(rng.integers(2))
    divisor = None if rng.integers(2) else int(rng.integers(1, 7))
    args = (c["kernel"], c["stride"], c["pad"], c["ceil"], include, divisor)
    out = AVG[c["rank"]](x, *args)
    g = rng.standard_normal(out.shape)
    back = AVG_BACK[c["rank"]](g, x.shape, *args)
    assert back.shape == x.shape
    assert np.isclose(np.vdot(out, g), np.vdot(x, back), rtol=1e-10)
    if x.size <= 200:
        np.testing.assert_allclose(back, numeric_grad(lambda v: AVG[c["rank"]](v, *args), x, g), atol=1e-7)


@pytest.mark.parametrize("seed", range(20))
def test_max_pool_backward_matches_scatter_and_differences(seed: int) -> None:
    rng = np.random.default_rng(5000 + seed)
    c = random_config(rng)
    x = distinct(rng, c["shape"])
    args = (c["kernel"], c["stride"], c["pad"], c["dil"], c["ceil"])
    out, idx = MAX[c["rank"]](x, *args, return_indices=True)
    g = rng.standard_normal(out.shape)
    back = MAX_BACK[c["rank"]](g, idx, x.shape)
    want = np.zeros((x.shape[0] * x.shape[1], int(np.prod(x.shape[2:]))))
    np.add.at(
        want,
        (np.arange(want.shape[0])[:, None], idx.reshape(want.shape[0], -1)),
        g.reshape(want.shape[0], -1),
    )
    np.testing.assert_allclose(back, want.reshape(x.shape), rtol=1e-12)
    if x.size <= 200:
        np.testing.assert_allclose(
            back, numeric_grad(lambda v: MAX[c["rank"]](v, *args), x, g, 1e-4), atol=1e-6
        )


@pytest.mark.parametrize("seed", range(20))
def test_lp_pool_backward_matches_differences(seed: int) -> None:
    rng = np.random.default_rng(6000 + seed)
    c = random_config(rng, dilation=False, padding=False)
    x = rng.uniform(0.5, 2.0, size=c["shape"]) * rng.choice([-1.0, 1.0], size=c["shape"])
    p = float(rng.choice([1.0, 2.0, 3.0, 1.5]))
    args = (p, c["kernel"], c["stride"], c["ceil"])
    out = LP[c["rank"]](x, *args)
    g = rng.standard_normal(out.shape)
    back = LP_BACK[c["rank"]](g, x, out, *args)
    if x.size <= 200:
        np.testing.assert_allclose(back, numeric_grad(lambda v: LP[c["rank"]](v, *args), x, g), atol=1e-6)


def test_lp_pool_backward_is_zero_where_the_norm_is_zero() -> None:
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = 1.0
    for p in (1.0, 2.0, 0.5, 3.0):
        out = rustconv.lp_pool2d(x, p, 2)
        back = rustconv.lp_pool2d_backward(np.ones_like(out), x, out, p, 2)
        assert np.isfinite(back).all()
        assert (back[0, 0, :2, :2] == 0).all()


@pytest.mark.parametrize("seed", range(10))
def test_adaptive_backward_matches_differences(seed: int) -> None:
    rng = np.random.default_rng(7000 + seed)
    rank = int(rng.integers(1, 4))
    shape = (1, 2, *(int(v) for v in rng.integers(1, 6, size=rank)))
    size = tuple(int(v) for v in rng.integers(1, 5, size=rank))
    x = distinct(rng, shape)
    g = rng.standard_normal(shape[:2] + size)
    np.testing.assert_allclose(
        AAVG_BACK[rank](g, shape), numeric_grad(lambda v: AAVG[rank](v, size), x, g), atol=1e-7
    )
    _out, idx = AMAX[rank](x, size, return_indices=True)
    np.testing.assert_allclose(
        AMAX_BACK[rank](g, idx, shape), numeric_grad(lambda v: AMAX[rank](v, size), x, g, 1e-4), atol=1e-6
    )


# --- determinism and threads ---------------------------------------------------


def test_bitwise_identical_for_every_thread_count() -> None:
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 8, 61, 47)).astype(np.float32)
    calls = [
        lambda w: rustconv.max_pool2d(x, 3, 2, 1, return_indices=True, workers=w),
        lambda w: rustconv.avg_pool2d(x, 3, 2, 1, ceil_mode=True, workers=w),
        lambda w: rustconv.lp_pool2d(x, 2, 2, workers=w),
        lambda w: rustconv.avg_pool2d_backward(x[:, :, :30, :23], x.shape, 2, workers=w),
        lambda w: rustconv.adaptive_avg_pool2d(x, (7, 5), workers=w),
        lambda w: rustconv.adaptive_max_pool2d(x, (7, 5), return_indices=True, workers=w),
        lambda w: rustconv.adaptive_avg_pool2d_backward(x[:, :, :7, :5], x.shape, workers=w),
    ]
    for call in calls:
        first = call(1)
        for workers in (2, 3):
            other = call(workers)
            for a, b in zip(
                first if isinstance(first, tuple) else (first,),
                other if isinstance(other, tuple) else (other,),
            ):
                assert a.tobytes() == b.tobytes()
    y = rustconv.lp_pool2d(x, 2, 2)
    g = np.ones_like(y)
    assert rustconv.lp_pool2d_backward(g, x, y, 2, 2, workers=1).tobytes() == (
        rustconv.lp_pool2d_backward(g, x, y, 2, 2, workers=3).tobytes()
    )


def test_strided_input_and_inputs_unchanged() -> None:
    rng = np.random.default_rng(12)
    base = rng.standard_normal((2, 3, 20, 18))
    view = base[:, :, ::2, ::-1]
    snapshot = base.copy()
    np.testing.assert_array_equal(
        rustconv.max_pool2d(view, 2), rustconv.max_pool2d(np.ascontiguousarray(view), 2)
    )
    out = rustconv.lp_pool2d(view, 2, 2)
    rustconv.lp_pool2d_backward(out, view, out, 2, 2)
    np.testing.assert_array_equal(base, snapshot)


# --- hypothesis ------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    length=st.integers(1, 20),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 5),
    pad=st.integers(0, 3),
    dil=st.integers(1, 3),
    ceil=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_hypothesis_max_and_avg_1d(length, kernel, stride, pad, dil, ceil, seed) -> None:
    x = awkward(np.random.default_rng(seed), (1, 2, length))
    valid = pad <= kernel // 2 and dil * (kernel - 1) + 1 <= length + 2 * pad
    if valid:
        out_len = ref_len(length, kernel, stride, pad, dil, ceil)
        taps = _taps(length, kernel, stride, pad, dil, out_len)
        valid = bool(((taps >= 0) & (taps < length)).any(axis=1).all())
    if not valid:
        with pytest.raises(ValueError, match=r"kernel_size|padding|dilation"):
            rustconv.max_pool1d(x, kernel, stride, pad, dil, ceil)
        return
    out, idx = rustconv.max_pool1d(x, kernel, stride, pad, dil, ceil, return_indices=True)
    want, want_idx = ref_max_pool(x, 1, (kernel,), (stride,), (pad,), (dil,), ceil)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(idx, want_idx)
    if dil == 1:
        finite = np.nan_to_num(x, nan=0.5, posinf=3.0, neginf=-3.0)
        np.testing.assert_allclose(
            rustconv.avg_pool1d(finite, kernel, stride, pad, ceil, False),
            ref_avg_pool(finite, 1, (kernel,), (stride,), (pad,), ceil, False),
            rtol=1e-12,
        )


# --- errors ------------------------------------------------------------------------

X2 = np.zeros((1, 2, 5, 5))
ERRORS: list[tuple[Any, type[Exception], str]] = [
    (lambda: rustconv.max_pool2d(X2.astype(np.int64), 2), TypeError, "input has dtype int64"),
    (lambda: rustconv.avg_pool2d(X2.astype(np.float16), 2), TypeError, "float16"),
    (lambda: rustconv.max_pool2d(X2[0, 0], 2), ValueError, "3 \\(unbatched"),
    (lambda: rustconv.max_pool2d(X2[None], 2), ValueError, "dimensions"),
    (lambda: rustconv.max_pool2d(X2, (2, 2, 2)), ValueError, "kernel_size must have 2 entries"),
    (lambda: rustconv.max_pool2d(X2, 0), ValueError, "kernel_size must be positive"),
    (lambda: rustconv.max_pool2d(X2, -3), ValueError, "kernel_size must be positive"),
    (lambda: rustconv.max_pool2d(X2, 2, 0), ValueError, "stride must be positive"),
    (lambda: rustconv.max_pool2d(X2, 2, -1), ValueError, "stride must be positive"),
    (lambda: rustconv.max_pool2d(X2, 3, 1, 2), ValueError, "at most half the kernel"),
    (lambda: rustconv.max_pool2d(X2, 3, 1, -1), ValueError, "padding must be non-negative"),
    (lambda: rustconv.max_pool2d(X2, 2, dilation=0), ValueError, "dilation must be positive"),
    (lambda: rustconv.max_pool2d(X2, 7), ValueError, "larger than the padded input"),
    (lambda: rustconv.max_pool1d(np.zeros((1, 1, 2)), 2, 1, 1, 3), ValueError, "covers no input element"),
    (lambda: rustconv.max_pool2d(X2, 2.5), TypeError, "kernel_size must be an int"),
    (lambda: rustconv.max_pool2d(np.zeros((1, 2, 0, 5)), 1), ValueError, "non-empty spatial"),
    (lambda: rustconv.max_pool2d(X2, 2, workers=0), ValueError, "workers=0"),
    (
        lambda: rustconv.avg_pool2d(X2, 2, divisor_override=0),
        ValueError,
        "divisor_override must be a positive",
    ),
    (lambda: rustconv.avg_pool2d(X2, 2, divisor_override=1.5), TypeError, "divisor_override"),
    (lambda: rustconv.lp_pool2d(X2, 0, 2), ValueError, "norm_type must be a finite number greater than 0"),
    (lambda: rustconv.lp_pool2d(X2, -1.0, 2), ValueError, "norm_type"),
    (lambda: rustconv.lp_pool2d(X2, float("inf"), 2), ValueError, "norm_type"),
    (lambda: rustconv.lp_pool2d(X2, "two", 2), TypeError, "norm_type must be a number"),
    (lambda: rustconv.adaptive_avg_pool2d(X2, 0), ValueError, "output_size must be at least 1"),
    (lambda: rustconv.adaptive_avg_pool2d(X2, (2, -1)), ValueError, "output_size must be at least 1"),
    (lambda: rustconv.adaptive_max_pool2d(X2, (2, 2, 2)), ValueError, "output_size must have 2 entries"),
    (lambda: rustconv.adaptive_max_pool2d(X2, "2"), TypeError, "output_size"),
    (lambda: rustconv.adaptive_avg_pool1d(X2, 2), ValueError, "dimensions"),
    (
        lambda: rustconv.max_pool2d_backward(np.ones((1, 2, 2, 2)), np.full((1, 2, 2, 2), 25), X2.shape),
        ValueError,
        "in \\[0, 25\\)",
    ),
    (
        lambda: rustconv.max_pool2d_backward(np.ones((1, 2, 2, 2)), np.full((1, 2, 2, 2), -1), X2.shape),
        ValueError,
        "got -1",
    ),
    (
        lambda: rustconv.max_pool2d_backward(
            np.ones((1, 2, 2, 2)), np.zeros((1, 2, 2, 3), np.int64), X2.shape
        ),
        ValueError,
        "indices of max_pool2d_backward must have shape",
    ),
    (
        lambda: rustconv.max_pool2d_backward(np.ones((1, 2, 2, 2)), np.zeros((1, 2, 2, 2)), X2.shape),
        TypeError,
        "indices must have an integer dtype",
    ),
    (
        lambda: rustconv.max_pool2d_backward(
            np.ones((1, 3, 2, 2)), np.zeros((1, 3, 2, 2), np.int64), X2.shape
        ),
        ValueError,
        "leading",
    ),
    (
        lambda: rustconv.adaptive_max_pool2d_backward(
            np.ones((1, 2, 2, 2)), np.zeros((1, 2, 2, 2), np.int64), (1, 2, 5)
        ),
        ValueError,
        "grad_output of adaptive_max_pool2d_backward must have the leading",
    ),
    (
        lambda: rustconv.avg_pool2d_backward(np.ones((1, 2, 3, 3)), X2.shape, 2),
        ValueError,
        "must have shape \\(1, 2, 2, 2\\)",
    ),
    (
        lambda: rustconv.avg_pool2d_backward(np.ones((1, 2, 2, 2)), (1, 2, -5, 5), 2),
        ValueError,
        "non-negative",
    ),
    (lambda: rustconv.avg_pool2d_backward(np.ones((1, 2, 2, 2), np.int32), X2.shape, 2), TypeError, "int32"),
    (
        lambda: rustconv.lp_pool2d_backward(np.ones((1, 2, 2, 2)), X2, np.ones((1, 2, 3, 2)), 2, 2),
        ValueError,
        "output of",
    ),
    (
        lambda: rustconv.lp_pool2d_backward(
            np.ones((1, 2, 2, 2)), X2.astype(int), np.ones((1, 2, 2, 2)), 2, 2
        ),
        TypeError,
        "input has dtype",
    ),
    (lambda: rustconv.adaptive_avg_pool2d_backward(np.ones((2, 2, 2, 2)), X2.shape), ValueError, "leading"),
    (lambda: rustconv.pool_output_shape((5,), 2), ValueError, "1 to 3 spatial"),
    (lambda: rustconv.pool_output_shape((5,), (2, 2)), ValueError, "input_shape must have 2"),
    (lambda: rustconv.pool_output_shape((1, 1, 5), 9), ValueError, "larger than the padded input"),
    (lambda: rustconv.max_pool2d("abc", 2), TypeError, "input"),
    (lambda: rustconv.max_pool1d(np.zeros((1, 1, 5)), 2**70), ValueError, "fit in 64 bits"),
    (lambda: rustconv.adaptive_avg_pool1d(np.zeros((1, 1, 5)), 2**64), ValueError, "fit in 64 bits"),
    (
        lambda: rustconv.avg_pool1d_backward(np.zeros((1, 1, 2)), (1, 1, 2**64), 2),
        ValueError,
        "fit in 64 bits",
    ),
    (lambda: rustconv.pool_output_shape((1, 1, 2**41), 2**40, 1, 2**39), ValueError, "more than 2"),
    (
        lambda: rustconv.max_pool1d(np.zeros((1, 1, 5)), 3, dilation=2**62, padding=1),
        ValueError,
        "larger than",
    ),
]


@pytest.mark.parametrize(("call", "exc", "message"), ERRORS)
def test_errors_are_clean(call: Any, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=message):
        call()
    # The module still works afterwards.
    np.testing.assert_array_equal(rustconv.max_pool1d(np.array([[[1.0, 2.0]]]), 2), [[[2.0]]])


# --- torch ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def torch_window(c: dict[str, Any]) -> tuple[Any, Any]:
    """torch's lp_pool1d takes only ints for kernel_size and stride."""
    if c["rank"] == 1:
        return c["kernel"][0], c["stride"][0]
    return c["kernel"], c["stride"]


@pytest.mark.parametrize("seed", range(60))
def test_against_torch_forward(torch: Any, seed: int) -> None:
    F = torch.nn.functional
    rng = np.random.default_rng(8000 + seed)
    c = random_config(rng, fits=True)
    rank = c["rank"]
    x = awkward(rng, c["shape"])
    t = torch.from_numpy(x)
    tout, tidx = getattr(F, f"max_pool{rank}d")(
        t, c["kernel"], c["stride"], c["pad"], c["dil"], c["ceil"], True
    )
    out, idx = MAX[rank](x, c["kernel"], c["stride"], c["pad"], c["dil"], c["ceil"], return_indices=True)
    np.testing.assert_array_equal(out, tout.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())

    smooth = rng.standard_normal(c["shape"])
    t = torch.from_numpy(smooth)
    include = bool(rng.integers(2))
    divisor = None if rank == 1 or rng.integers(2) else int(rng.integers(1, 5))
    kwargs = {} if rank == 1 else {"divisor_override": divisor}
    tavg = getattr(F, f"avg_pool{rank}d")(t, c["kernel"], c["stride"], c["pad"], c["ceil"], include, **kwargs)
    np.testing.assert_allclose(
        AVG[rank](smooth, c["kernel"], c["stride"], c["pad"], c["ceil"], include, divisor),
        tavg.numpy(),
        rtol=1e-12,
        atol=1e-12,
    )

    lp = random_config(rng, dilation=False, padding=False, fits=True)
    lp_rank = lp["rank"]
    positive = np.abs(rng.standard_normal(lp["shape"])) + 0.1
    p = float(rng.choice([1.0, 2.0, 3.0, 1.5]))
    if lp_rank < 3 or hasattr(F, "lp_pool3d"):
        tlp = getattr(F, f"lp_pool{lp_rank}d")(torch.from_numpy(positive), p, *torch_window(lp), False)
        np.testing.assert_allclose(
            LP[lp_rank](positive, p, lp["kernel"], lp["stride"]), tlp.numpy(), rtol=1e-10
        )

    size = tuple(int(v) for v in rng.integers(1, 6, size=rank))
    tamax, taidx = getattr(F, f"adaptive_max_pool{rank}d")(torch.from_numpy(x), size, True)
    amax, aidx = AMAX[rank](x, size, return_indices=True)
    np.testing.assert_array_equal(amax, tamax.numpy())
    np.testing.assert_array_equal(aidx, taidx.numpy())
    taavg = getattr(F, f"adaptive_avg_pool{rank}d")(t, size)
    np.testing.assert_allclose(AAVG[rank](smooth, size), taavg.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_against_torch_backward(torch: Any, seed: int) -> None:
    F = torch.nn.functional
    rng = np.random.default_rng(9000 + seed)
    c = random_config(rng, dilation=False, fits=True)
    rank = c["rank"]
    x = distinct(rng, c["shape"])

    def grad_of(f: Any, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = torch.from_numpy(data.copy()).requires_grad_(True)
        out = f(t)
        g = torch.from_numpy(rng.standard_normal(tuple(out.shape)))
        out.backward(g)
        return out.detach().numpy(), g.numpy(), t.grad.numpy()

    _out, g, want = grad_of(
        lambda t: getattr(F, f"max_pool{rank}d")(t, c["kernel"], c["stride"], c["pad"], 1, c["ceil"]), x
    )
    _, idx = MAX[rank](x, c["kernel"], c["stride"], c["pad"], 1, c["ceil"], return_indices=True)
    np.testing.assert_allclose(MAX_BACK[rank](g, idx, x.shape), want, rtol=1e-12)

    include = bool(rng.integers(2))
    _, g, want = grad_of(
        lambda t: getattr(F, f"avg_pool{rank}d")(t, c["kernel"], c["stride"], c["pad"], c["ceil"], include), x
    )
    np.testing.assert_allclose(
        AVG_BACK[rank](g, x.shape, c["kernel"], c["stride"], c["pad"], c["ceil"], include),
        want,
        rtol=1e-10,
        atol=1e-12,
    )

    p = float(rng.choice([1.0, 2.0, 3.0]))
    lp = random_config(rng, dilation=False, padding=False, fits=True)
    lp_rank, xl = lp["rank"], distinct(rng, lp["shape"]) + 0.5
    if lp_rank < 3 or hasattr(F, "lp_pool3d"):
        y, g, want = grad_of(lambda t: getattr(F, f"lp_pool{lp_rank}d")(t, p, *torch_window(lp)), xl)
        np.testing.assert_allclose(
            LP_BACK[lp_rank](g, xl, y, p, lp["kernel"], lp["stride"]), want, rtol=1e-8, atol=1e-10
        )

    size = tuple(int(v) for v in rng.integers(1, 6, size=rank))
    _, g, want = grad_of(lambda t: getattr(F, f"adaptive_avg_pool{rank}d")(t, size), x)
    np.testing.assert_allclose(AAVG_BACK[rank](g, x.shape), want, rtol=1e-10, atol=1e-12)
    _, g, want = grad_of(lambda t: getattr(F, f"adaptive_max_pool{rank}d")(t, size), x)
    _, aidx = AMAX[rank](x, size, return_indices=True)
    np.testing.assert_allclose(AMAX_BACK[rank](g, aidx, x.shape), want, rtol=1e-12)


def test_torch_float32_large(torch: Any) -> None:
    F = torch.nn.functional
    rng = np.random.default_rng(99)
    x = rng.standard_normal((2, 16, 57, 63)).astype(np.float32)
    t = torch.from_numpy(x)
    out, idx = rustconv.max_pool2d(x, 3, 2, 1, return_indices=True)
    tout, tidx = F.max_pool2d(t, 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(out, tout.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    np.testing.assert_allclose(rustconv.avg_pool2d(x, 2), F.avg_pool2d(t, 2).numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        rustconv.lp_pool2d(np.abs(x), 2, 2), F.lp_pool2d(t.abs(), 2, 2).numpy(), rtol=1e-5
    )


_THREAD_PROBE = """
import os
import numpy as np
import rustconv

def threads():
    return len(os.listdir("/proc/self/task"))

x = np.ones((8, 16, 96, 96), dtype=np.float32)
small = np.ones((1, 2, 9, 9), dtype=np.float32)
before = threads()
rustconv.max_pool2d(x, 3, 2, 1, workers=1)
rustconv.max_pool2d(x, 3, 2, 1, return_indices=True, workers=1)
rustconv.avg_pool2d(x, 2, 2, workers=1)
rustconv.lp_pool2d(x, 2, 2, workers=1)
rustconv.adaptive_avg_pool2d(x, 5, workers=1)
out, idx = rustconv.max_pool2d(x, 2, return_indices=True, workers=1)
rustconv.max_pool2d_backward(out, idx, x.shape, workers=1)
rustconv.avg_pool2d(small, 2, workers=2)
inline = threads()
rustconv.avg_pool2d(x, 2, 2, workers=2)
print(before, inline, threads())
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc")
def test_one_worker_and_small_jobs_run_on_the_calling_thread() -> None:
    # A fresh interpreter, so that no pool exists yet: one worker (or a job
    # too small to split) must start no thread, neither a pool of one nor
    # Rayon's global pool; a large job with two workers starts its pool,
    # which shows that the count would see them.
    result = subprocess.run(
        [sys.executable, "-c", _THREAD_PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    before, inline, after = map(int, result.stdout.split())
    assert inline == before
    assert after == before + 2
