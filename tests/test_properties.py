"""Property-based tests over every public family.

Each valid-input test draws shapes, dtypes, memory layouts (C, Fortran,
strided, negative strides, read-only) and parameters across the valid space
and compares rustconv with the NumPy/scipy reference the unit tests use
(see ``_reference``); when the reference refuses a combination, rustconv must
refuse it too, with a ValueError. Each invalid-input test draws one bad
argument per call and checks the exception class and that its message names
the argument. The profile (``tests/conftest.py``) sets the number of examples.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import scipy.signal
from _reference import (
    LAYOUTS,
    PAD_MODES,
    layouts,
    ref_adaptive,
    ref_avg_pool,
    ref_conv,
    ref_conv_input,
    ref_conv_weight,
    ref_lp_pool,
    ref_lp_pool_backward,
    ref_max_pool,
    ref_pad_backward,
    ref_transpose,
    scatter_indices,
)
from hypothesis import assume, given
from hypothesis import strategies as st

import rustconv

CONV = {1: rustconv.conv1d, 2: rustconv.conv2d, 3: rustconv.conv3d}
CONV_T = {1: rustconv.conv_transpose1d, 2: rustconv.conv_transpose2d, 3: rustconv.conv_transpose3d}
CONV_IN = {1: rustconv.conv1d_input, 2: rustconv.conv2d_input, 3: rustconv.conv3d_input}
CONV_W = {1: rustconv.conv1d_weight, 2: rustconv.conv2d_weight, 3: rustconv.conv3d_weight}
CONV_BACK = {1: rustconv.conv1d_backward, 2: rustconv.conv2d_backward, 3: rustconv.conv3d_backward}


def pool(kind: str, rank: int) -> Any:
    return getattr(rustconv, kind.format(rank))


def close(got: np.ndarray, want: np.ndarray, dtype: Any) -> None:
    """Equal shapes and values within the dtype's accumulated rounding."""
    assert got.shape == want.shape, (got.shape, want.shape)
    kind = np.dtype(dtype)
    if kind.kind in "biu":
        np.testing.assert_array_equal(got, want)
        return
    tol = 1e-4 if kind in (np.float32, np.complex64) else 1e-10
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


