"""Typed wrappers of the pad family: numpy.pad's semantics, torch's mode names."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _rustconv
from ._util import as_native_array, as_workers

__all__ = ["pad", "pad_backward"]

PadMode = Literal["constant", "edge", "reflect", "symmetric", "wrap", "zeros", "replicate", "circular"]

_SUPPORTED = (
    "'constant', 'edge', 'reflect', 'symmetric', 'wrap' (or torch's 'zeros', 'replicate', 'circular')"
)
_NUMPY_ONLY_MODES = frozenset({"empty", "linear_ramp", "maximum", "mean", "median", "minimum"})
# pad only moves elements, so every dtype travels as the unsigned integer of
# its size (16-byte types as complex128): bits, NaN payloads and byte order
# are kept exactly, and one kernel per size serves every dtype.
_BITS_BY_ITEMSIZE: dict[int, np.dtype[Any]] = {
    1: np.dtype(np.uint8),
    2: np.dtype(np.uint16),
    4: np.dtype(np.uint32),
    8: np.dtype(np.uint64),
    16: np.dtype(np.complex128),
}
_GRAD_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))


def _check_mode(mode: object) -> str:
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, one of {_SUPPORTED}; got {type(mode).__name__}: {mode!r}")
    if mode in _NUMPY_ONLY_MODES:
        raise ValueError(
            f"mode {mode!r} of numpy.pad is not supported by rustconv; supported modes are {_SUPPORTED}"
        )
    return mode


# Widths from here on take the general path, whose errors name pad_width.
_INT64_END = 2**63


def _pad_pairs(pad_width: Any, shape: tuple[int, ...], name: str) -> list[tuple[int, int]]:
    """numpy.pad's reading of ``pad_width`` as one (before, after) pair per axis."""
    ndim = len(shape)
    # The common spellings of non-negative Python ints skip the array
    # conversion and broadcasting below (about 30 µs per call).
    if type(pad_width) is int and 0 <= pad_width < _INT64_END:
        return [(pad_width, pad_width)] * ndim
    if isinstance(pad_width, (tuple, list)):
        if len(pad_width) == 2 and all(type(w) is int and 0 <= w < _INT64_END for w in pad_width):
            return [(pad_width[0], pad_width[1])] * ndim
        if (
            ndim > 0
            and len(pad_width) == ndim
            and all(
                isinstance(p, (tuple, list))
                and len(p) == 2
                and all(type(w) is int and 0 <= w < _INT64_END for w in p)
                for p in pad_width
            )
        ):
            return [(p[0], p[1]) for p in pad_width]
    if isinstance(pad_width, Mapping):
        # numpy >= 2.3: {axis: width or (before, after)}, other axes unpadded.
        seq: list[Any] = [(0, 0)] * ndim
        for axis, width in pad_width.items():
            try:
                k = operator.index(axis)
            except TypeError:
                raise TypeError(f"pad_width's keys must be axis numbers, got {axis!r}") from None
            if not -ndim <= k < ndim:
                raise ValueError(
                    f"pad_width names axis {k}, but {name} has {ndim} dimensions (shape {shape})"
                )
            seq[k] = (width, width) if np.ndim(width) == 0 else width
        pad_width = seq
    try:
        widths = np.asarray(pad_width)
    except (TypeError, ValueError):
        raise ValueError(
            f"pad_width must be an int, a (before, after) pair or one such pair per dimension, got {pad_width!r}"
        ) from None
    if widths.size == 0 and widths.dtype.kind == "f":
        # An empty list or dict of pairs (for a 0-d array): nothing to pad.
        widths = widths.astype(np.intp)
    if widths.dtype.kind not in "iu":
        raise TypeError(f"pad_width must be of integral type, got {widths.dtype} values: {pad_width!r}")
    if widths.size and widths.min() < 0:
        raise ValueError(f"pad_width must not contain negative values, got {pad_width!r}")
    if ndim == 0 and widths.size == 0:
        return []
    # numpy's broadcasting rule (numpy.lib._arraypad_impl._as_pairs).
    if widths.ndim < 3 and widths.size == 1:
        value = int(widths.ravel()[0])
        return [(value, value)] * ndim
    if widths.ndim < 3 and widths.size == 2 and widths.shape != (2, 1):
        before, after = (int(v) for v in widths.ravel())
        return [(before, after)] * ndim
    try:
        full = np.broadcast_to(widths, (ndim, 2))
    except ValueError:
        raise ValueError(
            f"pad_width of shape {widths.shape} cannot be broadcast to ({ndim}, 2), one (before, after) pair "
            f"for each dimension of {name} (shape {shape})"
        ) from None
    return [(int(b), int(a)) for b, a in full.tolist()]


