"""Typed wrappers of the signal family: scipy.signal's convolution functions.

The wrappers own scipy's argument semantics (dtype promotion, swapping the
inputs in 'valid' mode, conjugating the kernel of a complex correlation,
choosing between the direct and FFT methods); the extension computes one
correlation ``out[i] = Σ_j ext(in1)[i − offset + j] · in2[j]`` (with ``in2``
reversed for a convolution) on one common dtype.
"""

from __future__ import annotations

import math
import timeit
import warnings
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from . import _rustconv
from ._util import as_native_array, as_workers

__all__ = [
    "choose_conv_method",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "correlation_lags",
]

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")
_BOUNDARIES = ("fill", "pad", "wrap", "circular", "symm", "symmetric")
# The dtypes the kernels compute in; bool and float16 are computed in a wider
# type and cast back (see _compute_dtype).
_KERNEL_DTYPES = frozenset(
    np.dtype(t)
    for t in (
        np.float32,
        np.float64,
        np.complex64,
        np.complex128,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
    )
)


def _check_mode(mode: object) -> str:
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"mode must be 'full', 'same' or 'valid', got {mode!r}")
    return mode


def _check_method(method: object) -> str:
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be 'auto', 'direct' or 'fft', got {method!r}")
    return method


def _result_dtype(a: np.ndarray, b: np.ndarray) -> np.dtype[Any]:
    """numpy.result_type of two numeric arrays, or scipy's ValueError."""
    for arr, name in ((a, "in1"), (b, "in2")):
        if arr.dtype.kind not in "biufc":
            raise ValueError(
                f"{name} has dtype {arr.dtype}, which is not numeric; "
                "supported are bool, integer, floating and complex dtypes"
            )
    return np.result_type(a, b)


