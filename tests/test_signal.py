"""The signal family against scipy.signal 1.17: values, shapes, dtypes, errors."""

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

HAS_FFT = hasattr(rustconv, "fftconvolve")
needs_fft = pytest.mark.skipif(
    not HAS_FFT, reason="rustconv.fftconvolve is built on another branch; these run after the merge"
)

MODES = ("full", "same", "valid")
BOUNDARIES = ("fill", "wrap", "symm")
FLOATS = ("float32", "float64", "complex64", "complex128")
INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
DTYPES = FLOATS + INTS


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    info = np.iinfo(dt)
    # The full range, so products and sums overflow and wrap as in scipy.
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)


def assert_matches(out: np.ndarray, ref: np.ndarray, scale: float = 0.0) -> None:
    """Same dtype, shape and contiguity; integers exact; floats within the
    issue's relative tolerance of ‖ref‖, or of ``scale`` (the norm of the
    same operation on absolute values) where the sums cancel and both
    results are mostly rounding."""
    ref = np.asarray(ref)
    assert isinstance(out, np.ndarray)
    assert out.dtype == ref.dtype, (out.dtype, ref.dtype)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    if out.ndim:
        assert out.flags.c_contiguous
    if ref.dtype.kind in "iub":
        np.testing.assert_array_equal(out, ref)
        return
    nan = np.isnan(ref)
    np.testing.assert_array_equal(np.isnan(out), nan)
    if nan.any():
        out, ref = np.where(nan, 0, out), np.where(nan, 0, ref)
    norm = np.linalg.norm(ref.astype(np.complex128).ravel())
    err = np.linalg.norm((out.astype(np.complex128) - ref.astype(np.complex128)).ravel())
    single = ref.dtype in (np.float32, np.complex64, np.float16)
    tol = 1e-5 if single else 1e-11
    norm = max(norm, scale)
    if norm == 0:
        assert err == 0
    else:
        assert err / norm < tol, err / norm


def stable_seed(*key: object) -> int:
    """A seed from the test's parameters that is the same in every process
    (``hash`` of a string is salted per process, so failures would not
    reproduce)."""
    return zlib.crc32(repr(key).encode())


def magnitude(on_absolute_values: Any) -> float:
    """The norm of an operation's result on the operands' absolute values:
    the size of the terms each output sums, against which a floating-point
    result's rounding is measured (an output whose terms cancel is mostly
    rounding, in scipy's float32 sums as in rustconv's). Integer results are
    compared exactly whatever this is."""
    return float(np.linalg.norm(np.abs(np.asarray(on_absolute_values)).astype(np.float64).ravel()))


def shapes(rng: np.random.Generator, ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    s1 = tuple(int(v) for v in rng.integers(1, 9, ndim))
    s2 = tuple(int(v) for v in rng.integers(1, 6, ndim))
    return s1, s2


# --- convolve / correlate, direct method ----------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("func", ["convolve", "correlate"])
def test_direct_matches_scipy(func: str, ndim: int, dtype: str) -> None:
    rng = np.random.default_rng(stable_seed(func, ndim, dtype))
    ours, theirs = getattr(rustconv, func), getattr(signal, func)
    for _ in range(6):
        s1, s2 = shapes(rng, ndim)
        a, b = random_array(rng, s1, dtype), random_array(rng, s2, dtype)
        for mode in MODES:
            for x, y in ((a, b), (b, a)):
                try:
                    ref = theirs(x, y, mode, method="direct")
                except ValueError:
                    with pytest.raises(ValueError, match="valid"):
                        ours(x, y, mode, method="direct")
                    continue
                scale = magnitude(theirs(np.abs(x), np.abs(y), mode, method="direct"))
                assert_matches(ours(x, y, mode, method="direct"), ref, scale)


def test_even_kernel_same_offsets() -> None:
    x = np.arange(1, 9)
    w = np.array([1, 2, 3, 4])
    np.testing.assert_array_equal(rustconv.correlate(x, w, "same"), [11, 20, 30, 40, 50, 60, 70, 44])
    np.testing.assert_array_equal(
        rustconv.correlate2d(x[None], w[None], "same")[0], [20, 30, 40, 50, 60, 70, 44, 23]
    )
    np.testing.assert_array_equal(rustconv.convolve(x, w, "same"), np.convolve(x, w, "same"))
    np.testing.assert_array_equal(rustconv.convolve2d(x[None], w[None], "same")[0], np.convolve(x, w, "same"))


@pytest.mark.parametrize("func", ["convolve", "correlate"])
def test_auto_method_matches_scipy(func: str) -> None:
    rng = np.random.default_rng(5)
    ours, theirs = getattr(rustconv, func), getattr(signal, func)
    for dtype in ("float32", "float64", "complex128"):
        for ndim in (1, 2):
            for _ in range(4):
                s1, s2 = shapes(rng, ndim)
                a, b = random_array(rng, s1, dtype), random_array(rng, s2, dtype)
                for mode in MODES:
                    try:
                        ref = theirs(a, b, mode)
                    except ValueError:
                        continue
                    assert_matches(ours(a, b, mode), ref)
    # Small integers: scipy may pick its FFT path and round; the direct
    # result is exact and equal.
    a = rng.integers(-50, 50, (30, 40))
    b = rng.integers(-50, 50, (5, 4))
    for mode in MODES:
        assert_matches(ours(a, b, mode), theirs(a, b, mode))


@needs_fft
@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "int16"])
def test_fft_method_matches_scipy(func: str, dtype: str) -> None:
    rng = np.random.default_rng(11)
    ours, theirs = getattr(rustconv, func), getattr(signal, func)
    for ndim in (1, 2, 3):
        s1, s2 = shapes(rng, ndim)
        a, b = random_array(rng, s1, dtype), random_array(rng, s2, dtype)
        if a.dtype.kind in "iu":
            a, b = a % 20, b % 20
        for mode in MODES:
            for x, y in ((a, b), (b, a)):
                try:
                    ref = theirs(x, y, mode, method="fft")
                except ValueError:
                    continue
                assert_matches(ours(x, y, mode, method="fft"), ref)


