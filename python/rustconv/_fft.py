"""Typed wrappers of the fft family: ``fftconvolve`` and ``oaconvolve``."""

from __future__ import annotations

import operator
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _rustconv
from ._util import as_native_array, as_workers

__all__ = ["fftconvolve", "oaconvolve"]

_MODES = ("full", "same", "valid")
_COMPUTE: dict[np.dtype[Any], np.dtype[Any]] = {
    np.dtype(np.float32): np.dtype(np.float32),
    np.dtype(np.float64): np.dtype(np.float64),
    np.dtype(np.complex64): np.dtype(np.complex64),
    np.dtype(np.complex128): np.dtype(np.complex128),
    np.dtype(np.longdouble): np.dtype(np.float64),
    np.dtype(np.clongdouble): np.dtype(np.complex128),
}


def _transform_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    # scipy.fft computes integers and bool in float64 and float16 in float32.
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype == np.float16:
        return np.dtype(np.float32)
    return dtype


def _normalize_axes(axes: Any, ndim: int) -> list[int] | None:
    """scipy's axes rules: an int or a sequence of ints, negative allowed."""
    if axes is None:
        return None
    try:
        items = [operator.index(axes)]
    except TypeError:
        try:
            items = [operator.index(a) for a in axes]
        except TypeError:
            raise ValueError(f"axes must be None, an int or a sequence of ints, got {axes!r}") from None
    if not items:
        raise ValueError("axes must not be empty when given; pass None to convolve over every axis")
    normalized = [a + ndim if a < 0 else a for a in items]
    for given, a in zip(items, normalized):
        if not 0 <= a < ndim:
            raise ValueError(
                f"axes contains {given}, which exceeds the dimensionality of the inputs ({ndim}); "
                f"allowed are {-ndim} to {ndim - 1}"
            )
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"axes must be unique, got {axes!r}")
    return normalized


def _numeric(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype.kind in "biufc":
        return arr
    if arr.dtype.kind in "OUS":
        # scipy.fft reads object and string arrays as float64.
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} cannot be read as float64 numbers: {exc}") from None
    raise TypeError(
        f"{name} has dtype {arr.dtype}, which is not supported; "
        "supported are bool, integer, floating and complex dtypes"
    )


