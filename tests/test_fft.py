"""rustconv.fftconvolve / oaconvolve against scipy.signal 1.17."""

from __future__ import annotations

import itertools
import zlib
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rustconv

signal = pytest.importorskip("scipy.signal")

FUNCS = [
    (rustconv.fftconvolve, signal.fftconvolve),
    (rustconv.oaconvolve, signal.oaconvolve),
]
IDS = ["fftconvolve", "oaconvolve"]
MODES = ["full", "same", "valid"]


def tolerance(dtype: np.dtype[Any]) -> float:
    return 1e-5 if dtype in (np.float32, np.complex64) else 1e-11


def random(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0, 50, shape).astype(dtype)
    values = rng.standard_normal(shape)
    if dtype.kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return values.astype(dtype)


def assert_matches(got: Any, want: Any, tol: float | None = None) -> None:
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    assert got.flags.c_contiguous
    if want.size == 0:
        return
    scale = np.linalg.norm(want.astype(np.complex128))
    error = np.linalg.norm(got.astype(np.complex128) - want.astype(np.complex128))
    tol = tolerance(want.dtype) if tol is None else tol
    assert error <= tol * max(scale, 1e-30), (error, scale)


def compare(ours: Any, theirs: Any, *args: Any, **kwargs: Any) -> None:
    """Same result as scipy, or the same exception class when scipy raises."""
    try:
        want = theirs(*args, **kwargs)
    except Exception as exc:
        with pytest.raises(next(c for c in (ValueError, TypeError) if isinstance(exc, c))):
            ours(*args, **kwargs)
        return
    # scipy transforms a float32 input in float32 even when the result is
    # float64, so its reference is only that accurate.
    single = any(np.asarray(a).dtype in (np.float16, np.float32, np.complex64) for a in args[:2])
    assert_matches(ours(*args, **kwargs), want, 1e-5 if single else None)


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("s1", "s2"),
    [
        ((1,), (1,)),
        ((7,), (3,)),
        ((3,), (7,)),
        ((8,), (8,)),
        ((97,), (13,)),
        ((1000,), (101,)),
        ((5000,), (31,)),
        ((101,), (400,)),
        ((9, 11), (3, 4)),
        ((4, 17), (6, 5)),
        ((64, 61), (7, 7)),
        ((128, 100), (15, 16)),
        ((30, 30), (30, 30)),
        ((5, 6, 7), (2, 3, 4)),
        ((13, 1, 9), (3, 4, 2)),
        ((20, 19, 18), (3, 5, 2)),
    ],
)
def test_shapes_and_modes(
    ours: Any, theirs: Any, mode: str, s1: tuple[int, ...], s2: tuple[int, ...]
) -> None:
    # crc32, not hash(): string hashes are salted per process.
    rng = np.random.default_rng(zlib.crc32(repr((s1, s2, mode)).encode()))
    compare(ours, theirs, rng.standard_normal(s1), rng.standard_normal(s2), mode)