def test_fft_method_without_fft_build_is_clear() -> None:
    if HAS_FFT:
        pytest.skip("this build has rustconv.fftconvolve")
    with pytest.raises(NotImplementedError, match="fftconvolve"):
        rustconv.convolve(np.ones(5), np.ones(3), method="fft")


MIXED = [
    ("uint8", "float32"),
    ("float32", "float64"),
    ("int8", "int16"),
    ("uint8", "int8"),
    ("int32", "float32"),
    ("uint64", "int64"),
    ("float32", "complex64"),
    ("int16", "complex128"),
    ("float16", "float32"),
]


@pytest.mark.parametrize(("t1", "t2"), MIXED)
def test_mixed_dtypes_promote_like_scipy(t1: str, t2: str) -> None:
    rng = np.random.default_rng(3)
    a = random_array(rng, (6, 7), t1)
    b = random_array(rng, (3, 2), t2)
    if np.result_type(a, b).kind in "iu":
        a, b = a % 7, b % 7
    for mode in MODES:
        assert_matches(
            rustconv.convolve(a, b, mode, method="direct"), signal.convolve(a, b, mode, method="direct")
        )
        assert_matches(
            rustconv.correlate(b, a, mode, method="direct"), signal.correlate(b, a, mode, method="direct")
        )
        assert_matches(rustconv.convolve2d(a, b, mode), signal.convolve2d(a, b, mode))
        assert_matches(rustconv.correlate2d(b, a, mode), signal.correlate2d(b, a, mode))


def test_bool_and_float16_follow_numpy_in_1d() -> None:
    rng = np.random.default_rng(4)
    a = rng.random(40) < 0.3
    b = rng.random(7) < 0.5
    for mode in MODES:
        assert_matches(
            rustconv.convolve(a, b, mode, method="direct"), signal.convolve(a, b, mode, method="direct")
        )
        assert_matches(
            rustconv.correlate(a, b, mode, method="direct"), signal.correlate(a, b, mode, method="direct")
        )
    a16 = rng.standard_normal(30).astype(np.float16)
    b16 = rng.standard_normal(5).astype(np.float16)
    out = rustconv.convolve(a16, b16, method="direct")
    ref = signal.convolve(a16, b16, method="direct")
    assert out.dtype == ref.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float64), ref.astype(np.float64), rtol=2e-2, atol=2e-2)
    # Where scipy rejects bool in 2-D, rustconv keeps numpy's logical meaning.
    out2 = rustconv.convolve2d(a.reshape(5, 8), b[:4].reshape(2, 2))
    assert out2.dtype == np.bool_
    ref2 = signal.convolve2d(a.reshape(5, 8).astype(int), b[:4].reshape(2, 2).astype(int)) != 0
    np.testing.assert_array_equal(out2, ref2)


def test_zero_dimensional_inputs() -> None:
    assert_matches(rustconv.convolve(np.array(2), np.array(3)), signal.convolve(np.array(2), np.array(3)))
    assert_matches(
        rustconv.correlate(np.array(2.0), np.array(3j)), signal.correlate(np.array(2.0), np.array(3j))
    )
    assert_matches(rustconv.convolve(2, 3), signal.convolve(2, 3))


# --- convolve2d / correlate2d ------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("boundary", ["fill", "pad", "wrap", "circular", "symm", "symmetric"])
@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
def test_2d_matches_scipy(func: str, boundary: str, dtype: str) -> None:
    rng = np.random.default_rng(stable_seed(func, boundary, dtype))
    ours, theirs = getattr(rustconv, func), getattr(signal, func)
    fills: list[Any] = [0, 3] if np.dtype(dtype).kind in "iu" else [0, 1.5]
    if np.dtype(dtype).kind == "c":
        fills.append(1.5 - 2j)
    for _ in range(4):
        s1, s2 = shapes(rng, 2)
        a, b = random_array(rng, s1, dtype), random_array(rng, s2, dtype)
        for mode in MODES:
            for fill in fills:
                for x, y in ((a, b), (b, a)):
                    try:
                        ref = theirs(x, y, mode, boundary, fill)
                    except ValueError:
                        with pytest.raises(ValueError, match="valid"):
                            ours(x, y, mode, boundary, fill)
                        continue
                    scale = magnitude(theirs(np.abs(x), np.abs(y), mode, boundary, abs(fill)))
                    assert_matches(ours(x, y, mode, boundary, fill), ref, scale)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_2d_large_enough_for_simd_tiles_and_threads(dtype: str) -> None:
    rng = np.random.default_rng(8)
    for s1, s2 in [((70, 150), (5, 4)), ((33, 1100), (3, 7)), ((5, 5000), (2, 11))]:
        a, b = random_array(rng, s1, dtype), random_array(rng, s2, dtype)
        for mode in MODES:
            for boundary in BOUNDARIES:
                assert_matches(
                    rustconv.convolve2d(a, b, mode, boundary, workers=2),
                    signal.convolve2d(a, b, mode, boundary),
                )
                assert_matches(
                    rustconv.correlate2d(a, b, mode, boundary, workers=2),
                    signal.correlate2d(a, b, mode, boundary),
                )


