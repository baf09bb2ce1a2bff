"""rustconv.pad against numpy.pad, and pad_backward against its adjoint."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rustconv
from rustconv import _rustconv

# rustconv's mode name -> numpy.pad's.
MODES = {
    "constant": "constant",
    "zeros": "constant",
    "edge": "edge",
    "replicate": "edge",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "wrap": "wrap",
    "circular": "wrap",
}
DTYPES = [
    np.bool_,
    np.int8,
    np.uint8,
    np.int16,
    np.uint16,
    np.int32,
    np.uint32,
    np.int64,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.longdouble,
    np.complex64,
    np.complex128,
]


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return np.asarray(rng.random(shape) < 0.5)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
    values = rng.standard_normal(shape) * 100
    if dt.kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return np.asarray(values).astype(dt)


def same(got: np.ndarray, want: np.ndarray) -> None:
    """Same shape, dtype (byte order included), C order and bits."""
    assert isinstance(got, np.ndarray)
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    assert got.flags.c_contiguous
    if got.dtype.kind == "f" and got.dtype.itemsize > 8:
        # long double leaves unused padding bytes undefined in both results.
        np.testing.assert_array_equal(got, want)
    else:
        assert got.tobytes() == np.ascontiguousarray(want).tobytes(), (got, want)


def strided(rng: np.random.Generator, a: np.ndarray) -> np.ndarray:
    """The same values behind another memory layout."""
    kind = rng.integers(0, 5)
    if kind == 0 or a.ndim == 0:
        return a
    if kind == 1:
        return np.asfortranarray(a)
    if kind == 2:
        axis = int(rng.integers(0, a.ndim))
        b = np.flip(a, axis).copy()
        return np.flip(b, axis)
    if kind == 3:
        big = np.zeros(tuple(2 * d + 1 for d in a.shape), dtype=a.dtype)
        sl = tuple(slice(1, 2 * d + 1, 2) for d in a.shape)
        big[sl] = a
        return big[sl]
    perm = rng.permutation(a.ndim)
    return np.transpose(np.ascontiguousarray(np.transpose(a, perm)), np.argsort(perm))


def random_pad_width(rng: np.random.Generator, shape: tuple[int, ...]) -> Any:
    ndim = len(shape)

    def width() -> int:
        return int(rng.integers(0, 12 if rng.random() < 0.3 else 4))

    form = rng.integers(0, 7) if ndim else 0
    if form == 0:
        return width()
    if form == 1:
        return (width(),)
    if form == 2:
        return (width(), width())
    if form == 3:
        return tuple((width(), width()) for _ in range(ndim))
    if form == 4:
        return np.array([[width(), width()] for _ in range(ndim)], dtype=np.int32).reshape(ndim, 2)
    if form == 5:
        return [[width()] for _ in range(ndim)] if ndim != 2 else ((width(),),)
    return {
        k: width() if rng.random() < 0.5 else (width(), width()) for k in range(ndim) if rng.random() < 0.6
    }


def random_shape(rng: np.random.Generator, allow_empty: bool) -> tuple[int, ...]:
    ndim = int(rng.integers(0, 5))
    low = 0 if allow_empty else 1
    return tuple(int(rng.integers(low, 6)) for _ in range(ndim))


def numpy_pad(a: np.ndarray, pad_width: Any, mode: str, **kw: Any) -> np.ndarray:
    return np.pad(a, pad_width, MODES[mode], **kw)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_matches_numpy_pad_random(mode: str) -> None:
    rng = np.random.default_rng(list(MODES).index(mode))
    for _ in range(150):
        shape = random_shape(rng, allow_empty=MODES[mode] == "constant")
        a = strided(rng, random_array(rng, shape, DTYPES[int(rng.integers(0, len(DTYPES)))]))
        pad_width = random_pad_width(rng, shape)
        same(rustconv.pad(a, pad_width, mode), numpy_pad(a, pad_width, mode))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_every_dtype(dtype: Any, mode: str) -> None:
    rng = np.random.default_rng(3)
    a = random_array(rng, (3, 5, 4), dtype)
    pw = ((1, 2), (7, 0), (3, 9))
    kw = {"constant_values": ((1, 0), (2, 3), (0, 1))} if mode == "constant" else {}
    same(rustconv.pad(a, pw, mode, **kw), np.pad(a, pw, mode, **kw))


def test_nan_payloads_and_signed_zeros_are_kept() -> None:
    bits = np.array(
        [0x7FF8000000000001, 0xFFF0000000000000, 0x8000000000000000, 0x7FF4DEADBEEF0000], np.uint64
    )
    a = bits.view(np.float64)
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        same(rustconv.pad(a, 5, mode), np.pad(a, 5, mode))
    same(rustconv.pad(a, 2, constant_values=-0.0), np.pad(a, 2, constant_values=-0.0))


def test_non_native_byte_order_and_read_only() -> None:
    rng = np.random.default_rng(4)
    for dtype in (">f8", ">i4", ">c8", "<f4", ">u2"):
        a = random_array(rng, (4, 3), np.dtype(dtype).newbyteorder("=")).astype(dtype)
        a.setflags(write=False)
        for mode in ("constant", "reflect", "wrap"):
            kw = {"constant_values": 7} if mode == "constant" else {}
            same(rustconv.pad(a, ((2, 1), (0, 5)), mode, **kw), np.pad(a, ((2, 1), (0, 5)), mode, **kw))


def test_wide_pads_repeat_the_pattern() -> None:
    for n in (1, 2, 3, 4, 7):
        a = np.arange(n, dtype=np.int64) * 10
        for mode in ("edge", "reflect", "symmetric", "wrap"):
            for pw in ((0, 23), (23, 0), (17, 29), (2 * n + 1, 3 * n)):
                same(rustconv.pad(a, pw, mode), np.pad(a, pw, mode))


def test_zero_d_and_zero_size() -> None:
    scalar = np.array(3.5)
    for pw in (0, 3, (1, 2), ((1, 2),)):
        for mode in ("constant", "edge", "reflect", "symmetric", "wrap"):
            same(rustconv.pad(scalar, pw, mode), np.pad(scalar, pw, mode))
    # numpy.pad rejects these empty forms as non-integer; for a 0-d array they mean "no padding".
    for pw in ({}, [], ()):
        same(rustconv.pad(scalar, pw, "reflect"), scalar)
    empty = np.zeros((0, 3), np.int16)
    same(rustconv.pad(empty, 2, constant_values=5), np.pad(empty, 2, constant_values=5))
    same(rustconv.pad(empty, ((0, 0), (2, 1)), "reflect"), np.pad(empty, ((0, 0), (2, 1)), "reflect"))
    same(
        rustconv.pad(np.zeros((2, 0)), ((1, 1), (0, 0)), "wrap"),
        np.pad(np.zeros((2, 0)), ((1, 1), (0, 0)), "wrap"),
    )
    same(
        rustconv.pad(np.zeros((3, 0, 2)), ((1, 1), (2, 0), (0, 1)), constant_values=((1, 2), (3, 4), (5, 6))),
        np.pad(np.zeros((3, 0, 2)), ((1, 1), (2, 0), (0, 1)), constant_values=((1, 2), (3, 4), (5, 6))),
    )


@pytest.mark.parametrize(
    "values",
    [
        0,
        -3,
        2.5,
        (1, 2),
        [[4, 5]],
        ((1, 2), (3, 4), (5, 6)),
        [[1], [2], [3]],
        np.array([[7], [8], [9]]),
        True,
    ],
)
def test_constant_values_forms(values: Any) -> None:
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    pw = ((1, 2), (2, 1), (3, 3))
    same(rustconv.pad(a, pw, constant_values=values), np.pad(a, pw, constant_values=values))
    b = a.astype(np.int8)
    same(rustconv.pad(b, pw, constant_values=values), np.pad(b, pw, constant_values=values))


def test_constant_values_cast_like_numpy() -> None:
    a = np.arange(5, dtype=np.uint8)
    for values in (255, 2.9, -1.5, np.int64(300), True):
        with np.errstate(all="ignore"):
            same(rustconv.pad(a, 2, constant_values=values), np.pad(a, 2, constant_values=values))
    same(rustconv.pad(a.astype(bool), 2, constant_values=3), np.pad(a.astype(bool), 2, constant_values=3))
    c = np.arange(3, dtype=np.complex64)
    same(rustconv.pad(c, 1, constant_values=(1 + 2j, -1j)), np.pad(c, 1, constant_values=(1 + 2j, -1j)))


def test_pad_width_forms() -> None:
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    forms: list[Any] = [
        1,
        (2,),
        (1, 3),
        [[1, 2]],
        ((1, 2), (0, 0), (3, 1)),
        np.array([[1], [2], [3]]),
        np.int64(2),
        {0: 2},
        {-1: (1, 3), 1: 0},
        [[0, 1]] * 3,
    ]
    for pw in forms:
        same(
            rustconv.pad(a, pw, "symmetric"),
            np.pad(a, pw, "symmetric"),
        )
    # For a 2-d array, (1, 2) means (before, after) for every axis, not one width per axis.
    b = np.arange(6).reshape(2, 3)
    same(rustconv.pad(b, (1, 2), "edge"), np.pad(b, (1, 2), "edge"))
    same(rustconv.pad(b, [[1], [2]], "edge"), np.pad(b, [[1], [2]], "edge"))


def test_inputs_are_not_modified() -> None:
    rng = np.random.default_rng(9)
    a = rng.standard_normal((4, 5))
    before = a.copy()
    cv = np.array([[1.0, 2.0], [3.0, 4.0]])
    cv_before = cv.copy()
    pw = [[1, 2], [3, 4]]
    rustconv.pad(a, pw, constant_values=cv)
    for mode in ("reflect", "edge"):
        out = rustconv.pad(a, pw, mode)
        out[...] = 0
        g = rng.standard_normal(out.shape)
        g_before = g.copy()
        rustconv.pad_backward(g, pw, mode)
        np.testing.assert_array_equal(g, g_before)
    np.testing.assert_array_equal(a, before)
    np.testing.assert_array_equal(cv, cv_before)
    assert pw == [[1, 2], [3, 4]]


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_bitwise_identical_for_every_thread_count(mode: str) -> None:
    rng = np.random.default_rng(12)
    a = rng.standard_normal((3, 7, 61, 83)).astype(np.float32)
    pw = ((0, 1), (2, 0), (5, 5), (40, 3))
    results = [rustconv.pad(a, pw, mode, workers=w) for w in (1, 2, 3, -1)]
    grads = [rustconv.pad_backward(results[0], pw, mode, workers=w) for w in (1, 2, 3, -1)]
    for r in results[1:]:
        same(r, results[0])
    for g in grads[1:]:
        same(g, grads[0])
    same(results[0], np.pad(a, pw, mode))


# --- pad_backward ---


def scatter_add_reference(grad: np.ndarray, shape: tuple[int, ...], pad_width: Any, mode: str) -> np.ndarray:
    """Adds each gradient element onto the input element numpy.pad copied there."""
    if isinstance(pad_width, (list, tuple)) and not pad_width:
        pad_width = 0  # numpy.pad takes no empty pad list for a 0-d array
    size = int(np.prod(shape))
    source = np.arange(size).reshape(shape)
    np_mode = MODES[mode]
    if np_mode == "constant":
        index = np.pad(source, pad_width, "constant", constant_values=-1)
    else:
        index = np.pad(source, pad_width, np_mode)
    out = np.zeros(
        size, dtype=np.result_type(grad.dtype, np.float32) if grad.dtype.kind != "c" else grad.dtype
    )
    keep = index >= 0
    np.add.at(out, index[keep], grad[keep])
    return out.reshape(shape)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_backward_matches_scatter_add(mode: str) -> None:
    rng = np.random.default_rng(20 + list(MODES).index(mode))
    for _ in range(100):
        shape = random_shape(rng, allow_empty=MODES[mode] == "constant")
        pw = random_pad_width(rng, shape)
        padded_shape = np.pad(np.zeros(shape), pw).shape
        # Integer-valued gradients sum exactly in any order.
        g = strided(rng, rng.integers(-50, 50, padded_shape).astype(np.float64))
        got = rustconv.pad_backward(g, pw, mode)
        want = scatter_add_reference(g, shape, pw, mode)
        same(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_adjoint_identity(dtype: Any, mode: str) -> None:
    rng = np.random.default_rng(31)
    for shape, pw in (
        ((5, 6), ((2, 3), (1, 9))),
        ((4, 3, 7), 2),
        ((9,), (20, 11)),
        ((2, 1, 3, 4), ((0, 1), (2, 2), (0, 0), (3, 1))),
    ):
        x = random_array(rng, shape, dtype) / 100
        px = rustconv.pad(x, pw, mode)
        g = random_array(rng, px.shape, dtype) / 100
        gx = rustconv.pad_backward(g, pw, mode)
        assert gx.dtype == np.dtype(dtype)
        lhs = np.vdot(g, px)
        rhs = (
            np.vdot(rustconv.pad_backward(g, pw, mode), x)
            if dtype in (np.complex64, np.complex128)
            else np.vdot(gx, x)
        )
        tol = 1e-4 if np.dtype(dtype).itemsize * (2 if np.dtype(dtype).kind == "f" else 1) <= 8 else 1e-11
        assert abs(lhs - rhs) <= tol * (abs(lhs) + 1), (lhs, rhs)
        ref = scatter_add_reference(
            g.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64), shape, pw, mode
        )
        np.testing.assert_allclose(gx, ref, rtol=tol, atol=tol)


def test_backward_dtypes() -> None:
    g = np.arange(12, dtype=np.int32).reshape(3, 4)
    out = rustconv.pad_backward(g, 1, "reflect")
    assert out.dtype == np.float64
    same(out, scatter_add_reference(g.astype(np.float64), (1, 2), 1, "reflect"))
    assert rustconv.pad_backward(g.astype(np.float16), 1, "edge").dtype == np.float32
    assert rustconv.pad_backward(g > 5, 1, "wrap").dtype == np.float64
    big_endian = np.arange(10.0).astype(">f8")
    same(
        rustconv.pad_backward(big_endian, 2, "edge"), scatter_add_reference(np.arange(10.0), (6,), 2, "edge")
    )
    assert rustconv.pad_backward(np.array(2.5), (), "reflect") == 2.5


# --- torch ---


def _torch() -> Any:
    return pytest.importorskip("torch")


@pytest.mark.parametrize("spatial", [1, 2, 3])
@pytest.mark.parametrize(
    ("mode", "torch_mode"),
    [("reflect", "reflect"), ("replicate", "replicate"), ("circular", "circular"), ("constant", "constant")],
)
def test_matches_torch_pad(spatial: int, mode: str, torch_mode: str) -> None:
    torch = _torch()
    F = torch.nn.functional
    rng = np.random.default_rng(40 + spatial)
    for _ in range(10):
        sizes = tuple(int(rng.integers(2, 8)) for _ in range(spatial))
        x = rng.standard_normal((2, 3, *sizes))
        # torch limits reflect pads to size - 1 and circular pads to the size.
        limit = [s - 1 if torch_mode == "reflect" else s for s in sizes]
        pads = [(int(rng.integers(0, m + 1)), int(rng.integers(0, m + 1))) for m in limit]
        torch_pad = [p for pair in reversed(pads) for p in pair]
        pw = ((0, 0), (0, 0), *pads)
        t = torch.tensor(x, requires_grad=True)
        kw = {"value": 1.5} if torch_mode == "constant" else {}
        y = F.pad(t, torch_pad, mode=torch_mode, **kw)
        got = rustconv.pad(x, pw, mode, **({"constant_values": 1.5} if mode == "constant" else {}))
        np.testing.assert_array_equal(got, y.detach().numpy())
        g = rng.standard_normal(y.shape)
        y.backward(torch.tensor(g))
        np.testing.assert_allclose(rustconv.pad_backward(g, pw, mode), t.grad.numpy(), rtol=1e-12, atol=1e-12)


# --- hypothesis ---


@st.composite
def pad_cases(draw: st.DrawFn) -> tuple[np.ndarray, list[tuple[int, int]], str]:
    mode = draw(st.sampled_from(sorted(MODES)))
    min_size = 0 if MODES[mode] == "constant" else 1
    shape = draw(st.lists(st.integers(min_size, 6), min_size=0, max_size=4))
    pads = [(draw(st.integers(0, 15)), draw(st.integers(0, 15))) for _ in shape]
    dtype = draw(st.sampled_from([np.int16, np.float32, np.complex128, np.bool_]))
    seed = draw(st.integers(0, 2**32 - 1))
    return random_array(np.random.default_rng(seed), tuple(shape), dtype), pads, mode


@settings(max_examples=300, deadline=None)
@given(pad_cases(), st.integers(1, 3))
def test_hypothesis_against_numpy(case: tuple[np.ndarray, list[tuple[int, int]], str], workers: int) -> None:
    a, pads, mode = case
    # numpy.pad takes no empty pad list for a 0-d array.
    same(rustconv.pad(a, pads, mode, workers=workers), numpy_pad(a, pads or 0, mode))
    if a.dtype.kind in "fc":
        g = np.pad(a, pads or 0, MODES[mode])
        got = rustconv.pad_backward(g, pads, mode, workers=workers)
        assert got.dtype == g.dtype
        want = scatter_add_reference(g.astype(np.complex128), a.shape, pads, mode)
        # Sequential sums of up to g.size terms, in another order than the reference.
        eps = float(np.finfo(g.dtype).eps)
        tol = float(np.abs(g).sum()) * g.size * eps
        np.testing.assert_allclose(got, want, rtol=0, atol=tol)


# --- errors ---


def still_works() -> None:
    same(rustconv.pad(np.arange(4), 2, "reflect"), np.array([2, 1, 0, 1, 2, 3, 2, 1]))
    same(rustconv.pad_backward(np.ones(6), 1, "edge"), np.array([2.0, 1.0, 1.0, 2.0]))


ERRORS: list[tuple[Any, type[Exception], str]] = [
    (lambda: rustconv.pad(np.zeros(3), -1), ValueError, "pad_width must not contain negative"),
    (
        lambda: rustconv.pad(np.zeros((3, 3)), ((1, -2), (0, 0))),
        ValueError,
        "pad_width must not contain negative",
    ),
    (lambda: rustconv.pad(np.zeros(3), 1.5), TypeError, "pad_width must be of integral type"),
    (lambda: rustconv.pad(np.zeros(3), True), TypeError, "pad_width must be of integral type"),
    (lambda: rustconv.pad(np.zeros(3), "ab"), TypeError, "pad_width"),
    (lambda: rustconv.pad(np.zeros(3), ((1, 2), (3, 4))), ValueError, "pad_width of shape (2, 2)"),
    (lambda: rustconv.pad(np.zeros((3, 3)), ((1, 2), (3,))), ValueError, "pad_width must be an int"),
    (lambda: rustconv.pad(np.zeros((3, 3)), {2: 1}), ValueError, "pad_width names axis 2"),
    (lambda: rustconv.pad(np.zeros((3, 3)), {"a": 1}), TypeError, "pad_width's keys"),
    (lambda: rustconv.pad(np.zeros(3), 1, "foo"), ValueError, "mode must be one of"),
    (lambda: rustconv.pad(np.zeros(3), 1, "mean"), ValueError, "mode 'mean' of numpy.pad is not supported"),
    (lambda: rustconv.pad(np.zeros(3), 1, np.mean), TypeError, "mode must be a str"),
    (lambda: rustconv.pad(np.zeros(3), 1, "reflect", reflect_type="odd"), ValueError, "reflect_type"),
    (lambda: rustconv.pad(np.zeros((0, 3)), 1, "edge"), ValueError, "cannot extend the empty axis 0"),
    (lambda: rustconv.pad(np.zeros((2, 0)), ((0, 0), (0, 1)), "wrap"), ValueError, "empty axis 1"),
    (lambda: rustconv.pad(np.array(["a", "b"]), 1), TypeError, "array has dtype <U1"),
    (lambda: rustconv.pad(np.array([None, 1]), 1), TypeError, "array has dtype object"),
    (lambda: rustconv.pad(np.zeros(3, np.clongdouble), 1), TypeError, "array has dtype complex256"),
    (lambda: rustconv.pad(np.zeros(3), 1, constant_values="x"), TypeError, "constant_values must be numeric"),
    (
        lambda: rustconv.pad(np.zeros(3), 1, constant_values=((1, 2), (3, 4))),
        ValueError,
        "constant_values of shape (2, 2)",
    ),
    (
        lambda: rustconv.pad(np.zeros(3), 1, "zeros", constant_values=2),
        ValueError,
        "mode 'zeros' pads with 0",
    ),
    (lambda: rustconv.pad(np.zeros(3), 2**62), ValueError, "too large"),
    (lambda: rustconv.pad(np.zeros((3, 3)), 2**31), ValueError, "too large"),
    (lambda: rustconv.pad(np.zeros(3), 2**40), MemoryError, "allocate"),
    (lambda: rustconv.pad(np.zeros(3), 1, workers=0), ValueError, "workers=0"),
    (lambda: rustconv.pad(np.zeros(3), 1, workers=1.5), TypeError, "workers must be None or an int"),
    (lambda: rustconv.pad_backward(np.zeros(3), 2, "reflect"), ValueError, "grad has length 3 along axis 0"),
    (
        lambda: rustconv.pad_backward(np.zeros((5, 1)), ((1, 1), (1, 1)), "edge"),
        ValueError,
        "grad has length 1 along axis 1",
    ),
    (
        lambda: rustconv.pad_backward(np.zeros(4), ((2, 2),), "edge"),
        ValueError,
        "cannot extend the empty axis 0 of grad",
    ),
    (lambda: rustconv.pad_backward(np.array(["a"]), 0), TypeError, "grad"),
    (lambda: rustconv.pad_backward(np.zeros(3, np.longdouble), 1), TypeError, "grad has dtype float128"),
    (lambda: rustconv.pad_backward(np.zeros(3), -1), ValueError, "pad_width must not contain negative"),
    (lambda: rustconv.pad_backward(np.zeros(3), 1, "linear_ramp"), ValueError, "mode 'linear_ramp'"),
    (lambda: rustconv.pad_backward(np.zeros(3), 1, "mirror"), ValueError, "mode must be one of"),
    (lambda: rustconv.pad_backward(np.zeros(3), 1, workers=-1000), ValueError, "workers=-1000"),
    # The private bindings check what the wrappers normally guarantee.
    (lambda: _rustconv._pad(np.zeros(3), [(1, 1)], "constant"), TypeError, "array has dtype float64"),
    (
        lambda: _rustconv._pad(np.zeros(3, np.uint64), [(1, 1), (1, 1)], "edge"),
        ValueError,
        "one (before, after) pair per dimension",
    ),
    (
        lambda: _rustconv._pad(np.zeros(3, np.uint64), [(1, 1)], "constant", np.zeros(3, np.uint64)),
        ValueError,
        "constant_values must hold",
    ),
    (
        lambda: _rustconv._pad(np.zeros(3, np.uint64), [(1, 1)], "constant", np.zeros(2, np.uint8)),
        TypeError,
        "constant_values",
    ),
    (lambda: _rustconv._pad([1, 2], [(1, 1)], "edge"), TypeError, "array must be a numpy.ndarray"),
    (
        lambda: _rustconv._pad_backward(np.zeros(3, np.int64), [(1, 1)], "edge"),
        TypeError,
        "grad has dtype int64",
    ),
]


@pytest.mark.parametrize(("call", "error", "message"), ERRORS)
def test_errors(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
    still_works()


def test_broadcast_and_negative_stride_views() -> None:
    row = np.arange(5, dtype=np.int32)
    for view in (
        np.broadcast_to(row, (4, 5)),
        np.broadcast_to(row[:, None], (5, 3)),
        row[::-2],
        np.arange(24.0).reshape(4, 6)[::-1, ::-3],
    ):
        for mode in ("constant", "edge", "reflect", "symmetric", "wrap"):
            same(rustconv.pad(view, 3, mode), np.pad(view, 3, mode))
            g = np.pad(view.astype(np.float64), 3, mode)
            np.testing.assert_array_equal(
                rustconv.pad_backward(g, 3, mode), scatter_add_reference(g, view.shape, 3, mode)
            )


_THREAD_PROBE = """
import os
import numpy as np
import rustconv

def threads():
    return len(os.listdir("/proc/self/task"))

x = np.ones((8, 16, 96, 96), dtype=np.float32)
before = threads()
padded = rustconv.pad(x, ((0, 0), (0, 0), (3, 3), (3, 3)), mode="reflect", workers=1)
rustconv.pad_backward(padded, ((0, 0), (0, 0), (3, 3), (3, 3)), mode="reflect", workers=1)
rustconv.pad(x[:1, :1, :5, :5], 2, mode="wrap", workers=2)
inline = threads()
rustconv.pad(x, 3, mode="edge", workers=2)
print(before, inline, threads())
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc")
def test_one_worker_and_small_jobs_run_on_the_calling_thread() -> None:
    # In a fresh interpreter no pool exists yet: one worker (or a job too
    # small to split) must start no thread, neither a pool of one nor
    # Rayon's global pool; a large job with two workers starts its pool,
    # which shows that the count would see them.
    result = subprocess.run(
        [sys.executable, "-c", _THREAD_PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    before, inline, after = map(int, result.stdout.split())
    assert inline == before
    assert after == before + 2