def _centered(ret: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    start = [(r - s) // 2 for r, s in zip(ret.shape, shape)]
    return ret[tuple(slice(b, b + s) for b, s in zip(start, shape))].copy()


def _convolve(in1: Any, in2: Any, mode: str, axes: Any, workers: int | None, blocking: str) -> Any:
    workers = as_workers(workers)
    a = as_native_array(in1, "in1")
    b = as_native_array(in2, "in2")
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"mode must be 'full', 'valid' or 'same', got {mode!r}")
    a = _numeric(a, "in1")
    b = _numeric(b, "in2")
    if a.ndim == b.ndim == 0:
        return a * b  # scipy returns the plain product of two scalars
    if a.ndim != b.ndim:
        raise ValueError(
            "in1 and in2 should have the same dimensionality, "
            f"got in1 with shape {a.shape} and in2 with shape {b.shape}"
        )
    if a.size == 0 or b.size == 0:
        return np.asarray([])
    axes_list = _normalize_axes(axes, a.ndim)
    transformed = [
        ax
        for ax in (range(a.ndim) if axes_list is None else axes_list)
        if a.shape[ax] != 1 and b.shape[ax] != 1
    ]
    if not transformed:
        # Every convolved axis has length 1 on one side: the convolution is the
        # broadcast product, in NumPy's dtype as scipy returns it.
        for ax in range(a.ndim):
            if a.shape[ax] != b.shape[ax] and 1 not in (a.shape[ax], b.shape[ax]):
                raise ValueError(f"incompatible shapes for in1 and in2: {a.shape} and {b.shape}")
        ret = a * b
        return _centered(ret, a.shape) if mode == "same" else ret.copy()
    dtype = np.result_type(_transform_dtype(a.dtype), _transform_dtype(b.dtype))
    compute = _COMPUTE[dtype]
    out = _rustconv._fftconvolve(
        a.astype(compute, copy=False), b.astype(compute, copy=False), mode, axes_list, blocking, workers
    )
    return out if out.dtype == dtype else out.astype(dtype)


def fftconvolve(
    in1: npt.ArrayLike,
    in2: npt.ArrayLike,
    mode: Literal["full", "valid", "same"] = "full",
    axes: int | list[int] | tuple[int, ...] | None = None,
    *,
    workers: int | None = None,
) -> Any:
    """Convolve two N-dimensional arrays using FFT (scipy.signal.fftconvolve).

    Parameters
    ----------
    in1 : array_like, shape (n_0, ..., n_{d-1})
        First input.
    in2 : array_like, shape (k_0, ..., k_{d-1})
        Second input, with the same number of dimensions as `in1`.
    mode : {'full', 'valid', 'same'}, optional
        ``full`` (default): the full discrete linear convolution.
        ``valid``: only the elements that do not rely on zero padding; one
        input must be at least as large as the other in every convolved
        dimension (the inputs are swapped when `in2` is the larger).
        ``same``: the size of `in1`, centred on the full output.
    axes : int or sequence of ints or None, optional
        Axes to convolve over (default: all). Along the other axes the sizes
        must be equal or one of them 1 (broadcast).
    workers : int or None, optional
        Threads to use: None = the global setting
        (:func:`rustconv.set_num_threads`), -1 = all cores, n = n threads.

    Returns
    -------
    out : numpy.ndarray
        The convolution, C-contiguous. float32 and complex64 stay in their
        precision; integers and bool give float64; mixed inputs promote.

    Raises
    ------
    ValueError
        If the inputs differ in dimensionality, `mode` or `axes` is invalid,
        the non-convolved axes do not broadcast, or 'valid' mode has no
        input at least as large as the other.
    TypeError
        If an input is not numeric.

    See Also
    --------
    oaconvolve : Overlap-add style block convolution.
    scipy.signal.fftconvolve : The reference semantics.

    Notes
    -----
    Along a convolved axis the full output has ``n + k - 1`` elements,
    'same' ``n`` and 'valid' ``max(n, k) - min(n, k) + 1``; along the other
    axes ``max(n, k)``, and 'same' takes ``n`` from the centre. Transforms
    use lengths that are products of 2, 3, 5 and 7 and run in the inputs'
    precision. For a small kernel against a long input the work is done in
    overlap-save blocks (chosen by a cost model), each computed by one task;
    results are bitwise identical for every thread count. Two 0-d inputs
    give their product; an empty input gives an empty float64 array, as in
    scipy.

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    >>> np.round(rustconv.fftconvolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5]), 12)
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> rustconv.fftconvolve(np.ones((4, 4), np.float32), np.ones((3, 3), np.float32), "valid")
    array([[9., 9.],
           [9., 9.]], dtype=float32)
    """
    return _convolve(in1, in2, mode, axes, workers, "auto")


def oaconvolve(
    in1: npt.ArrayLike,
    in2: npt.ArrayLike,
    mode: Literal["full", "valid", "same"] = "full",
    axes: int | list[int] | tuple[int, ...] | None = None,
    *,
    workers: int | None = None,
) -> Any:
    """Convolve two N-dimensional arrays block by block (scipy.signal.oaconvolve).

    Parameters
    ----------
    in1 : array_like, shape (n_0, ..., n_{d-1})
        First input.
    in2 : array_like, shape (k_0, ..., k_{d-1})
        Second input, with the same number of dimensions as `in1`.
    mode : {'full', 'valid', 'same'}, optional
        The output size, as in :func:`fftconvolve`.
    axes : int or sequence of ints or None, optional
        Axes to convolve over (default: all); the other axes broadcast.
    workers : int or None, optional
        Threads to use: None = the global setting, -1 = all cores, n = n
        threads.

    Returns
    -------
    out : numpy.ndarray
        The convolution, with :func:`fftconvolve`'s shape and dtype.

    Raises
    ------
    ValueError
        As :func:`fftconvolve`.
    TypeError
        If an input is not numeric.

    See Also
    --------
    fftconvolve : One transform over the whole output when that is cheaper.
    scipy.signal.oaconvolve : The reference semantics.

    Notes
    -----
    The output is cut into blocks along every convolved axis whenever more
    than one block fits; the block length (a product of 2, 3, 5 and 7) is
    chosen by a cost model. Blocks are computed in the overlap-save form:
    each reads the input span it needs and writes its own part of the
    output, so blocks run in parallel and no sum crosses blocks (results
    are bitwise identical for every thread count). The shape formulas are
    those of :func:`fftconvolve`.

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    >>> signal = np.arange(10.0)
    >>> np.round(rustconv.oaconvolve(signal, [1.0, -1.0], "valid"), 12)
    array([1., 1., 1., 1., 1., 1., 1., 1., 1.])
    """
    return _convolve(in1, in2, mode, axes, workers, "blocks")