def test_kernel_larger_than_image_with_wrap_and_symm() -> None:
    rng = np.random.default_rng(9)
    a = rng.standard_normal((2, 3))
    b = rng.standard_normal((7, 9))
    for mode, boundary in itertools.product(("full", "same"), BOUNDARIES):
        assert_matches(rustconv.convolve2d(a, b, mode, boundary), signal.convolve2d(a, b, mode, boundary))
        assert_matches(rustconv.correlate2d(a, b, mode, boundary), signal.correlate2d(a, b, mode, boundary))


@pytest.mark.parametrize(
    ("dtype", "fill"),
    [
        ("int64", 1.7),
        ("int64", -1.7),
        ("uint8", 255.9),
        ("uint8", np.uint8(7)),
        ("int8", True),
        ("float32", 1 / 3),
        ("float64", np.nan),
        ("float64", None),
        ("float64", [[7]]),
        ("complex128", 2 + 1j),
        ("int64", 2**62),
        ("uint64", 2**63 + 5),
        ("float64", np.array(2, dtype=">i4")),
    ],
)
def test_fillvalue_conversion_like_scipy(dtype: str, fill: Any) -> None:
    a = np.ones((2, 3), dtype)
    b = np.ones((2, 2), dtype)
    with np.errstate(all="ignore"), _no_check():
        ref = signal.convolve2d(a, b, fillvalue=fill)
    assert_matches(rustconv.convolve2d(a, b, fillvalue=fill), ref)


class _no_check:
    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *args: object) -> None:
        self._ctx.__exit__(*args)


@pytest.mark.parametrize(
    ("dtype", "fill"),
    [
        ("float64", 1 + 2j),
        ("float64", 2 + 0j),
        ("int64", 1 + 2j),
        ("uint8", 300),
        ("uint8", -1),
        ("int8", 1e20),
        ("int64", np.nan),
    ],
)
def test_fillvalue_that_cannot_be_cast(dtype: str, fill: Any) -> None:
    a = np.ones((3, 3), dtype)
    with _no_check(), pytest.raises(ValueError, match="cast"):
        signal.convolve2d(a, a, fillvalue=fill)
    with pytest.raises(ValueError, match="fillvalue"):
        rustconv.convolve2d(a, a, fillvalue=fill)
    assert_matches(rustconv.convolve2d(a, a), signal.convolve2d(a, a))


# --- layouts, inputs unchanged, empty inputs -----------------------------------------------


def layouts(rng: np.random.Generator, dtype: str) -> list[np.ndarray]:
    base = random_array(rng, (24, 30), dtype)
    ro = base[:9, :11].copy()
    ro.flags.writeable = False
    swapped = base[:10, :12].astype(np.dtype(dtype).newbyteorder())
    return [base[::2, ::3], base.T[:13, :9], base[::-1, ::-2][:8, :10], ro, swapped]


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128", "int32"])
def test_any_layout_and_inputs_unchanged(dtype: str) -> None:
    rng = np.random.default_rng(12)
    arrays = layouts(rng, dtype)
    kernels = [k[:3, :4] for k in layouts(rng, dtype)]
    for a, b in itertools.product(arrays, kernels):
        a_before, b_before = a.copy(), b.copy()
        for mode in MODES:
            assert_matches(
                rustconv.convolve(a, b, mode, method="direct"), signal.convolve(a, b, mode, method="direct")
            )
            assert_matches(
                rustconv.correlate(a, b, mode, method="direct"), signal.correlate(a, b, mode, method="direct")
            )
            assert_matches(rustconv.convolve2d(a, b, mode, "symm"), signal.convolve2d(a, b, mode, "symm"))
            assert_matches(rustconv.correlate2d(b, a, mode, "wrap"), signal.correlate2d(b, a, mode, "wrap"))
        np.testing.assert_array_equal(a, a_before)
        np.testing.assert_array_equal(b, b_before)
    # 1-D and 3-D through strided views.
    x = random_array(rng, (50,), dtype)[::-3]
    k = random_array(rng, (8,), dtype)[::2]
    assert_matches(
        rustconv.correlate(x, k, "same", method="direct"), signal.correlate(x, k, "same", method="direct")
    )
    v = random_array(rng, (6, 8, 10), dtype).transpose(2, 0, 1)[::2]
    w = random_array(rng, (3, 2, 4), dtype)[:, ::-1]
    assert_matches(
        rustconv.convolve(v, w, "full", method="direct"), signal.convolve(v, w, "full", method="direct")
    )