DTYPES = [
    "float32",
    "float64",
    "complex64",
    "complex128",
    "int8",
    "int32",
    "uint16",
    "int64",
    "bool",
    "float16",
]


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
@pytest.mark.parametrize(("d1", "d2"), list(itertools.product(DTYPES, repeat=2)))
def test_dtypes(ours: Any, theirs: Any, d1: str, d2: str) -> None:
    rng = np.random.default_rng(7)
    a = random(rng, (40, 9), d1)
    b = random(rng, (5, 4), d2)
    for mode in MODES:
        compare(ours, theirs, a, b, mode)


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
def test_longdouble(ours: Any, theirs: Any) -> None:
    rng = np.random.default_rng(8)
    a = rng.standard_normal(50).astype(np.longdouble)
    b = rng.standard_normal(7)
    compare(ours, theirs, a, b)
    compare(ours, theirs, a.astype(np.clongdouble), b)


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
@pytest.mark.parametrize(
    ("s1", "s2", "axes"),
    [
        ((6, 40), (6, 7), 1),
        ((6, 40), (6, 7), -1),
        ((6, 40), (1, 7), [1]),
        ((1, 40), (5, 7), (-1,)),
        ((40, 6), (7, 6), 0),
        ((40, 6), (7, 1), [0]),
        ((40, 3, 30), (5, 3, 4), [0, 2]),
        ((40, 3, 30), (5, 1, 4), [-1, 0]),
        ((4, 30, 31), (4, 5, 6), [2, 1]),
        ((4, 30, 31), (1, 5, 6), (1, 2)),
        ((3, 30, 2), (3, 5, 2), 1),
        ((5, 6), (1, 1), None),
        ((5, 1), (1, 6), None),
        ((5, 6), (5, 6), [0]),
        ((7, 6), (3, 6), [0, 1]),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_axes_and_broadcasting(ours: Any, theirs: Any, s1: Any, s2: Any, axes: Any, mode: str) -> None:
    rng = np.random.default_rng(11)
    compare(ours, theirs, rng.standard_normal(s1), rng.standard_normal(s2), mode, axes=axes)
    a = random(rng, s1, "complex64")
    b = random(rng, s2, "float32")
    compare(ours, theirs, a, b, mode, axes=axes)


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
def test_integer_only_product_path(ours: Any, theirs: Any) -> None:
    # All convolved axes have length 1 on one side: scipy returns the
    # broadcast product in NumPy's dtype.
    a = np.arange(6).reshape(2, 3)
    b = np.arange(2).reshape(2, 1)
    for mode in ("full", "same"):
        compare(ours, theirs, a, b, mode, axes=1)


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
def test_scalars_and_empty(ours: Any, theirs: Any) -> None:
    compare(ours, theirs, np.asarray(2.0), np.asarray(3.0))
    compare(ours, theirs, np.asarray(2), np.asarray(3))
    assert ours(np.asarray(2), np.asarray(3)) == 6
    for s1, s2 in [((0,), (3,)), ((3,), (0,)), ((0, 4), (2, 2)), ((4, 0), (4, 0))]:
        compare(ours, theirs, np.ones(s1), np.ones(s2))
        compare(ours, theirs, np.ones(s1, np.float32), np.ones(s2), "same")


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
def test_strided_readonly_byteorder_inputs(ours: Any, theirs: Any) -> None:
    rng = np.random.default_rng(3)
    base = rng.standard_normal((60, 50))
    kernel = rng.standard_normal((8, 7))
    views = [
        base[::2, ::3],
        base.T,
        base[::-1, 5:],
        np.asfortranarray(base),
        base.astype(">f8"),
        base.astype(">c16"),
    ]
    readonly = base.copy()
    readonly.flags.writeable = False
    views.append(readonly)
    for view in views:
        before = view.copy()
        kernel_view = kernel[::-1].astype(kernel.dtype.newbyteorder(">"))
        for mode in MODES:
            compare(ours, theirs, view, kernel_view, mode)
            compare(ours, theirs, view.tolist(), kernel, mode)
        np.testing.assert_array_equal(view, before)


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
def test_errors_match_scipy_and_module_survives(ours: Any, theirs: Any) -> None:
    a = np.ones((5, 6))
    b = np.ones((3, 2))
    cases: list[tuple[tuple[Any, ...], dict[str, Any], str]] = [
        ((a, np.ones(3)), {}, "dimensionality"),
        ((a, b), {"axes": []}, "axes"),
        ((a, b), {"axes": [2]}, "axes"),
        ((a, b), {"axes": [-3]}, "axes"),
        ((a, b), {"axes": [0, -2]}, "axes"),
        ((a, b), {"axes": [0.5]}, "axes"),
        ((a, b), {"axes": "x"}, "axes"),
        ((a, b), {"mode": "bogus"}, "mode"),
        ((a, np.ones((3, 2))), {"axes": 0}, "incompatible"),
        ((np.ones((5, 2)), np.ones((3, 4))), {"mode": "valid"}, "valid"),
        ((np.array(["a", "b"]), np.ones(2)), {}, "in1"),
        ((np.ones(2), np.array(["1", "x"])), {}, "in2"),
    ]
    for args, kwargs, word in cases:
        try:
            theirs(*args, **kwargs)
        except Exception as exc:
            # scipy's string case raises numpy's UFuncTypeError, a TypeError.
            expected = next(c for c in (ValueError, TypeError) if isinstance(exc, c))
        else:  # pragma: no cover - every case raises in scipy
            pytest.fail(f"scipy accepted {kwargs}")
        with pytest.raises(expected, match=word):
            ours(*args, **kwargs)
        # The module keeps working after the error.
        assert_matches(ours(np.arange(5.0), np.ones(3)), theirs(np.arange(5.0), np.ones(3)))
    with pytest.raises(TypeError, match="workers"):
        ours(a, b, workers=1.5)
    with pytest.raises(ValueError, match="workers"):
        ours(a, b, workers=0)
    with pytest.raises(TypeError, match="in1"):
        ours(np.zeros(3, "datetime64[s]"), b[0])


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
def test_object_and_string_inputs_read_as_float(ours: Any, theirs: Any) -> None:
    compare(ours, theirs, np.array([2, 1], dtype=object), np.arange(3.0))
    compare(ours, theirs, np.array(["1", "2.5"]), np.arange(3.0))
    # None reads as NaN, which spreads through the transform in both.
    assert np.isnan(ours(np.arange(3.0), np.array([None, 1.0]))).all()
    assert np.isnan(theirs(np.arange(3.0), np.array([None, 1.0]))).all()


@pytest.mark.parametrize(("ours", "theirs"), FUNCS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
def test_bitwise_identical_across_thread_counts(ours: Any, theirs: Any, dtype: str) -> None:
    rng = np.random.default_rng(5)
    cases = [
        ((300, 260), (15, 15), None),
        ((200_000,), (101,), None),
        ((8, 3000), (1, 77), -1),
        ((40, 50, 30), (5, 4, 3), None),
    ]
    for s1, s2, axes in cases:
        a = random(rng, s1, dtype)
        b = random(rng, s2, dtype)
        results = [ours(a, b, "same", axes=axes, workers=w) for w in (1, 2, 3)]
        for r in results[1:]:
            assert r.tobytes() == results[0].tobytes()
        assert_matches(results[0], theirs(a, b, "same", axes=axes))


@settings(max_examples=60, deadline=None)
@given(
    ndim=st.integers(1, 3),
    data=st.data(),
)
def test_hypothesis_against_scipy(ndim: int, data: st.DataObject) -> None:
    s1 = tuple(data.draw(st.lists(st.integers(1, 24), min_size=ndim, max_size=ndim)))
    s2 = tuple(data.draw(st.sampled_from([n, 1, data.draw(st.integers(1, 24))])) for n in s1)
    mode = data.draw(st.sampled_from(MODES))
    axes_choice = data.draw(st.sampled_from(["none", "subset"]))
    axes: Any = None
    if axes_choice == "subset":
        axes = data.draw(
            st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim, unique_by=lambda a: a % ndim)
        )
    d1 = data.draw(st.sampled_from(["float32", "float64", "complex64", "int16"]))
    d2 = data.draw(st.sampled_from(["float32", "float64", "complex128"]))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a = random(rng, s1, d1)
    b = random(rng, s2, d2)
    for ours, theirs in FUNCS:
        compare(ours, theirs, a, b, mode, axes=axes)


def test_large_signal_and_image() -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal(300_000)
    h = rng.standard_normal(4001)
    for ours, theirs in FUNCS:
        assert_matches(ours(x, h, "same"), theirs(x, h, "same"))
    image = rng.standard_normal((512, 512)).astype(np.float32)
    kernel = rng.standard_normal((31, 31)).astype(np.float32)
    for ours, theirs in FUNCS:
        for mode in MODES:
            assert_matches(ours(image, kernel, mode), theirs(image, kernel, mode))