def _compute_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype the kernel computes ``dtype`` in.

    bool is computed as counts in int64 and mapped back to ``count != 0``
    (numpy.convolve's logical OR of ANDs); float16 in float32, rounded back.
    """
    if dtype in _KERNEL_DTYPES:
        return dtype
    if dtype == np.bool_:
        return np.dtype(np.int64)
    if dtype == np.float16:
        return np.dtype(np.float32)
    raise TypeError(
        f"the inputs promote to dtype {dtype}, which rustconv does not support; "
        "supported are bool, float16, float32, float64, complex64, complex128 and "
        "the 8- to 64-bit integer types (cast long double inputs to float64)"
    )


def _to_result(out: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    if out.dtype == dtype:
        return out
    if dtype == np.bool_:
        logical: np.ndarray = np.not_equal(out, 0)
        return logical
    return out.astype(dtype)


def _reverse_and_conj(x: np.ndarray) -> np.ndarray:
    """``x`` reversed along every axis and conjugated (a view when real)."""
    reversed_x = x[(slice(None, None, -1),) * x.ndim]
    return np.conj(reversed_x) if x.dtype.kind == "c" else reversed_x


def _swap_needed(shape1: tuple[int, ...], shape2: tuple[int, ...]) -> bool:
    """scipy's rule for 'valid' mode: the larger input goes first."""
    ok1 = all(n >= k for n, k in zip(shape1, shape2))
    ok2 = all(k >= n for n, k in zip(shape1, shape2))
    if not (ok1 or ok2):
        raise ValueError(
            "For 'valid' mode, one must be at least as large as the other in every dimension; "
            f"got in1.shape={shape1} and in2.shape={shape2}"
        )
    return not ok1


def _direct(
    in1: np.ndarray, in2: np.ndarray, mode: str, convolution: bool, workers: int | None
) -> np.ndarray:
    """scipy.signal.correlate/convolve with method='direct', N-d."""
    result = _result_dtype(in1, in2)
    compute = _compute_dtype(result)
    a = in1.astype(compute, copy=False)
    b = in2.astype(compute, copy=False)
    undo_swap = False
    if mode == "valid" and _swap_needed(a.shape, b.shape):
        a, b = b, a
        # Convolution commutes; a correlation of the swapped inputs is the
        # reversed conjugate of the one asked for.
        undo_swap = not convolution
    if not convolution and b.dtype.kind == "c":
        b = np.conj(b)
    out = _rustconv._correlate(a, b, mode, convolution, workers)
    if undo_swap:
        out = np.ascontiguousarray(_reverse_and_conj(out))
    return _to_result(out, result)


def _fftconvolve_impl() -> Any:
    """rustconv's fftconvolve, or None where this build has no FFT path."""
    from . import _fft

    return getattr(_fft, "fftconvolve", None)


def _fft_method(in1: np.ndarray, in2: np.ndarray, mode: str, workers: int | None) -> np.ndarray:
    fftconvolve = _fftconvolve_impl()
    if fftconvolve is None:
        raise NotImplementedError("method='fft' needs rustconv.fftconvolve, which this build lacks")
    result = np.result_type(in1, in2)
    out: np.ndarray = np.asarray(fftconvolve(in1, in2, mode=mode, workers=workers))
    if result.kind in "iub":
        out = np.round(out)
    if out.size and not np.isfinite(out.reshape(-1)[0]):
        warnings.warn(
            "Use of fft convolution on input with NAN or inf results in NAN or inf output. "
            "Consider using method='direct' instead.",
            RuntimeWarning,
            stacklevel=3,
        )
    return out.astype(result)


def _prepare(in1: Any, in2: Any) -> tuple[np.ndarray, np.ndarray]:
    return as_native_array(in1, "in1"), as_native_array(in2, "in2")


def _check_same_ndim(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != b.ndim:
        raise ValueError(
            f"in1 and in2 should have the same dimensionality, got in1.ndim={a.ndim} and in2.ndim={b.ndim}"
        )


def convolve(
    in1: npt.ArrayLike,
    in2: npt.ArrayLike,
    mode: str = "full",
    method: str = "auto",
    *,
    workers: int | None = None,
) -> np.ndarray:
    """Convolve two N-dimensional arrays (scipy.signal.convolve).

    Parameters
    ----------
    in1 : array_like, shape (n_0, ..., n_{d-1})
        First input.
    in2 : array_like, shape (k_0, ..., k_{d-1})
        Second input, with the same number of dimensions as `in1`.
    mode : {'full', 'valid', 'same'}, optional
        Output size: the full discrete linear convolution (default), only
        the positions that do not rely on zero padding, or the size of
        `in1` centred on the full output.
    method : {'auto', 'direct', 'fft'}, optional
        'direct' sums the definition on rustconv's SIMD kernels; 'fft' calls
        :func:`fftconvolve`; 'auto' (default) asks :func:`choose_conv_method`.
    workers : int, optional
        Threads to use: None = the global setting (:func:`set_num_threads`),
        -1 = all cores, n = n threads.

    Returns
    -------
    out : ndarray
        The convolution, C-contiguous, of dtype ``numpy.result_type(in1,
        in2)`` (integers computed in the integer type, wrapping on overflow).

    Raises
    ------
    ValueError
        If the dimensionalities differ, `mode` or `method` is unknown, in
        'valid' mode neither input is at least as large as the other in
        every dimension, or an input is not numeric.
    TypeError
        If the inputs promote to an unsupported dtype (long double).

    See Also
    --------
    correlate, convolve2d, fftconvolve, choose_conv_method

    Notes
    -----
    Output shape per axis: 'full' ``n + k - 1``, 'same' ``n``, 'valid'
    ``max(n, k) - min(n, k) + 1``. In 'same' mode the output starts at
    ``(k - 1) // 2`` of the full convolution, as in scipy and numpy. Where
    scipy raises for empty inputs, rustconv returns the zeros of the shape
    formula; bool inputs give numpy.convolve's logical result and float16
    is computed in float32, in every dimension.

    Examples
    --------
    >>> import rustconv
    >>> rustconv.convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> rustconv.convolve([1, 2, 3, 4], [1, 1], mode="same")
    array([1, 3, 5, 7])
    """
    w = as_workers(workers)
    a, b = _prepare(in1, in2)
    if a.ndim == b.ndim == 0:
        return np.asarray(a * b)
    _check_same_ndim(a, b)
    mode = _check_mode(mode)
    method = _check_method(method)
    if mode == "valid" and _swap_needed(a.shape, b.shape):
        a, b = b, a
    if method == "auto":
        method = choose_conv_method(a, b, mode)
    if method == "fft" and a.size and b.size:
        return _fft_method(a, b, mode, w)
    return _direct(a, b, mode, True, w)


def correlate(
    in1: npt.ArrayLike,
    in2: npt.ArrayLike,
    mode: str = "full",
    method: str = "auto",
    *,
    workers: int | None = None,
) -> np.ndarray:
    """Cross-correlate two N-dimensional arrays (scipy.signal.correlate).

    ``out[m] = Σ_j in1[m - L + j] · conj(in2[j])`` with ``L`` the left
    offset of `mode`.

    Parameters
    ----------
    in1 : array_like, shape (n_0, ..., n_{d-1})
        First input.
    in2 : array_like, shape (k_0, ..., k_{d-1})
        Second input, with the same number of dimensions as `in1`.
    mode : {'full', 'valid', 'same'}, optional
        Output size, as in :func:`convolve`.
    method : {'auto', 'direct', 'fft'}, optional
        As in :func:`convolve`; 'fft' and 'auto' compute
        ``convolve(in1, in2[::-1, ...].conj(), mode, method)`` as scipy does.
    workers : int, optional
        Threads to use: None = the global setting, -1 = all cores, n = n threads.

    Returns
    -------
    out : ndarray
        The cross-correlation, C-contiguous, of dtype ``numpy.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        If the dimensionalities differ, `mode` or `method` is unknown, in
        'valid' mode neither input is at least as large as the other in
        every dimension, or an input is not numeric.
    TypeError
        If the inputs promote to an unsupported dtype (long double).

    See Also
    --------
    convolve, correlate2d, correlation_lags

    Notes
    -----
    Output shape per axis as in :func:`convolve`. The left offset ``L`` is
    ``k - 1`` in 'full' mode, ``k // 2`` in 'same' mode (note that
    :func:`correlate2d` uses ``(k - 1) // 2``) and 0 in 'valid' mode. When
    'valid' mode swaps the inputs, the result is the reversed conjugate of
    the swapped correlation, as in scipy.

    Examples
    --------
    >>> import rustconv
    >>> rustconv.correlate([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4], mode="same")
    array([11, 20, 30, 40, 50, 60, 70, 44])
    """
    w = as_workers(workers)
    a, b = _prepare(in1, in2)
    if a.ndim == b.ndim == 0:
        return np.asarray(a * (np.conj(b) if b.dtype.kind == "c" else b))
    _check_same_ndim(a, b)
    mode = _check_mode(mode)
    method = _check_method(method)
    if method in ("fft", "auto"):
        return convolve(a, _reverse_and_conj(b), mode, method, workers=w)
    return _direct(a, b, mode, False, w)


def _fill_array(fillvalue: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """``fillvalue`` as a one-element array of ``dtype``, with scipy's checks
    (it goes through complex, and must convert exactly apart from truncating
    a float to an integer)."""
    try:
        fv = np.asarray(fillvalue)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"fillvalue must be a scalar, got {type(fillvalue).__name__}: {exc}") from None
    if fv.size == 0:
        raise ValueError("fillvalue cannot be an empty array; give a scalar")
    if fv.size != 1:
        raise ValueError(f"fillvalue must be a scalar or an array with one element, got shape {fv.shape}")
    item = fv.reshape(-1).tolist()[0]
    if item is None:
        item = math.nan
    try:
        as_complex = complex(item)
    except TypeError:
        raise TypeError(f"fillvalue must be a number, got {type(item).__name__}") from None
    except ValueError:
        raise ValueError(f"fillvalue must be a number, got {item!r}") from None
    if dtype.kind == "c":
        return np.array([as_complex], dtype=dtype)
    if isinstance(item, complex):
        # scipy refuses any complex fill value for a real output, even 2+0j.
        raise ValueError(f"fillvalue {item!r} is complex but the output dtype is {dtype}; it cannot be cast")
    if dtype.kind == "b":
        return np.array([as_complex.real != 0])
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            return np.array([as_complex.real], dtype=dtype)
    if isinstance(item, (int, bool)):
        value = int(item)
    elif math.isfinite(as_complex.real):
        value = int(as_complex.real)
    else:
        raise ValueError(f"fillvalue {item!r} cannot be cast to the integer output dtype {dtype}")
    info = np.iinfo(dtype)
    if not info.min <= value <= info.max:
        raise ValueError(
            f"fillvalue {item!r} does not fit the output dtype {dtype} (range {info.min}..{info.max})"
        )
    return np.array([value], dtype=dtype)


def _plane(
    in1: Any,
    in2: Any,
    mode: str,
    boundary: str,
    fillvalue: Any,
    convolution: bool,
    workers: int | None,
) -> np.ndarray:
    w = as_workers(workers)
    a, b = _prepare(in1, in2)
    name = "convolve2d" if convolution else "correlate2d"
    if not a.ndim == b.ndim == 2:
        raise ValueError(
            f"{name} inputs must both be 2-D arrays, got in1.ndim={a.ndim} and in2.ndim={b.ndim}"
        )
    mode = _check_mode(mode)
    if not isinstance(boundary, str) or boundary not in _BOUNDARIES:
        raise ValueError(
            "boundary must be 'fill' (or 'pad'), 'wrap' (or 'circular') or 'symm' (or 'symmetric'), "
            f"got {boundary!r}"
        )
    result = _result_dtype(a, b)
    compute = _compute_dtype(result)
    fill = _fill_array(fillvalue, result).astype(compute)
    a = a.astype(compute, copy=False)
    b = b.astype(compute, copy=False)
    undo_swap = False
    if mode == "valid" and _swap_needed(a.shape, b.shape):
        a, b = b, a
        undo_swap = not convolution
    if not convolution and b.dtype.kind == "c":
        b = np.conj(b)
    out = _plane_fft(a, b, mode, convolution, boundary, fill, w)
    if out is None:
        out = _rustconv._correlate2d(a, b, mode, convolution, boundary, fill, w)
    if undo_swap:
        # scipy reverses (without conjugating) after swapping the inputs.
        out = np.ascontiguousarray(out[::-1, ::-1])
    return _to_result(out, result)


# np.pad's names for the 2-D boundary rules.
_PAD_MODES = {"fill": "constant", "pad": "constant", "wrap": "wrap", "circular": "wrap"}


def _plane_fft(
    a: np.ndarray,
    b: np.ndarray,
    mode: str,
    convolution: bool,
    boundary: str,
    fill: np.ndarray,
    workers: int | None,
) -> np.ndarray | None:
    """convolve2d/correlate2d through the FFT, or None where the direct
    engine is to run.

    Taken for float32/float64 when the cost model prefers the FFT to the
    direct (or separable) sum, the kernel is no larger than the image and
    every value is finite (a NaN or inf would spread over the whole output
    through the transform; the direct sum keeps it local, as scipy does).
    The boundary-extended image is built with numpy.pad and correlated in
    'valid' mode, so every boundary rule gives the direct engine's result up
    to rounding (float32 within 2e-5, float64 within 1e-11 relative); a zero
    fill needs no extended image.
    """
    if a.dtype.char not in "fd" or a.ndim != 2 or a.size == 0 or b.size == 0:
        return None
    if any(k > n for n, k in zip(a.shape, b.shape)) or _fftconvolve_impl() is None:
        return None
    if _plane_method(a.shape, b, mode) != "fft":
        return None
    if not (np.isfinite(fill).all() and np.isfinite(b).all() and np.isfinite(a).all()):
        return None
    taps = b if convolution else b[::-1, ::-1]
    fftconvolve = _fftconvolve_impl()
    pad_mode = _PAD_MODES.get(boundary, "symmetric")
    if (
        pad_mode == "constant"
        and fill.reshape(-1)[0] == 0
        and (mode != "same" or all(k % 2 for k in b.shape))
    ):
        # Zeros beyond the edges are the FFT convolution's own assumption, so
        # the image goes in as it is: no padded copy (on an 8192² image, 270
        # MB more to allocate, fault in and fill on every call). 'same' keeps
        # this shortcut to odd kernels, where convolve2d's centre (k // 2),
        # correlate2d's ((k - 1) // 2) and fftconvolve's agree.
        out: np.ndarray = np.asarray(fftconvolve(a, taps, mode=mode, workers=workers))
        return np.ascontiguousarray(out, dtype=a.dtype)
    widths: list[tuple[int, int]] = []
    for n, k in zip(a.shape, b.shape):
        # The engine's geometry (src/signal/params.rs): output length and
        # left offset of each mode; convolve2d centres 'same' at k // 2,
        # correlate2d at (k - 1) // 2.
        if mode == "full":
            out_len, offset = n + k - 1, k - 1
        elif mode == "same":
            out_len, offset = n, (k // 2 if convolution else (k - 1) // 2)
        else:
            out_len, offset = n - k + 1, 0
        widths.append((offset, out_len + k - 1 - n - offset))
    if pad_mode == "constant":
        extended = np.pad(a, widths, mode="constant", constant_values=fill.reshape(-1)[0])
    elif pad_mode == "wrap":
        extended = np.pad(a, widths, mode="wrap")
    else:
        extended = np.pad(a, widths, mode="symmetric")
    out = np.asarray(fftconvolve(extended, taps, mode="valid", workers=workers))
    return np.ascontiguousarray(out, dtype=a.dtype)


def _plane_method(shape: tuple[int, ...], kernel: np.ndarray, mode: str) -> str:
    """The cost model's choice for a 2-D float correlation, separable
    kernels included."""
    separable = bool(_rustconv._is_separable(kernel))
    direct_time, fft_time = _predicted_times(shape, kernel.shape, mode, kernel.dtype.char, separable)
    return "fft" if fft_time < direct_time else "direct"


def convolve2d(
    in1: npt.ArrayLike,
    in2: npt.ArrayLike,
    mode: str = "full",
    boundary: str = "fill",
    fillvalue: Any = 0,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """Convolve two 2-D arrays with a boundary rule (scipy.signal.convolve2d).

    Parameters
    ----------
    in1 : array_like, shape (H, W)
        First input.
    in2 : array_like, shape (KH, KW)
        Second input.
    mode : {'full', 'valid', 'same'}, optional
        Output size, as in :func:`convolve`.
    boundary : {'fill', 'wrap', 'symm'}, optional
        How `in1` continues beyond its edges: the constant `fillvalue`
        ('fill', alias 'pad'), periodically ('wrap', alias 'circular'), or
        mirrored with the edge repeated ('symm', alias 'symmetric').
    fillvalue : scalar, optional
        The value outside `in1` for boundary 'fill' (default 0).
    workers : int, optional
        Threads to use: None = the global setting, -1 = all cores, n = n threads.

    Returns
    -------
    out : ndarray
        C-contiguous, of dtype ``numpy.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        If an input is not 2-D, `mode` or `boundary` is unknown, `fillvalue`
        has more or fewer than one element or cannot be cast to the output
        dtype, in 'valid' mode neither input is at least as large as the
        other, or 'wrap'/'symm' is asked of an empty `in1`.

    See Also
    --------
    correlate2d, convolve

    Notes
    -----
    Output shape: 'full' ``(H + KH - 1, W + KW - 1)``, 'same' ``(H, W)``,
    'valid' ``(|H - KH| + 1, |W - KW| + 1)``. 'same' is centred as in
    :func:`convolve`.

    Examples
    --------
    >>> import numpy as np, rustconv
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> rustconv.convolve2d(image, np.ones((3, 3)) / 9, mode="valid")
    array([[ 5.,  6.],
           [ 9., 10.]])
    """
    return _plane(in1, in2, mode, boundary, fillvalue, True, workers)


def correlate2d(
    in1: npt.ArrayLike,
    in2: npt.ArrayLike,
    mode: str = "full",
    boundary: str = "fill",
    fillvalue: Any = 0,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """Cross-correlate two 2-D arrays with a boundary rule (scipy.signal.correlate2d).

    Parameters
    ----------
    in1 : array_like, shape (H, W)
        First input.
    in2 : array_like, shape (KH, KW)
        Second input (conjugated when complex).
    mode : {'full', 'valid', 'same'}, optional
        Output size, as in :func:`convolve`.
    boundary : {'fill', 'wrap', 'symm'}, optional
        As in :func:`convolve2d`.
    fillvalue : scalar, optional
        The value outside `in1` for boundary 'fill' (default 0).
    workers : int, optional
        Threads to use: None = the global setting, -1 = all cores, n = n threads.

    Returns
    -------
    out : ndarray
        C-contiguous, of dtype ``numpy.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        As :func:`convolve2d`.

    See Also
    --------
    convolve2d, correlate

    Notes
    -----
    Output shape as in :func:`convolve2d`. In 'same' mode the left offset is
    ``(k - 1) // 2``, one less than :func:`correlate`'s ``k // 2`` for even
    kernels (scipy's convention).

    Examples
    --------
    >>> import rustconv
    >>> rustconv.correlate2d([[1, 2, 3, 4, 5, 6, 7, 8]], [[1, 2, 3, 4]], mode="same")
    array([[20, 30, 40, 50, 60, 70, 44, 23]])
    """
    return _plane(in1, in2, mode, boundary, fillvalue, False, workers)


# rustconv's crossover between its direct kernels and its FFT path.
#
# Model (seconds, per thread, so the thread count cancels out):
#   direct = out_elements * (kernel_elements / MAC_RATE + PER_OUTPUT)
#   fft    = 3 * N * log2(N) / FFT_RATE + FFT_OVERHEAD,  N = full output size
# Measured on the 2-core AMD EPYC (Zen 3, AVX2+FMA) machine, 2026-11-27, in
# CPU time of one thread (the machine was shared, load average 12):
# `python benches/bench_signal.py --calibrate` gave float32 2.3e10 MAC/s and
# 1.5 ns per output, float64 1.3e10 and 1.7 ns, complex64 1.5e9, complex128
# 7.7e8 (1024² images, 3×3 and 21×21 kernels), and rustconv's own FFT path
# (realfft/rustfft, one thread) float32 5.8e9, float64 3.0e9, complex64
# 2.7e9, complex128 1.7e9 "3 N log2 N" per second on 2048² ⊛ 31×31 (1-D
# 2^20 ⊛ 4001 runs about 1.7× faster; the 2-D rate is the conservative
# one). An earlier quieter run gave float32 2.55e10 MAC/s, which the table
# takes. With these, 2048² float32 'same' is direct up to 15×15 (about 45 ms
# per thread either way, measured 37-42 ms direct against 45-50 ms FFT) and
# FFT from 17×17 (cv2.filter2D switches to its DFT above 11×11); a rank-one
# kernel stays direct to far larger sizes (31×31 costs about 77 multiply-adds
# per output instead of 961); 1-D 10⁶ × 101 float64 is direct (10 ms against
# 20 ms) and 10⁶ × 4001 FFT. convolve2d/correlate2d use the same model. To
# recalibrate, rerun that command and edit this table.
_COSTS: dict[str, tuple[float, float, float]] = {
    # dtype char: (MAC_RATE, PER_OUTPUT, FFT_RATE)
    "f": (2.55e10, 1.4e-9, 5.8e9),
    "d": (1.3e10, 1.7e-9, 3.0e9),
    "F": (1.5e9, 2.5e-9, 2.7e9),
    "D": (0.77e9, 3.4e-9, 1.7e9),
}
_FFT_OVERHEAD = 5e-5


# Rows per band of the engine's separable path (SEPARABLE_BAND_ROWS in
# src/signal/plane.rs): its first pass computes kh - 1 extra rows per band.
_SEPARABLE_BAND_ROWS = 64


def _predicted_times(
    s1: tuple[int, ...], s2: tuple[int, ...], mode: str, char: str, separable: bool = False
) -> tuple[float, float]:
    """(direct, fft) seconds per thread from the model above; ``separable``
    (a rank-one 2-D kernel ``s2``) costs ``kh + kw (1 + (kh - 1) / 64)``
    multiply-adds per output instead of ``kh kw``."""
    mac_rate, per_output, fft_rate = _COSTS.get(char, _COSTS["d"])
    if mode == "full":
        out = [n + k - 1 for n, k in zip(s1, s2)]
    elif mode == "same":
        out = list(s1)
    else:
        out = [abs(n - k) + 1 for n, k in zip(s1, s2)]
    out_size = float(math.prod(out))
    kernel = float(min(math.prod(s1), math.prod(s2)))
    if separable and len(s2) == 2:
        kh, kw = s2
        kernel = kh + kw * (1.0 + (kh - 1) / _SEPARABLE_BAND_ROWS)
        # Two passes, each with its own per-output cost.
        per_output *= 2.0
    direct = out_size * (kernel / mac_rate + per_output)
    n = float(math.prod(n + k - 1 for n, k in zip(s1, s2)))
    fft = 3.0 * n * math.log2(max(n, 2.0)) / fft_rate + _FFT_OVERHEAD
    return direct, fft


@overload
def choose_conv_method(
    in1: npt.ArrayLike,
    in2: npt.ArrayLike,
    mode: str = ...,
    measure: Literal[False] = ...,
    *,
    workers: int | None = ...,
) -> str: ...
@overload
def choose_conv_method(
    in1: npt.ArrayLike,
    in2: npt.ArrayLike,
    mode: str = ...,
    *,
    measure: Literal[True],
    workers: int | None = ...,
) -> tuple[str, dict[str, float]]: ...
def choose_conv_method(
    in1: npt.ArrayLike,
    in2: npt.ArrayLike,
    mode: str = "full",
    measure: bool = False,
    *,
    workers: int | None = None,
) -> str | tuple[str, dict[str, float]]:
    """Pick the faster of rustconv's direct and FFT methods (scipy.signal.choose_conv_method).

    Parameters
    ----------
    in1 : array_like, shape (n_0, ..., n_{d-1})
        First argument of the convolution.
    in2 : array_like, shape (k_0, ..., k_{d-1})
        Second argument.
    mode : {'full', 'valid', 'same'}, optional
        Output size, as in :func:`convolve`.
    measure : bool, optional
        If True, time both methods on these inputs and return the faster
        with the times; otherwise predict from rustconv's cost model.
    workers : int, optional
        Threads for the timed runs of ``measure=True`` (the model's rates
        are per thread, so the prediction does not depend on it).

    Returns
    -------
    method : str
        'direct' or 'fft'.
    times : dict
        Only with ``measure=True``: seconds per method.

    Raises
    ------
    ValueError
        If `mode` is unknown.

    See Also
    --------
    convolve, correlate

    Notes
    -----
    Integer, bool and non-numeric inputs always give 'direct' (exact
    integer arithmetic), as do empty inputs and builds without an FFT path.
    Otherwise the model compares ``output × kernel`` multiply-adds at the
    measured rate of rustconv's SIMD kernels with three FFTs of the full
    size, ``3 N log2 N``; see the calibration comment in the source. A 2-D
    float kernel that is rank one (``kernel[i, j] = u[i] v[j]`` within
    8 ε in relative Frobenius norm) runs on the separable path and costs
    about ``kh + kw`` multiply-adds per output, which keeps it direct up
    to much larger kernels. :func:`convolve2d` and :func:`correlate2d` use
    the same model to move large float kernels to the FFT.

    Examples
    --------
    >>> import numpy as np, rustconv
    >>> rustconv.choose_conv_method(np.ones(100), np.ones(3))
    'direct'
    """
    a = np.asarray(in1)
    b = np.asarray(in2)
    mode = _check_mode(mode)
    w = as_workers(workers)
    if measure:
        times: dict[str, float] = {}
        methods = ["direct"] if _fftconvolve_impl() is None else ["fft", "direct"]
        for method in methods:
            timer = timeit.Timer(lambda m=method: convolve(a, b, mode=mode, method=m, workers=w))  # type: ignore[misc]
            number, _ = timer.autorange()
            times[method] = min(timer.repeat(3, number)) / number
        best = min(times, key=lambda m: times[m])
        return best, times
    if a.dtype.kind not in "biufc" or b.dtype.kind not in "biufc":
        return "direct"
    if np.result_type(a, b).kind not in "fc":
        return "direct"
    if a.size == 0 or b.size == 0 or a.ndim != b.ndim or _fftconvolve_impl() is None:
        return "direct"
    char = np.result_type(a, b).char
    if char == "e":
        char = "f"  # float16 computes in float32
    separable = False
    if a.ndim == 2 and char in "fd":
        separable = bool(_rustconv._is_separable(np.asarray(b, dtype=char)))
    direct_time, fft_time = _predicted_times(a.shape, b.shape, mode, char, separable)
    return "fft" if fft_time < direct_time else "direct"


def correlation_lags(in1_len: int, in2_len: int, mode: str = "full") -> np.ndarray:
    """Lag indices of a 1-D cross-correlation (scipy.signal.correlation_lags).

    Parameters
    ----------
    in1_len : int
        Length of the first input.
    in2_len : int
        Length of the second input.
    mode : {'full', 'valid', 'same'}, optional
        Output size of the correlation, as in :func:`correlate`.

    Returns
    -------
    lags : ndarray of int, shape (L,)
        The lag of each entry of ``correlate(in1, in2, mode)``; index it with
        the argmax of the correlation to find the displacement.

    Raises
    ------
    ValueError
        If `mode` is unknown.

    See Also
    --------
    correlate

    Notes
    -----
    'full' gives ``-in2_len + 1 .. in1_len - 1``; 'same' the ``in1_len``
    lags centred on the full range; 'valid' ``0 .. in1_len - in2_len`` (or
    ``in1_len - in2_len .. 0`` when the second input is longer).

    Examples
    --------
    >>> import rustconv
    >>> rustconv.correlation_lags(5, 3)
    array([-2, -1,  0,  1,  2,  3,  4])
    >>> rustconv.correlation_lags(5, 3, mode="same")
    array([-1,  0,  1,  2,  3])
    """
    if mode == "full":
        return np.arange(-in2_len + 1, in1_len)
    if mode == "same":
        lags = np.arange(-in2_len + 1, in1_len)
        mid = lags.size // 2
        bound = in1_len // 2
        if in1_len % 2 == 0:
            return lags[(mid - bound) : (mid + bound)]
        return lags[(mid - bound) : (mid + bound) + 1]
    if mode == "valid":
        bound = in1_len - in2_len
        if bound >= 0:
            return np.arange(bound + 1)
        return np.arange(bound, 1)
    raise ValueError(f"mode must be 'full', 'same' or 'valid', got {mode!r}")