def test_single_element_inputs() -> None:
    for mode in MODES:
        for shape in [(1,), (1, 1), (1, 1, 1)]:
            a = np.full(shape, 3.0)
            b = np.full(shape, -2.0)
            assert_matches(rustconv.convolve(a, b, mode), signal.convolve(a, b, mode))
            assert_matches(rustconv.correlate(a, b, mode), signal.correlate(a, b, mode))
        for boundary in BOUNDARIES:
            a = np.full((1, 1), 3 + 1j)
            b = np.full((1, 1), 2 - 1j)
            assert_matches(
                rustconv.correlate2d(a, b, mode, boundary), signal.correlate2d(a, b, mode, boundary)
            )
        big = np.arange(12.0).reshape(3, 4)
        one = np.full((1, 1), 2.0)
        assert_matches(rustconv.convolve2d(one, big, mode, "wrap"), signal.convolve2d(one, big, mode, "wrap"))


EMPTY_CASES = [
    ((0, 3), (2, 2)),
    ((2, 3), (0, 2)),
    ((2, 3), (2, 0)),
    ((0,), (3,)),
    ((4,), (0,)),
    ((0, 0), (0, 0)),
]


@pytest.mark.parametrize(("s1", "s2"), EMPTY_CASES)
def test_empty_inputs(s1: tuple[int, ...], s2: tuple[int, ...]) -> None:
    a, b = np.ones(s1), np.ones(s2)
    for mode in MODES:
        for func in ("convolve", "correlate"):
            ours = getattr(rustconv, func)
            # Only what no formula can give raises: 'valid' without a larger
            # input, or 'full' along an axis where both are empty.
            no_valid = mode == "valid" and not (
                all(n >= k for n, k in zip(s1, s2)) or all(k >= n for n, k in zip(s1, s2))
            )
            if no_valid or (mode == "full" and any(n == k == 0 for n, k in zip(s1, s2))):
                with pytest.raises(ValueError, match=r"valid|both have length 0"):
                    ours(a, b, mode)
                continue
            got = ours(a, b, mode)
            try:
                ref = getattr(signal, func)(a, b, mode, method="direct")
            except (ValueError, IndexError):
                # scipy fails on many empty inputs; rustconv gives the zeros
                # of the shape formula.
                assert not got.any()
                continue
            assert_matches(got, ref)
        if len(s1) == 2:
            for boundary in ("fill",) + (() if 0 in s1 else ("wrap", "symm")):
                try:
                    ref = signal.convolve2d(a, b, mode, boundary, fillvalue=2)
                except ValueError:
                    with pytest.raises(ValueError, match=r"valid|both have length 0"):
                        rustconv.convolve2d(a, b, mode, boundary, fillvalue=2)
                    continue
                assert_matches(rustconv.convolve2d(a, b, mode, boundary, fillvalue=2), ref)


def test_wrap_of_an_empty_image_is_an_error() -> None:
    # scipy crashes the process here; rustconv raises.
    with pytest.raises(ValueError, match="non-empty in1"):
        rustconv.convolve2d(np.ones((0, 3)), np.ones((2, 2)), "full", "wrap")
    assert rustconv.convolve2d(np.ones((2, 2)), np.ones((1, 1)), "full", "wrap").shape == (2, 2)


# --- errors -------------------------------------------------------------------------------

ERROR_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], str]] = [
    ("convolve", (np.ones((3, 3)), np.ones(2)), {}, "dimensionality"),
    ("correlate", (np.ones((3, 3)), np.ones(2)), {}, "dimensionality"),
    ("convolve", (np.ones(3), np.ones(2)), {"mode": "xx"}, "mode"),
    ("correlate", (np.ones(3), np.ones(2)), {"mode": 1}, "mode"),
    ("convolve", (np.ones(3), np.ones(2)), {"method": "xx"}, "method"),
    ("correlate", (np.ones(3), np.ones(2)), {"method": None}, "method"),
    ("convolve", (np.ones((3, 3)), np.ones((4, 2))), {"mode": "valid"}, "valid"),
    ("correlate", (np.ones((3, 3)), np.ones((4, 2))), {"mode": "valid", "method": "direct"}, "valid"),
    ("convolve", (np.array(["a", "b"]), np.array(["c"])), {"method": "direct"}, "in1"),
    ("convolve", (np.ones((3, 3), object), np.ones((2, 2))), {"method": "direct"}, "in1"),
    ("convolve2d", (np.ones(3), np.ones(2)), {}, "2-D"),
    ("correlate2d", (np.ones((3, 3)), np.ones(2)), {}, "2-D"),
    ("convolve2d", (np.ones((3, 3)), np.ones((2, 2))), {"boundary": "reflect"}, "boundary"),
    ("correlate2d", (np.ones((3, 3)), np.ones((2, 2))), {"boundary": 1}, "boundary"),
    ("convolve2d", (np.ones((3, 3)), np.ones((2, 2))), {"mode": "xx"}, "mode"),
    ("convolve2d", (np.ones((3, 3)), np.ones((4, 2))), {"mode": "valid"}, "valid"),
    ("correlate2d", (np.ones((3, 3)), np.ones((4, 2))), {"mode": "valid"}, "valid"),
    ("convolve2d", (np.ones((3, 3)), np.ones((2, 2))), {"fillvalue": [1, 2]}, "fillvalue"),
    ("convolve2d", (np.ones((3, 3)), np.ones((2, 2))), {"fillvalue": []}, "fillvalue"),
    ("convolve2d", (np.ones((3, 3)), np.ones((2, 2))), {"fillvalue": "a"}, "fillvalue"),
    ("convolve2d", (np.ones((3, 3)), np.ones((2, 2))), {"fillvalue": object()}, "fillvalue"),
    ("convolve2d", (np.array([["a"]]), np.array([["c"]])), {}, "in1"),
    ("choose_conv_method", (np.ones(3), np.ones(2)), {"mode": "xx"}, "mode"),
    ("correlation_lags", (5, 3), {"mode": "xx"}, "mode"),
]