def _constant_pairs(values: Any, arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``constant_values`` as numpy.pad reads it: 2·ndim values of ``arr``'s dtype."""
    ndim = arr.ndim
    try:
        x = np.array(values)
    except (TypeError, ValueError):
        raise TypeError(f"constant_values must be a number or numbers, got {values!r}") from None
    if x.dtype.kind not in "biufc":
        raise TypeError(f"constant_values must be numeric, got {x.dtype} values: {values!r}")
    pairs: Any
    if x.ndim < 3 and x.size == 1:
        pairs = ((x.ravel()[0],) * 2,) * ndim
    elif x.ndim < 3 and x.size == 2 and x.shape != (2, 1):
        flat = x.ravel()
        pairs = ((flat[0], flat[1]),) * ndim
    else:
        try:
            pairs = np.broadcast_to(x, (ndim, 2)).tolist()
        except ValueError:
            raise ValueError(
                f"constant_values of shape {x.shape} cannot be broadcast to ({ndim}, 2), one (before, after) "
                f"pair for each dimension of array (shape {arr.shape})"
            ) from None
    out = np.empty((ndim, 2), dtype=arr.dtype)
    # Element-wise assignment casts exactly as numpy.pad's slice assignment does.
    for axis, (before, after) in enumerate(pairs):
        out[axis, 0] = before
        out[axis, 1] = after
    return out.reshape(-1)


def pad(
    array: npt.ArrayLike,
    pad_width: Any,
    mode: PadMode = "constant",
    constant_values: Any = 0,
    *,
    reflect_type: Literal["even"] = "even",
    workers: int | None = None,
) -> np.ndarray[Any, Any]:
    """Pad an array, as ``numpy.pad`` does.

    Parameters
    ----------
    array : array_like, shape (n_0, ..., n_{d-1})
        Any numeric or bool array of any number of dimensions (0-d
        included), any strides and byte order. It is not modified.
    pad_width : int, (before, after), ((before_0, after_0), ...) or dict
        Number of elements added before and after each axis, in every form
        numpy.pad takes: one int for every side, one ``(before, after)`` pair
        for every axis, one pair per axis, ``((n,),)``-style arrays that
        broadcast to shape ``(d, 2)``, or ``{axis: int or (before, after)}``.
        Non-negative integers.
    mode : str, optional
        How the new elements are filled (DESIGN's boundary table):
        ``'constant'`` (``constant_values``; torch's ``'zeros'`` pads with 0),
        ``'edge'`` (the edge repeated; torch's ``'replicate'``), ``'reflect'``
        (mirror without repeating the edge, ``dcb|abcd``), ``'symmetric'``
        (mirror repeating the edge, ``cba|abcd``), ``'wrap'`` (periodic;
        torch's ``'circular'``). Pads wider than the axis continue the
        pattern, as numpy.pad does.
    constant_values : scalar or sequence, optional
        The values for ``'constant'``, in numpy.pad's forms (a scalar, a
        ``(before, after)`` pair for every axis, or one pair per axis), cast
        to the array's dtype. Ignored by the other modes.
    reflect_type : {'even'}, optional
        numpy.pad's variant of ``'reflect'`` and ``'symmetric'``; only the
        default ``'even'`` is supported.
    workers : int or None, optional
        Threads to use: None for the global setting, -1 for all cores.

    Returns
    -------
    numpy.ndarray, shape (before_0 + n_0 + after_0, ...)
        A new C-contiguous array with the dtype (byte order included) of
        ``array``.

    Raises
    ------
    ValueError
        For negative or unbroadcastable ``pad_width``, an unknown ``mode``,
        ``reflect_type='odd'``, or an empty axis padded by a mode other than
        ``'constant'``.
    TypeError
        For a non-integer ``pad_width``, a non-numeric ``array`` or
        ``constant_values``, or a ``mode`` that is not a str.

    See Also
    --------
    numpy.pad : the reference semantics.
    torch.nn.functional.pad : the same modes under torch's names (torch's
        pad list runs from the last axis backwards).
    pad_backward : the adjoint, for gradients.

    Notes
    -----
    Output shape: ``out[k] = before[k] + n[k] + after[k]``. In constant mode
    an element in the padding of several axes takes the value of the last
    such axis, as in numpy.pad. The result is bit-for-bit numpy.pad's for
    every supported mode and dtype, and the same for any thread count.

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    >>> rustconv.pad(np.array([1, 2, 3, 4]), 2, mode="reflect")
    array([3, 2, 1, 2, 3, 4, 3, 2])
    >>> rustconv.pad(np.array([[1, 2], [3, 4]]), ((1, 0), (0, 2)), constant_values=9)
    array([[9, 9, 9, 9],
           [1, 2, 9, 9],
           [3, 4, 9, 9]])
    >>> rustconv.pad(np.arange(3.0), (1, 4), mode="circular")
    array([2., 0., 1., 2., 0., 1., 2., 0.])
    """
    arr = np.asarray(array)
    mode_name = _check_mode(mode)
    bits = _BITS_BY_ITEMSIZE.get(arr.dtype.itemsize)
    if arr.dtype.kind not in "biufc" or bits is None:
        raise TypeError(
            f"array has dtype {arr.dtype}, which rustconv.pad does not support; "
            "it pads bool, integer, floating and complex arrays of 1, 2, 4, 8 or 16 bytes"
        )
    if mode_name in ("reflect", "symmetric") and reflect_type != "even":
        raise ValueError(
            f"reflect_type must be 'even' (the only variant rustconv supports), got {reflect_type!r}"
        )
    pairs = _pad_pairs(pad_width, arr.shape, "array")
    constants = None
    if mode_name == "constant":
        constants = _constant_pairs(constant_values, arr).view(bits)
    elif mode_name == "zeros" and np.any(np.asarray(constant_values) != 0):
        raise ValueError(
            f"mode 'zeros' pads with 0; use mode='constant' for constant_values={constant_values!r}"
        )
    out = _rustconv._pad(arr.view(bits), pairs, mode_name, constants, as_workers(workers))
    return out.view(arr.dtype)


def pad_backward(
    grad: npt.ArrayLike,
    pad_width: Any,
    mode: PadMode = "constant",
    *,
    workers: int | None = None,
) -> np.ndarray[Any, Any]:
    """Gradient of :func:`pad` with respect to its unpadded input.

    Parameters
    ----------
    grad : array_like, shape (before_0 + n_0 + after_0, ...)
        The gradient with respect to the padded array. float32, float64,
        complex64 and complex128 are computed in their own type; integer,
        bool and float16 gradients are computed in float64 (float32 for
        float16).
    pad_width : int, (before, after), ((before_0, after_0), ...) or dict
        The padding that was applied, in any form :func:`pad` takes.
    mode : str, optional
        The mode that was applied (same names as :func:`pad`).
    workers : int or None, optional
        Threads to use: None for the global setting, -1 for all cores.

    Returns
    -------
    numpy.ndarray, shape (n_0, ..., n_{d-1})
        A new C-contiguous array: each input element receives the sum of the
        gradient at every padded position that repeats it (the position
        itself, plus mirrored, repeated or wrapped copies; constant padding
        contributes nothing).

    Raises
    ------
    ValueError
        For a ``grad`` smaller than the padding along some axis, invalid
        ``pad_width`` or ``mode`` (as in :func:`pad`).
    TypeError
        For a non-numeric ``grad`` or non-integer ``pad_width``.

    See Also
    --------
    pad : the forward operation.

    Notes
    -----
    Unpadded shape: ``n[k] = grad.shape[k] - before[k] - after[k]``. This is
    the adjoint of :func:`pad` (with zero constants):
    ``<pad(x), g> == <x, pad_backward(g)>``. The sums run in an order fixed
    by the shape, so results are bitwise identical for every thread count.

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    >>> rustconv.pad_backward(np.ones(8), 2, mode="reflect")
    array([1., 3., 3., 1.])
    >>> rustconv.pad_backward(np.arange(6.0), (1, 2), mode="constant")
    array([1., 2., 3.])
    """
    g = as_native_array(grad, "grad")
    mode_name = _check_mode(mode)
    if g.dtype not in _GRAD_DTYPES:
        if g.dtype.kind in "biu":
            g = g.astype(np.float64)
        elif g.dtype == np.float16:
            g = g.astype(np.float32)
        else:
            raise TypeError(
                f"grad has dtype {g.dtype}, which rustconv.pad_backward does not support; "
                "use float32, float64, complex64 or complex128 (integers are computed in float64)"
            )
    pairs = _pad_pairs(pad_width, g.shape, "grad")
    return _rustconv._pad_backward(g, pairs, mode_name, as_workers(workers))