@st.composite
def arrays(draw: Any, shape: tuple[int, ...], dtype: Any, low: float = -4.0, high: float = 4.0) -> np.ndarray:
    """Random values of ``dtype`` in one of the memory layouts."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        a = rng.random(shape) < 0.5
    elif dt.kind in "iu":
        a = rng.integers(0 if dt.kind == "u" else -5, 6, size=shape).astype(dt)
    elif dt.kind == "c":
        a = (rng.uniform(low, high, shape) + 1j * rng.uniform(low, high, shape)).astype(dt)
    else:
        a = rng.uniform(low, high, shape).astype(dt)
    return layouts(a, draw(st.sampled_from(LAYOUTS)))


def shape_st(ndim: int, low: int = 1, high: int = 7) -> Any:
    return st.tuples(*[st.integers(low, high)] * ndim)


# ------------------------------------------------------------------ signal


SIGNAL_DTYPES = [np.float32, np.float64, np.complex64, np.complex128, np.int32, np.int64, np.uint8]


@given(data=st.data())
def test_signal_nd_matches_scipy(data: Any) -> None:
    ndim = data.draw(st.integers(1, 3), "ndim")
    dtype = data.draw(st.sampled_from(SIGNAL_DTYPES), "dtype")
    s1 = data.draw(shape_st(ndim, 1, 9 if ndim < 3 else 5), "s1")
    s2 = data.draw(shape_st(ndim, 1, 5 if ndim < 3 else 3), "s2")
    in1 = data.draw(arrays(s1, dtype), "in1")
    in2 = data.draw(arrays(s2, dtype), "in2")
    mode = data.draw(st.sampled_from(["full", "same", "valid"]), "mode")
    method = data.draw(
        st.sampled_from(["direct", "auto"] + ([] if np.dtype(dtype).kind in "iu" else ["fft"]))
    )
    name = data.draw(st.sampled_from(["convolve", "correlate"]), "function")
    try:
        want = getattr(scipy.signal, name)(in1, in2, mode=mode, method=method)
    except ValueError:
        with pytest.raises(ValueError, match=r"in1|in2|valid"):
            getattr(rustconv, name)(in1, in2, mode=mode, method=method)
        return
    got = getattr(rustconv, name)(in1, in2, mode=mode, method=method)
    assert got.dtype == want.dtype
    assert got.flags.c_contiguous
    close(got, want, dtype)


@given(data=st.data())
def test_signal_2d_matches_scipy(data: Any) -> None:
    dtype = data.draw(st.sampled_from(SIGNAL_DTYPES), "dtype")
    in1 = data.draw(arrays(data.draw(shape_st(2, 1, 12)), dtype), "in1")
    in2 = data.draw(arrays(data.draw(shape_st(2, 1, 6)), dtype), "in2")
    mode = data.draw(st.sampled_from(["full", "same", "valid"]), "mode")
    boundary = data.draw(st.sampled_from(["fill", "wrap", "symm"]), "boundary")
    # scipy wraps a negative fill value into an unsigned dtype; rustconv
    # refuses it (docs/bad_inputs.md), so unsigned draws stay non-negative.
    fills = [0, 1, 2] if np.dtype(dtype).kind == "u" else [0, 1, -2]
    fill = data.draw(st.sampled_from(fills), "fillvalue")
    name = data.draw(st.sampled_from(["convolve2d", "correlate2d"]), "function")
    try:
        want = getattr(scipy.signal, name)(in1, in2, mode=mode, boundary=boundary, fillvalue=fill)
    except ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 - whatever the reference refuses, with its reason
            getattr(rustconv, name)(in1, in2, mode=mode, boundary=boundary, fillvalue=fill)
        return
    got = getattr(rustconv, name)(in1, in2, mode=mode, boundary=boundary, fillvalue=fill)
    assert got.dtype == want.dtype
    close(got, want, dtype)


@given(n1=st.integers(1, 50), n2=st.integers(1, 50), mode=st.sampled_from(["full", "same", "valid"]))
def test_correlation_lags_matches_scipy(n1: int, n2: int, mode: str) -> None:
    np.testing.assert_array_equal(
        rustconv.correlation_lags(n1, n2, mode), scipy.signal.correlation_lags(n1, n2, mode)
    )


# ------------------------------------------------------------------ fft


@given(data=st.data())
def test_fft_matches_scipy(data: Any) -> None:
    ndim = data.draw(st.integers(1, 3), "ndim")
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.complex64, np.complex128, np.int16]))
    axes_all = list(range(ndim))
    axes = data.draw(
        st.one_of(st.none(), st.lists(st.sampled_from(axes_all), min_size=1, max_size=ndim, unique=True))
    )
    s1, s2 = [], []
    for a in range(ndim):
        if axes is None or a in axes:
            s1.append(data.draw(st.integers(1, 40 if ndim == 1 else 9)))
            s2.append(data.draw(st.integers(1, 12 if ndim == 1 else 5)))
        else:
            n = data.draw(st.integers(1, 4))
            pair = data.draw(st.sampled_from([(n, n), (1, n), (n, 1)]))
            s1.append(pair[0])
            s2.append(pair[1])
    if axes is not None and data.draw(st.booleans(), "negative axes"):
        axes = [a - ndim for a in axes]
    in1 = data.draw(arrays(tuple(s1), dtype), "in1")
    in2 = data.draw(arrays(tuple(s2), dtype), "in2")
    mode = data.draw(st.sampled_from(["full", "same", "valid"]), "mode")
    name = data.draw(st.sampled_from(["fftconvolve", "oaconvolve"]), "function")
    try:
        want = getattr(scipy.signal, name)(in1, in2, mode=mode, axes=axes)
    except ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 - whatever the reference refuses, with its reason
            getattr(rustconv, name)(in1, in2, mode=mode, axes=axes)
        return
    got = getattr(rustconv, name)(in1, in2, mode=mode, axes=axes)
    assert got.dtype == want.dtype
    close(got, want, want.dtype)


# ------------------------------------------------------------------ conv


@st.composite
def conv_case(draw: Any) -> dict[str, Any]:
    rank = draw(st.integers(1, 3), "rank")
    groups = draw(st.integers(1, 3), "groups")
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    hi = {1: 4, 2: 3, 3: 2}[rank]
    kernel = draw(shape_st(rank, 1, hi), "kernel")
    stride = draw(shape_st(rank, 1, 3), "stride")
    dilation = draw(shape_st(rank, 1, 2), "dilation")
    padding = draw(shape_st(rank, 0, 2), "padding")
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    top = {1: 14, 2: 8, 3: 5}[rank]
    spatial = tuple(
        draw(st.integers(max(1, e - 2 * p), max(1, e - 2 * p) + top)) for e, p in zip(extent, padding)
    )
    batch = draw(st.sampled_from([None, 1, 2]), "batch")
    dtype = draw(st.sampled_from([np.float32, np.float64]), "dtype")
    return {
        "rank": rank,
        "groups": groups,
        "c_in": c_in,
        "c_out": c_out,
        "kernel": kernel,
        "stride": stride,
        "dilation": dilation,
        "padding": padding,
        "spatial": spatial,
        "batch": batch,
        "dtype": dtype,
    }


def lead(c: dict[str, Any], channels: int) -> tuple[int, ...]:
    return (channels,) if c["batch"] is None else (c["batch"], channels)


@given(c=conv_case(), data=st.data())
def test_conv_forward_matches_reference(c: dict[str, Any], data: Any) -> None:
    rank, dt = c["rank"], c["dtype"]
    x = data.draw(arrays(lead(c, c["c_in"]) + c["spatial"], dt), "x")
    w = data.draw(arrays((c["c_out"], c["c_in"] // c["groups"], *c["kernel"]), dt), "w")
    b = data.draw(st.one_of(st.none(), arrays((c["c_out"],), dt)), "bias")
    stride, padding = c["stride"], c["padding"]
    padding_mode = data.draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    if data.draw(st.booleans(), "string padding") and all(s == 1 for s in stride):
        padding = data.draw(st.sampled_from(["same", "valid"]))
    if padding_mode != "zeros":
        # torch's rule: reflect needs pad < size; circular pad <= size.
        if padding == "same":  # the larger, right side of torch's 'same' split
            pads = [d * (k - 1) - d * (k - 1) // 2 for k, d in zip(c["kernel"], c["dilation"])]
        else:
            pads = [0] * rank if padding == "valid" else padding
        assume(all(p < n for p, n in zip(pads, c["spatial"])))
    try:
        want = ref_conv(x, w, b, stride, padding, c["dilation"], c["groups"], padding_mode)
    except ValueError:
        return
    assume(all(n > 0 for n in want.shape))
    got = CONV[rank](x, w, b, stride, padding, c["dilation"], c["groups"], padding_mode)
    assert got.dtype == dt
    assert got.flags.c_contiguous
    close(got, want, dt)


@given(c=conv_case(), data=st.data())
def test_conv_gradients_match_reference(c: dict[str, Any], data: Any) -> None:
    rank, dt, g = c["rank"], c["dtype"], c["groups"]
    x_shape = lead(c, c["c_in"]) + c["spatial"]
    w_shape = (c["c_out"], c["c_in"] // g, *c["kernel"])
    x = data.draw(arrays(x_shape, dt), "x")
    w = data.draw(arrays(w_shape, dt), "w")
    args = (c["stride"], c["padding"], c["dilation"], g)
    out_sp = tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, p, d, k, s in zip(c["spatial"], c["padding"], c["dilation"], c["kernel"], c["stride"])
    )
    assume(all(o > 0 for o in out_sp))
    dy = data.draw(arrays(lead(c, c["c_out"]) + out_sp, dt), "grad_output")

    want_dx = ref_conv_input(x_shape, w, dy if c["batch"] else dy[None], *args)
    want_dx = want_dx if c["batch"] else want_dx[0]
    want_dw = ref_conv_weight(x, dy, c["kernel"], *args)
    close(CONV_IN[rank](x_shape, w, dy, *args), want_dx, dt)
    close(CONV_W[rank](x, w_shape, dy, *args), want_dw, dt)
    dx, dw, db = CONV_BACK[rank](dy, x, w, *args)
    close(dx, want_dx, dt)
    close(dw, want_dw, dt)
    axes = (0, *range(2, rank + 2)) if c["batch"] else tuple(range(1, rank + 1))
    close(db, dy.astype(np.float64).sum(axis=axes), dt)


@given(c=conv_case(), data=st.data())
def test_conv_transpose_matches_reference(c: dict[str, Any], data: Any) -> None:
    rank, dt, g = c["rank"], c["dtype"], c["groups"]
    x = data.draw(arrays(lead(c, c["c_in"]) + c["spatial"], dt), "x")
    w = data.draw(arrays((c["c_in"], c["c_out"] // g, *c["kernel"]), dt), "w")
    b = data.draw(st.one_of(st.none(), arrays((c["c_out"],), dt)), "bias")
    output_padding = tuple(
        data.draw(st.integers(0, max(s, d) - 1)) for s, d in zip(c["stride"], c["dilation"])
    )
    full = [
        (n - 1) * s + d * (k - 1) + 1 + op
        for n, s, d, k, op in zip(c["spatial"], c["stride"], c["dilation"], c["kernel"], output_padding)
    ]
    assume(all(f - 2 * p > 0 for f, p in zip(full, c["padding"])))
    want = ref_transpose(x, w, b, c["stride"], c["padding"], output_padding, g, c["dilation"])
    got = CONV_T[rank](x, w, b, c["stride"], c["padding"], output_padding, g, c["dilation"])
    close(got, want, dt)


# ------------------------------------------------------------------ pad

PAD_DTYPES = [np.bool_, np.int8, np.uint16, np.int32, np.float16, np.float32, np.float64, np.complex128]


@given(data=st.data())
def test_pad_matches_numpy(data: Any) -> None:
    ndim = data.draw(st.integers(0, 4), "ndim")
    shape = data.draw(shape_st(ndim, 0, 5), "shape")
    dtype = data.draw(st.sampled_from(PAD_DTYPES), "dtype")
    a = data.draw(arrays(shape, dtype), "array")
    mode = data.draw(st.sampled_from(sorted(PAD_MODES)), "mode")
    form = data.draw(st.sampled_from(["int", "pairs", "pair"]), "pad_width form")
    if form == "int" or ndim == 0:
        pad_width: Any = data.draw(st.integers(0, 7))
    elif form == "pair":
        pad_width = (data.draw(st.integers(0, 7)), data.draw(st.integers(0, 7)))
    else:
        pad_width = [(data.draw(st.integers(0, 7)), data.draw(st.integers(0, 7))) for _ in range(ndim)]
    kw: dict[str, Any] = {}
    if mode == "constant" and dtype != np.bool_:  # torch's 'zeros' takes no value
        kw["constant_values"] = data.draw(st.sampled_from([0, 1, 3]))
    try:
        want = np.pad(a, pad_width, PAD_MODES[mode], **kw)
    except ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 - whatever the reference refuses, with its reason
            rustconv.pad(a, pad_width, mode, **kw)
        return
    got = rustconv.pad(a, pad_width, mode, **kw)
    assert got.dtype == want.dtype
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


@given(data=st.data())
def test_pad_backward_matches_scatter_add(data: Any) -> None:
    ndim = data.draw(st.integers(1, 3), "ndim")
    shape = data.draw(shape_st(ndim, 1, 5), "shape")
    mode = data.draw(st.sampled_from(sorted(PAD_MODES)), "mode")
    pad_width = [(data.draw(st.integers(0, 6)), data.draw(st.integers(0, 6))) for _ in range(ndim)]
    if PAD_MODES[mode] == "reflect":
        assume(all(n > 1 or (p == 0 and q == 0) for n, (p, q) in zip(shape, pad_width)))
    padded = tuple(n + p + q for n, (p, q) in zip(shape, pad_width))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.complex128]), "dtype")
    grad = data.draw(arrays(padded, dtype), "grad")
    got = rustconv.pad_backward(grad, pad_width, mode)
    close(got, ref_pad_backward(grad, shape, pad_width, mode), dtype)


# ------------------------------------------------------------------ pool


@st.composite
def pool_case(draw: Any, dilated: bool = True, padded: bool = True) -> dict[str, Any]:
    rank = draw(st.integers(1, 3), "rank")
    kernel = draw(shape_st(rank, 1, 3), "kernel")
    stride = draw(shape_st(rank, 1, 3), "stride")
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel) if padded else (0,) * rank
    dilation = draw(shape_st(rank, 1, 2)) if dilated else (1,) * rank
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    top = {1: 12, 2: 7, 3: 4}[rank]
    spatial = tuple(
        draw(st.integers(max(1, e - 2 * p), max(1, e - 2 * p) + top)) for e, p in zip(extent, padding)
    )
    batch = draw(st.sampled_from([(), (2,), (1, 3)]), "leading")
    lead_shape = batch if len(batch) == 2 else (*batch, 2)  # (C,) or (N, C)
    return {
        "rank": rank,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "ceil": draw(st.booleans(), "ceil_mode"),
        "shape": lead_shape + spatial,
        "dtype": draw(st.sampled_from([np.float32, np.float64])),
    }


def as_batched(x: np.ndarray, rank: int) -> np.ndarray:
    return x if x.ndim == rank + 2 else x[None]


@given(c=pool_case(), data=st.data())
def test_max_pool_forward_and_backward(c: dict[str, Any], data: Any) -> None:
    rank, dt = c["rank"], c["dtype"]
    x = data.draw(arrays(c["shape"], dt), "x")
    args = (c["kernel"], c["stride"], c["padding"], c["dilation"], c["ceil"])
    want, want_idx = ref_max_pool(as_batched(x, rank), rank, *args)
    try:
        got, idx = pool("max_pool{}d", rank)(x, *args, return_indices=True)
    except ValueError as exc:
        # A dilated window that lies wholly in the padding: refused (torch
        # would return -inf); only allowed when the reference shows it.
        assert "covers no input element" in str(exc)  # noqa: PT017
        assert np.isneginf(want).any()
        return
    close(got, want.reshape(got.shape), dt)
    np.testing.assert_array_equal(idx, want_idx.reshape(idx.shape))
    g = data.draw(arrays(got.shape, dt), "grad_output")
    back = pool("max_pool{}d_backward", rank)(g, idx, x.shape)
    close(back, scatter_indices(g, idx, x.shape, rank), dt)


@given(c=pool_case(dilated=False), data=st.data())
def test_avg_pool_forward_and_adjoint(c: dict[str, Any], data: Any) -> None:
    rank, dt = c["rank"], c["dtype"]
    x = data.draw(arrays(c["shape"], dt), "x")
    include = data.draw(st.booleans(), "count_include_pad")
    divisor = data.draw(st.one_of(st.none(), st.integers(1, 5)), "divisor_override")
    args = (c["kernel"], c["stride"], c["padding"], c["ceil"], include, divisor)
    want = ref_avg_pool(
        as_batched(x, rank), rank, c["kernel"], c["stride"], c["padding"], c["ceil"], include, divisor
    )
    got = pool("avg_pool{}d", rank)(x, *args)
    close(got, want.reshape(got.shape), dt)
    # The backward pass is the adjoint of the (linear) forward pass.
    g = data.draw(arrays(got.shape, dt), "grad_output")
    back = pool("avg_pool{}d_backward", rank)(g, x.shape, *args)
    lhs = float(np.vdot(got.astype(np.float64), g.astype(np.float64)))
    rhs = float(np.vdot(x.astype(np.float64), back.astype(np.float64)))
    tol = 1e-3 if dt == np.float32 else 1e-9
    assert abs(lhs - rhs) <= tol * max(1.0, abs(lhs), float(np.abs(x).sum()))


@given(c=pool_case(dilated=False, padded=False), data=st.data())
def test_lp_pool_forward_and_backward(c: dict[str, Any], data: Any) -> None:
    rank, dt = c["rank"], c["dtype"]
    x = data.draw(arrays(c["shape"], dt, 0.25, 3.0), "x")
    p = data.draw(st.sampled_from([1.0, 1.5, 2.0, 3.0]), "norm_type")
    args = (c["kernel"], c["stride"], c["ceil"])
    got = pool("lp_pool{}d", rank)(x, p, *args)
    close(got, ref_lp_pool(as_batched(x, rank), rank, p, *args).reshape(got.shape), dt)
    g = data.draw(arrays(got.shape, dt), "grad_output")
    back = pool("lp_pool{}d_backward", rank)(g, x, got, p, *args)
    want = ref_lp_pool_backward(g, x, got, rank, p, c["kernel"], c["stride"], c["ceil"])
    close(back, want, np.float32)


@given(data=st.data())
def test_adaptive_pools_forward_and_backward(data: Any) -> None:
    rank = data.draw(st.integers(1, 3), "rank")
    spatial = data.draw(shape_st(rank, 1, {1: 13, 2: 7, 3: 4}[rank]), "spatial")
    out = data.draw(shape_st(rank, 1, {1: 9, 2: 5, 3: 3}[rank]), "output_size")
    dt = data.draw(st.sampled_from([np.float32, np.float64]), "dtype")
    shape = data.draw(st.sampled_from([(2,), (1, 3)])) + spatial
    x = data.draw(arrays(shape, dt), "x")
    xb = as_batched(x, rank)
    want, _ = ref_adaptive(xb, rank, out, "avg")
    got = pool("adaptive_avg_pool{}d", rank)(x, out)
    close(got, want.reshape(got.shape), dt)
    g = data.draw(arrays(got.shape, dt), "grad_output")
    back = pool("adaptive_avg_pool{}d_backward", rank)(g, x.shape)
    lhs = float(np.vdot(got.astype(np.float64), g.astype(np.float64)))
    rhs = float(np.vdot(x.astype(np.float64), back.astype(np.float64)))
    assert abs(lhs - rhs) <= (1e-3 if dt == np.float32 else 1e-9) * max(1.0, float(np.abs(x).sum()))
    want_m, want_i = ref_adaptive(xb, rank, out, "max")
    got_m, idx = pool("adaptive_max_pool{}d", rank)(x, out, return_indices=True)
    close(got_m, want_m.reshape(got_m.shape), dt)
    np.testing.assert_array_equal(idx, want_i.reshape(idx.shape))
    back_m = pool("adaptive_max_pool{}d_backward", rank)(g, idx, x.shape)
    close(back_m, scatter_indices(g, idx, x.shape, rank), dt)


# ------------------------------------------------------------------ invalid arguments

X1 = np.ones((1, 2, 6), np.float32)
X2 = np.ones((1, 2, 6, 6), np.float32)
W2 = np.ones((3, 2, 3, 3), np.float32)
SIG = np.ones(8)

# Values that are wrong for an integer or int-tuple argument, each with the
# exception classes a caller may see.
BAD_INTS: list[Any] = [
    -1,
    -(2**40),
    2**70,
    1.5,
    "2",
    None,
    True,
    [],
    (1, 2, 3, 4),
    object(),
    2 + 1j,
    np.float64(2.0),
    [1.0, 2.0],
]
NOT_NONE = [v for v in BAD_INTS if v is not None]
NOT_SHAPE = [v for v in BAD_INTS if not isinstance(v, tuple)]
BAD_ARRAYS: list[Any] = [
    "abc",
    None,
    object(),
    np.array(["a", "b"]),
    np.array([object(), object()]),
    np.ones((2, 2), dtype="datetime64[s]"),
    {"a": 1},
    np.ones((), np.float32),
]
BAD_STRINGS: list[Any] = ["bogus", "", "FULL", None, 3, b"full", "same "]

# family → list of (function, base kwargs, argument name, bad values); the
# argument name must appear in the message (or one of the alternatives given
# with "|" ).
INVALID: list[tuple[str, Any, dict[str, Any], str, list[Any]]] = [
    ("convolve", rustconv.convolve, {"in1": SIG, "in2": SIG[:3]}, "in1", BAD_ARRAYS),
    ("convolve", rustconv.convolve, {"in1": SIG, "in2": SIG[:3]}, "mode", BAD_STRINGS),
    ("convolve", rustconv.convolve, {"in1": SIG, "in2": SIG[:3]}, "method", BAD_STRINGS),
    ("convolve", rustconv.convolve, {"in1": SIG, "in2": SIG[:3]}, "workers", [0, -1000, 1.5, "2", True]),
    (
        "convolve2d",
        rustconv.convolve2d,
        {"in1": np.ones((4, 4)), "in2": np.ones((2, 2))},
        "boundary",
        BAD_STRINGS,
    ),
    (
        "convolve2d",
        rustconv.convolve2d,
        {"in1": np.ones((4, 4)), "in2": np.ones((2, 2))},
        "fillvalue",
        [np.ones(2), "x", object()],
    ),
    (
        "convolve2d",
        rustconv.convolve2d,
        {"in1": np.ones((4, 4)), "in2": np.ones((2, 2))},
        "in1",
        [SIG, np.ones((2, 2, 2))],
    ),
    ("correlation_lags", rustconv.correlation_lags, {"in1_len": 4, "in2_len": 3}, "mode", BAD_STRINGS),
    (
        "fftconvolve",
        rustconv.fftconvolve,
        {"in1": SIG, "in2": SIG[:3]},
        "axes",
        [5, -5, [0, 0], "x", 1.5, []],
    ),
    ("fftconvolve", rustconv.fftconvolve, {"in1": SIG, "in2": SIG[:3]}, "in1", BAD_ARRAYS),
    ("oaconvolve", rustconv.oaconvolve, {"in1": SIG, "in2": SIG[:3]}, "mode", BAD_STRINGS),
    ("conv2d", rustconv.conv2d, {"input": X2, "weight": W2}, "stride", [*BAD_INTS, 0]),
    ("conv2d", rustconv.conv2d, {"input": X2, "weight": W2}, "padding", [*BAD_INTS, "bogus"]),
    ("conv2d", rustconv.conv2d, {"input": X2, "weight": W2}, "dilation", [*BAD_INTS, 0]),
    ("conv2d", rustconv.conv2d, {"input": X2, "weight": W2}, "groups", [*BAD_INTS, 0, 4]),
    ("conv2d", rustconv.conv2d, {"input": X2, "weight": W2}, "padding_mode", BAD_STRINGS),
    (
        "conv2d",
        rustconv.conv2d,
        {"input": X2, "weight": W2},
        "input",
        [*BAD_ARRAYS, X1, np.ones((1, 3, 6, 6), np.float32), X2.astype(np.int32), X2.astype(np.complex64)],
    ),
    (
        "conv2d",
        rustconv.conv2d,
        {"input": X2, "weight": W2},
        "bias",
        [np.ones(2, np.float32), "x", np.ones((3, 1))],
    ),
    (
        "conv2d",
        rustconv.conv2d,
        {"input": X2, "weight": W2},
        "weight",
        [*BAD_ARRAYS, np.ones((3, 2, 9, 9), np.float32)],
    ),
    (
        "conv_transpose2d",
        rustconv.conv_transpose2d,
        {"input": X2, "weight": np.ones((2, 3, 3, 3), np.float32), "stride": 2},
        "output_padding",
        [*BAD_INTS, 2],
    ),
    (
        "conv2d_input",
        rustconv.conv2d_input,
        {"weight": W2, "grad_output": np.ones((1, 3, 4, 4), np.float32)},
        "input_size",
        [*BAD_INTS, (1, 2, 9, 9)],
    ),
    (
        "conv2d_weight",
        rustconv.conv2d_weight,
        {"input": X2, "grad_output": np.ones((1, 3, 4, 4), np.float32)},
        "weight_size",
        [*BAD_INTS, (3, 2, 5, 5)],
    ),
    (
        "conv_output_shape",
        rustconv.conv_output_shape,
        {"input_shape": (6, 6), "kernel_size": 3},
        "stride",
        [*BAD_INTS, 0],
    ),
    (
        "conv_output_shape",
        rustconv.conv_output_shape,
        {"input_shape": (6, 6), "kernel_size": 3},
        "input_shape",
        BAD_INTS,
    ),
    ("pad", rustconv.pad, {"array": np.ones((3, 3))}, "pad_width", [*BAD_INTS, [(1, 2)] * 3, [(1, 2, 3)]]),
    ("pad", rustconv.pad, {"array": np.ones((3, 3)), "pad_width": 1}, "mode", [*BAD_STRINGS, "median"]),
    (
        "pad",
        rustconv.pad,
        {"array": np.ones((3, 3)), "pad_width": 1},
        "constant_values",
        ["x", object(), np.ones(5)],
    ),
    (
        "pad",
        rustconv.pad,
        {"array": np.ones((3, 3)), "pad_width": 1},
        "array",
        [np.array([object()]), object()],
    ),
    ("pad", rustconv.pad, {"array": np.ones((3, 3)), "pad_width": 1}, "workers", [0, 1.5, "1", True]),
    ("pad_backward", rustconv.pad_backward, {"grad": np.ones((5, 5))}, "pad_width", [*BAD_INTS, 3]),
    (
        "pad_backward",
        rustconv.pad_backward,
        {"grad": np.ones((5, 5)), "pad_width": 1},
        "grad",
        [np.array([["a"]]), "x", None, np.ones(3, "datetime64[s]")],
    ),
    ("max_pool2d", rustconv.max_pool2d, {"input": X2}, "kernel_size", [*BAD_INTS, 0, 7]),
    ("max_pool2d", rustconv.max_pool2d, {"input": X2, "kernel_size": 2}, "stride", [*NOT_NONE, 0]),
    ("max_pool2d", rustconv.max_pool2d, {"input": X2, "kernel_size": 2}, "padding", [*BAD_INTS, 2]),
    ("max_pool2d", rustconv.max_pool2d, {"input": X2, "kernel_size": 2}, "dilation", [*BAD_INTS, 0]),
    (
        "max_pool2d",
        rustconv.max_pool2d,
        {"input": X2, "kernel_size": 2},
        "input",
        [*BAD_ARRAYS, X1[0], X2.astype(np.int64)],
    ),
    (
        "max_pool2d_backward",
        rustconv.max_pool2d_backward,
        {"grad_output": np.ones((1, 2, 3, 3), np.float32), "input_shape": (1, 2, 6, 6)},
        "indices",
        [
            np.full((1, 2, 3, 3), 36),
            np.full((1, 2, 3, 3), -1),
            np.ones((1, 2, 3, 3)),
            np.zeros((1, 2, 2, 2), np.int64),
            "x",
        ],
    ),
    (
        "max_pool2d_backward",
        rustconv.max_pool2d_backward,
        {"grad_output": np.ones((1, 2, 3, 3), np.float32), "indices": np.zeros((1, 2, 3, 3), np.int64)},
        "input_shape",
        [*NOT_SHAPE, (1, 2, -6, 6), (1, 3, 6, 6)],
    ),
    ("avg_pool2d", rustconv.avg_pool2d, {"input": X2, "kernel_size": 2}, "divisor_override", [*NOT_NONE, 0]),
    (
        "avg_pool2d_backward",
        rustconv.avg_pool2d_backward,
        {"grad_output": np.ones((1, 2, 3, 3)), "kernel_size": 2},
        "input_shape",
        [*NOT_SHAPE, (1, 2, 9, 9)],
    ),
    (
        "lp_pool2d",
        rustconv.lp_pool2d,
        {"input": X2, "kernel_size": 2},
        "norm_type",
        [0, -1.0, float("nan"), float("inf"), "2", None, 1j],
    ),
    (
        "adaptive_avg_pool2d",
        rustconv.adaptive_avg_pool2d,
        {"input": X2},
        "output_size",
        [*NOT_NONE, 0, (0, 2)],
    ),
    ("adaptive_max_pool2d", rustconv.adaptive_max_pool2d, {"input": X2}, "output_size", [*NOT_NONE, 0]),
    (
        "adaptive_avg_pool2d_backward",
        rustconv.adaptive_avg_pool2d_backward,
        {"grad_output": np.ones((1, 2, 3, 3))},
        "input_shape",
        [*NOT_SHAPE, (1, 2, 0, 6)],
    ),
    (
        "pool_output_shape",
        rustconv.pool_output_shape,
        {"input_shape": (1, 1, 6, 6)},
        "kernel_size",
        [*BAD_INTS, 0, 9],
    ),
    ("set_num_threads", rustconv.set_num_threads, {}, "n", [-1, 1.5, "2", None, True, 2**70]),
]

ALLOWED = (ValueError, TypeError, OverflowError, MemoryError)

# (function name, argument, bad value repr) whose message does not name the
# argument. Each is a finding reported in docs/bad_inputs.md; the class is
# still checked.
UNNAMED: set[tuple[str, str]] = set()


def check_invalid(name: str, fn: Any, base: dict[str, Any], arg: str, bad: Any) -> BaseException:
    kwargs = dict(base)
    kwargs[arg] = bad
    try:
        fn(**kwargs)
    except ALLOWED as exc:
        caught: BaseException = exc
    except BaseException as exc:  # a PanicException is a BaseException: the failure we test for
        pytest.fail(f"{name}({arg}={bad!r}) raised {type(exc).__name__}: {exc}")
    else:
        pytest.fail(f"{name}({arg}={bad!r}) was accepted")
    # Still usable afterwards.
    assert rustconv.conv1d(X1, np.ones((1, 2, 3), np.float32)).shape == (1, 1, 4)
    return caught


def names_argument(exc: BaseException, arg: str) -> bool:
    msg = str(exc).lower()
    words = {arg, arg.replace("_", " ")}
    # A few arguments are named by the function's own vocabulary.
    words |= {
        "in1": {"in1", "input"},
        "input_shape": {"input_shape", "input shape"},
        "n": {"n ", "n must", "thread"},
    }.get(arg, set())
    return any(w in msg for w in words)


@pytest.mark.parametrize(
    ("name", "fn", "base", "arg", "bads"),
    INVALID,
    ids=[f"{row[0]}-{row[3]}" for row in INVALID],
)
def test_each_invalid_argument_raises_a_named_error(
    name: str, fn: Any, base: dict[str, Any], arg: str, bads: list[Any]
) -> None:
    unnamed = []
    for bad in bads:
        exc = check_invalid(name, fn, base, arg, bad)
        if not names_argument(exc, arg):
            unnamed.append(f"{bad!r} -> {type(exc).__name__}: {exc}")
    assert not unnamed, f"{name}: the message does not name {arg!r}:\n" + "\n".join(unnamed)


@given(
    row=st.sampled_from(INVALID),
    data=st.data(),
)
def test_invalid_arguments_combined(row: Any, data: Any) -> None:
    """Two bad arguments at once (or a bad one next to odd valid ones) still
    give a clean error from one of them, never a crash."""
    _, fn, base, arg, bads = row
    other = data.draw(st.sampled_from([r for r in INVALID if r[1] is fn and r[3] != arg] or [row]))
    kwargs = dict(base)
    kwargs[other[3]] = data.draw(st.sampled_from(other[4]))
    kwargs[arg] = data.draw(st.sampled_from(bads))
    with pytest.raises(ALLOWED):
        fn(**kwargs)


def test_messages_are_sentences() -> None:
    """Spot check: messages say what was given and what is allowed."""
    with pytest.raises(ValueError, match=re.escape("stride")) as info:
        rustconv.conv2d(X2, W2, stride=0)
    assert "0" in str(info.value)
    with pytest.raises(ValueError, match="mode") as info:
        rustconv.convolve(SIG, SIG, mode="bogus")
    assert "full" in str(info.value)