@pytest.mark.parametrize(("func", "args", "kwargs", "word"), ERROR_CASES)
def test_errors_match_scipy_class(
    func: str, args: tuple[Any, ...], kwargs: dict[str, Any], word: str
) -> None:
    with _no_check(), pytest.raises(Exception) as scipy_exc:  # noqa: PT011
        getattr(signal, func)(*args, **kwargs)
    with pytest.raises(scipy_exc.type, match=word):
        getattr(rustconv, func)(*args, **kwargs)
    # The module still works afterwards.
    assert_matches(rustconv.convolve([1.0, 2.0], [1.0, 1.0]), np.array([1.0, 3.0, 2.0]))


@pytest.mark.parametrize("workers", [0, 1.5, "2", True, -10_000])
def test_bad_workers(workers: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="workers"):
        rustconv.convolve2d(np.ones((3, 3)), np.ones((2, 2)), workers=workers)
    with pytest.raises((TypeError, ValueError), match="workers"):
        rustconv.correlate(np.ones(3), np.ones(2), workers=workers)
    assert rustconv.convolve2d(np.ones((3, 3)), np.ones((2, 2)), workers=1).shape == (4, 4)


def test_long_double_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="dtype"):
        rustconv.convolve(np.ones(3, np.longdouble), np.ones(2), method="direct")
    assert rustconv.convolve(np.ones(3), np.ones(2)).shape == (4,)


# --- threads ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "int32"])
def test_bitwise_identical_for_every_thread_count(dtype: str) -> None:
    rng = np.random.default_rng(13)
    image = random_array(rng, (150, 170), dtype)
    kernel = random_array(rng, (7, 6), dtype)
    signal_1d = random_array(rng, (30_000,), dtype)
    taps = random_array(rng, (41,), dtype)
    volume = random_array(rng, (20, 30, 40), dtype)
    box = random_array(rng, (3, 4, 5), dtype)
    calls = [
        lambda w: rustconv.convolve2d(image, kernel, "same", "symm", workers=w),
        lambda w: rustconv.correlate2d(image, kernel, "full", workers=w),
        lambda w: rustconv.convolve(signal_1d, taps, method="direct", workers=w),
        lambda w: rustconv.correlate(volume, box, "same", method="direct", workers=w),
    ]
    for call in calls:
        one = call(1)
        for w in (2, 3):
            assert call(w).tobytes() == one.tobytes()


# --- choose_conv_method and correlation_lags ----------------------------------------------


def test_choose_conv_method_clear_cases() -> None:
    assert rustconv.choose_conv_method(np.ones(10), np.ones(3)) == "direct"
    assert rustconv.choose_conv_method(np.ones((8, 8)), np.ones((3, 3)), "same") == "direct"
    # Integers and bool are always direct (exact arithmetic), even when huge.
    assert rustconv.choose_conv_method(np.ones(2**16, int), np.ones(2**12, int)) == "direct"
    assert rustconv.choose_conv_method(np.ones(2**16, bool), np.ones(2**12, bool)) == "direct"
    assert rustconv.choose_conv_method(np.ones((0,)), np.ones((3,))) == "direct"
    huge = rustconv.choose_conv_method(np.ones(2**16), np.ones(2**12))
    assert huge == ("fft" if HAS_FFT else "direct")
    # A full-rank kernel: np.ones would run on the separable path (see below).
    full_rank = np.random.default_rng(0).standard_normal((64, 64))
    assert rustconv.choose_conv_method(np.ones((512, 512)), full_rank) == huge
    assert signal.choose_conv_method(np.ones(2**16), np.ones(2**12)) == "fft"


def test_choose_conv_method_measure() -> None:
    method, times = rustconv.choose_conv_method(np.ones(200), np.ones(5), measure=True)
    assert method in times
    assert set(times) == ({"fft", "direct"} if HAS_FFT else {"direct"})
    assert all(t > 0 for t in times.values())
    assert times[method] == min(times.values())


def test_correlation_lags_match_scipy() -> None:
    for n1, n2, mode in itertools.product(range(0, 9), range(0, 9), MODES):
        assert_matches(rustconv.correlation_lags(n1, n2, mode), signal.correlation_lags(n1, n2, mode))


def test_correlation_lags_index_the_correlation() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(200)
    y = np.roll(x, 17)[:150]
    for mode in MODES:
        corr = rustconv.correlate(y, x, mode)
        lags = rustconv.correlation_lags(y.size, x.size, mode)
        assert lags.shape == corr.shape


# --- property test ------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    ndim=st.integers(1, 3),
    data=st.data(),
    mode=st.sampled_from(MODES),
    dtype=st.sampled_from(["float64", "float32", "complex128", "int16", "uint8"]),
    func=st.sampled_from(["convolve", "correlate", "convolve2d", "correlate2d"]),
    boundary=st.sampled_from(BOUNDARIES),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_against_scipy(
    ndim: int, data: st.DataObject, mode: str, dtype: str, func: str, boundary: str, seed: int
) -> None:
    if func.endswith("2d"):
        ndim = 2
    s1 = tuple(data.draw(st.lists(st.integers(1, 12), min_size=ndim, max_size=ndim)))
    s2 = tuple(data.draw(st.lists(st.integers(1, 7), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(seed)
    a, b = random_array(rng, s1, dtype), random_array(rng, s2, dtype)
    if func.endswith("2d"):
        args: tuple[Any, ...] = (mode, boundary)
    else:
        args = (mode, "direct")
    try:
        ref = getattr(signal, func)(a, b, *args)
    except ValueError:
        with pytest.raises(ValueError, match="valid"):
            getattr(rustconv, func)(a, b, *args)
        return
    scale = 0.0
    if a.dtype.kind in "fc":
        magnitude = getattr(signal, func)(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64), *args)
        scale = float(np.linalg.norm(magnitude))
    assert_matches(getattr(rustconv, func)(a, b, *args), ref, scale)


# --- the private bindings validate on their own ---------------------------------------


def test_bindings_reject_bad_arguments_without_crashing() -> None:
    from rustconv import _rustconv

    f64, f32 = np.ones((3, 3)), np.ones((2, 2), np.float32)
    fill = np.zeros(1)
    with pytest.raises(TypeError, match="same dtype"):
        _rustconv._correlate(f64, f32, "full", False)
    with pytest.raises(TypeError, match=r"numpy\.ndarray"):
        _rustconv._correlate([1.0], f64, "full", False)
    with pytest.raises(TypeError, match="supported dtypes"):
        _rustconv._correlate(np.ones(3, bool), np.ones(2, bool), "full", False)
    with pytest.raises(ValueError, match="mode"):
        _rustconv._correlate(f64, f64, "middle", False)
    with pytest.raises(ValueError, match="valid"):
        _rustconv._correlate(np.ones((2, 2)), f64, "valid", True)
    with pytest.raises(ValueError, match="dimensionality"):
        _rustconv._correlate(f64, np.ones(2), "full", True)
    with pytest.raises(ValueError, match="2-D"):
        _rustconv._correlate2d(np.ones(3), np.ones(2), "full", True, "fill", fill)
    with pytest.raises(ValueError, match="boundary"):
        _rustconv._correlate2d(f64, f64, "full", True, "mirror", fill)
    with pytest.raises(TypeError, match="fillvalue"):
        _rustconv._correlate2d(f64, f64, "full", True, "fill", np.zeros(1, np.float32))
    with pytest.raises(ValueError, match="fillvalue"):
        _rustconv._correlate2d(f64, f64, "full", True, "fill", np.zeros(2))
    with pytest.raises(ValueError, match="workers"):
        _rustconv._correlate(f64, f64, "full", False, 0)
    out = _rustconv._correlate2d(f64, f64, "same", True, "wrap", fill)
    assert_matches(out, signal.convolve2d(f64, f64, "same", "wrap"))


def test_impossible_outputs_are_memory_errors() -> None:
    from numpy.lib.stride_tricks import as_strided

    zero = np.zeros(1)
    line = as_strided(zero, shape=(2**40,), strides=(0,))
    with pytest.raises(MemoryError, match="allocate"):
        rustconv.convolve(line, line, method="direct")
    volume = as_strided(zero, shape=(2**14, 2**14, 2**12), strides=(0, 0, 0))
    with pytest.raises(MemoryError, match="allocate"):
        rustconv.correlate(volume, np.ones((2, 2, 2)), method="direct")
    assert_matches(rustconv.convolve([1.0, 2.0], [1.0, 1.0]), np.array([1.0, 3.0, 2.0]))


def test_fft_glue_with_a_stand_in_fftconvolve(monkeypatch: pytest.MonkeyPatch) -> None:
    """The FFT method's glue (delegation, integer rounding, correlate's
    reversed conjugate, scipy's NaN warning, the 'auto' choice), checked with
    scipy's fftconvolve standing in for rustconv's."""
    from rustconv import _fft

    calls: list[int | None] = []

    def stand_in(in1: Any, in2: Any, mode: str = "full", *, workers: int | None = None) -> np.ndarray:
        calls.append(workers)
        out: np.ndarray = signal.fftconvolve(in1, in2, mode=mode)
        return out

    monkeypatch.setattr(_fft, "fftconvolve", stand_in, raising=False)
    rng = np.random.default_rng(21)
    for dtype in ("float32", "float64", "complex128", "int16"):
        a, b = random_array(rng, (9, 11), dtype), random_array(rng, (4, 3), dtype)
        if a.dtype.kind == "i":
            a, b = a % 50, b % 50
        for mode in MODES:
            for x, y in ((a, b), (b, a)):
                for func in ("convolve", "correlate"):
                    try:
                        ref = getattr(signal, func)(x, y, mode, method="fft")
                    except ValueError:
                        continue
                    assert_matches(getattr(rustconv, func)(x, y, mode, method="fft", workers=2), ref)
    assert calls
    assert set(calls) == {2}
    with pytest.warns(RuntimeWarning, match="NAN or inf"):
        rustconv.convolve(np.array([np.nan, 1.0]), np.ones(2), method="fft")
    big, kernel = np.ones(2**16), np.ones(2**12)
    assert rustconv.choose_conv_method(big, kernel) == "fft"
    assert rustconv.convolve(big, kernel).shape == (2**16 + 2**12 - 1,)
    assert rustconv.choose_conv_method(np.ones(50), np.ones(3)) == "direct"
    method, times = rustconv.choose_conv_method(np.ones(300), np.ones(9), measure=True)
    assert set(times) == {"fft", "direct"}
    assert method in times


# --- separable (rank-one) path and the FFT route of the 2-D functions --------------------


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    ref = np.asarray(ref, dtype=np.float64)
    return float(np.linalg.norm(out.astype(np.float64) - ref) / np.linalg.norm(ref))


def separable_kernels(rng: np.random.Generator) -> list[np.ndarray]:
    g = np.exp(-0.5 * ((np.arange(9) - 4) / 1.7) ** 2)
    return [
        np.outer(g, g) / g.sum() ** 2,
        np.outer([1.0, 2.0, 1.0, 0.5], [1.0, 0.0, -1.0, 3.0, 2.0]),  # exact in binary
        np.outer(rng.standard_normal(7), rng.standard_normal(4)),
        np.ones((5, 6)),
        np.outer(rng.standard_normal(3), rng.standard_normal(11)),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
def test_separable_kernels_take_the_rank_one_path_and_stay_accurate(func: str, dtype: str) -> None:
    """Every mode and boundary, odd sizes, against scipy in float64 with the
    issue's relative bound (float32 2e-5, float64 1e-11)."""
    rng = np.random.default_rng(31)
    ours, theirs = getattr(rustconv, func), getattr(signal, func)
    tol = 2e-5 if dtype == "float32" else 1e-11
    image = rng.standard_normal((67, 131)).astype(dtype)
    for kernel in separable_kernels(rng):
        k = kernel.astype(dtype)
        assert rustconv._rustconv._is_separable(k)
        assert rustconv._rustconv._is_separable(np.ascontiguousarray(k[::-1, ::-1]))
        for mode in MODES:
            for boundary in BOUNDARIES:
                ref = theirs(image.astype(np.float64), k.astype(np.float64), mode, boundary, 0.75)
                out = ours(image, k, mode, boundary, 0.75)
                assert out.dtype == np.dtype(dtype)
                assert relative_error(out, ref) < tol, (kernel.shape, mode, boundary)
                assert_matches(out, theirs(image, k, mode, boundary, 0.75))


def test_separable_path_in_convolve_and_correlate() -> None:
    rng = np.random.default_rng(32)
    image = rng.standard_normal((45, 77)).astype(np.float32)
    kernel = np.outer(rng.standard_normal(6), rng.standard_normal(5)).astype(np.float32)
    for mode in MODES:
        for func in ("convolve", "correlate"):
            out = getattr(rustconv, func)(image, kernel, mode, method="direct", workers=2)
            ref = getattr(signal, func)(image.astype(np.float64), kernel.astype(np.float64), mode, "direct")
            assert relative_error(out, ref) < 2e-5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_near_separable_kernels_keep_the_direct_sum(dtype: str) -> None:
    """A rank-one kernel plus a small perturbation is not rank one: it must
    not take the separable path (which would drop the perturbation)."""
    rng = np.random.default_rng(33)
    base = np.outer(rng.standard_normal(7), rng.standard_normal(7))
    image = rng.standard_normal((40, 50)).astype(dtype)
    for scale in (1e-2, 1e-4, 1e-5):
        near = (base + scale * np.abs(base).max() * rng.standard_normal(base.shape)).astype(dtype)
        assert not rustconv._rustconv._is_separable(near)
        for boundary in BOUNDARIES:
            assert_matches(
                rustconv.correlate2d(image, near, "same", boundary),
                signal.correlate2d(image, near, "same", boundary),
            )
    one_tap = base.copy()
    one_tap[3, 2] += 1e-3
    assert not rustconv._rustconv._is_separable(one_tap)
    # Rank two, full rank, too small to gain, non-finite and zero kernels.
    assert not rustconv._rustconv._is_separable(np.eye(5, dtype=dtype))
    assert not rustconv._rustconv._is_separable(rng.standard_normal((6, 6)).astype(dtype))
    assert not rustconv._rustconv._is_separable(np.ones((3, 3), dtype))
    assert not rustconv._rustconv._is_separable(np.ones((2, 20), dtype))
    nan = np.ones((5, 5), dtype)
    nan[1, 1] = np.nan
    assert not rustconv._rustconv._is_separable(nan)
    assert not rustconv._rustconv._is_separable(np.zeros((5, 5), dtype))


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "uint16"])
def test_integer_separable_kernels_stay_exact(dtype: str) -> None:
    """Integers never take the separable path: the direct sum in the integer
    type is exact (wrapping as scipy does)."""
    rng = np.random.default_rng(34)
    image = random_array(rng, (33, 71), dtype)
    kernel = np.outer([1, 2, 1, 3, 1], [1, 0, 2, 5, 1, 1]).astype(dtype)
    assert not rustconv._rustconv._is_separable(kernel)
    for mode in MODES:
        for boundary in BOUNDARIES:
            assert_matches(
                rustconv.convolve2d(image, kernel, mode, boundary, 3),
                signal.convolve2d(image, kernel, mode, boundary, 3),
            )


@needs_fft
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
def test_large_kernels_go_through_the_fft_with_every_boundary(func: str, dtype: str) -> None:
    from rustconv import _signal

    rng = np.random.default_rng(35)
    ours, theirs = getattr(rustconv, func), getattr(signal, func)
    tol = 2e-5 if dtype == "float32" else 1e-11
    image = rng.standard_normal((301, 257)).astype(dtype)
    for shape in ((41, 41), (40, 37)):
        kernel = rng.standard_normal(shape).astype(dtype)
        assert _signal._plane_method(image.shape, kernel, "same") == "fft"
        # A zero fill skips the padded copy of the image; other fills and
        # boundaries correlate the copy.
        cases = [(b, -0.5) for b in ("fill", "wrap", "symm")] + [("fill", 0.0)]
        for mode in MODES:
            for boundary, fill in cases:
                ref = theirs(image.astype(np.float64), kernel.astype(np.float64), mode, boundary, fill)
                out = ours(image, kernel, mode, boundary, fill)
                assert out.dtype == np.dtype(dtype)
                assert out.flags.c_contiguous
                assert out.shape == ref.shape
                assert relative_error(out, ref) < tol, (shape, mode, boundary)
                # 'valid' with the inputs swapped (scipy's rule) too.
                if mode == "valid":
                    swapped = ours(kernel, image, mode, boundary)
                    ref_swapped = theirs(kernel.astype(np.float64), image.astype(np.float64), mode, boundary)
                    assert relative_error(swapped, ref_swapped) < tol


@needs_fft
def test_non_finite_values_keep_the_direct_sum() -> None:
    """A NaN would spread over the whole output through the FFT; the direct
    sum keeps it to the windows that contain it, as scipy does."""
    rng = np.random.default_rng(36)
    image = rng.standard_normal((200, 200))
    image[100, 50] = np.nan
    kernel = rng.standard_normal((41, 41))
    for func in ("convolve2d", "correlate2d"):
        out = getattr(rustconv, func)(image, kernel, "same")
        ref = getattr(signal, func)(image, kernel, "same")
        assert_matches(out, ref)
        assert 0 < np.isnan(out).sum() < out.size
    clean = rng.standard_normal((200, 200))
    with np.errstate(invalid="ignore"):
        out = rustconv.convolve2d(clean, kernel, "same", fillvalue=np.inf)
        ref = signal.convolve2d(clean, kernel, "same", fillvalue=np.inf)
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.isfinite(out), finite)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    assert 0 < finite.sum() < finite.size
    assert relative_error(out[finite], ref[finite]) < 1e-11


@needs_fft
def test_new_paths_are_bitwise_identical_for_every_thread_count() -> None:
    rng = np.random.default_rng(37)
    image = rng.standard_normal((260, 300)).astype(np.float32)
    separable = np.outer(rng.standard_normal(9), rng.standard_normal(7)).astype(np.float32)
    large = rng.standard_normal((41, 41)).astype(np.float32)
    for kernel in (separable, large):
        one = rustconv.correlate2d(image, kernel, "same", "symm", workers=1)
        for w in (2, 3):
            assert rustconv.correlate2d(image, kernel, "same", "symm", workers=w).tobytes() == one.tobytes()


def test_choose_conv_method_knows_the_separable_path() -> None:
    rng = np.random.default_rng(38)
    image = np.ones((512, 512))
    assert rustconv.choose_conv_method(image, np.ones((64, 64)), "same") == "direct"
    g = np.exp(-0.5 * np.linspace(-3, 3, 31) ** 2)
    assert (
        rustconv.choose_conv_method(image.astype(np.float32), np.outer(g, g).astype(np.float32)) == "direct"
    )
    full_rank = rng.standard_normal((64, 64))
    assert rustconv.choose_conv_method(image, full_rank, "same") == ("fft" if HAS_FFT else "direct")
    # Integer kernels are never split and never transformed.
    assert rustconv.choose_conv_method(image.astype(int), np.ones((64, 64), int)) == "direct"
