"""Typed wrappers of the pool family: max, average, Lp and adaptive pooling
with ``torch.nn.functional``'s semantics on NumPy arrays, and every backward.

The 1-D, 2-D and 3-D variants of each operation share one implementation
(the Rust core treats lower ranks as 3-D with unit dimensions); the public
functions are built per rank below, each with its own signature and
docstring.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Callable, Literal, Optional, Protocol, Union, cast, overload

import numpy as np
import numpy.typing as npt

from . import _rustconv
from ._util import as_native_array, as_tuple, as_workers

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool1d_backward",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool3d",
    "adaptive_avg_pool3d_backward",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_backward",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_backward",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_backward",
    "avg_pool1d",
    "avg_pool1d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "avg_pool3d",
    "avg_pool3d_backward",
    "lp_pool1d",
    "lp_pool1d_backward",
    "lp_pool2d",
    "lp_pool2d_backward",
    "lp_pool3d",
    "lp_pool3d_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_pool3d",
    "max_pool3d_backward",
    "pool_output_shape",
]

IntOrTuple = Union[int, Sequence[int]]
OutputSize = Union[int, None, Sequence[Optional[int]]]
Array = npt.NDArray[Any]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


_INT64 = 2**63


def _fits(values: tuple[int, ...], name: str) -> tuple[int, ...]:
    """The values, or a ValueError when one does not fit the core's 64-bit sizes."""
    for v in values:
        if not -_INT64 <= v < _INT64:
            raise ValueError(f"{name} entries must fit in 64 bits, got {values!r}")
    return values


def _shape_tuple(value: Sequence[int], name: str) -> tuple[int, ...]:
    try:
        return _fits(tuple(operator.index(v) for v in value), name)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of ints, got {value!r}") from None


def _float_arrays(**arrays: Any) -> list[np.ndarray]:
    """Arrays of one common float dtype (float32 or float64); a TypeError
    names the first argument of another dtype."""
    converted = [as_native_array(value, name) for name, value in arrays.items()]
    for name, arr in zip(arrays, converted):
        if arr.dtype not in _FLOAT_DTYPES:
            raise TypeError(
                f"{name} has dtype {arr.dtype}, which is not supported; supported dtypes are float32, float64"
            )
    common = np.result_type(*converted)
    return [arr if arr.dtype == common else arr.astype(common) for arr in converted]


def _window(
    rank: int, kernel_size: IntOrTuple, stride: IntOrTuple | None, padding: IntOrTuple, dilation: IntOrTuple
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    kernel = _fits(as_tuple(kernel_size, rank, "kernel_size"), "kernel_size")
    strides = kernel if stride is None else _fits(as_tuple(stride, rank, "stride"), "stride")
    return (
        kernel,
        strides,
        _fits(as_tuple(padding, rank, "padding"), "padding"),
        _fits(as_tuple(dilation, rank, "dilation"), "dilation"),
    )


def _output_size(value: OutputSize, rank: int) -> list[int | None]:
    if value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))):
        single = None if value is None else _fits((operator.index(value),), "output_size")[0]
        return [single] * rank
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"output_size must be an int, None or a tuple of {rank} ints or None, got {value!r}")
    if len(value) != rank:
        raise ValueError(
            f"output_size must have {rank} entries (one per spatial dimension), got {len(value)}: {value!r}"
        )
    try:
        sizes = [None if v is None else operator.index(v) for v in value]
    except TypeError:
        raise TypeError(
            f"output_size must be an int, None or a tuple of {rank} ints or None, got {value!r}"
        ) from None
    _fits(tuple(v for v in sizes if v is not None), "output_size")
    return sizes


def _norm_type(norm_type: float) -> float:
    # float() would also parse a string such as "2"; a norm is a number.
    if isinstance(norm_type, (bool, np.bool_, str, bytes)):
        raise TypeError(f"norm_type must be a number, got {norm_type!r}")
    try:
        return float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(f"norm_type must be a number, got {norm_type!r}") from None


# --- the shapes and examples each docstring quotes --------------------------

_IN = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)", 3: "(N, C, D, H, W) or (C, D, H, W)"}
_OUT = {
    1: "(N, C, L_out) or (C, L_out)",
    2: "(N, C, H_out, W_out) or (C, H_out, W_out)",
    3: "(N, C, D_out, H_out, W_out) or (C, D_out, H_out, W_out)",
}
_EXAMPLE_INPUT = {
    1: ">>> x = np.array([[[1.0, 3.0, 2.0, 5.0, 4.0, 0.0]]])",
    2: ">>> x = np.arange(16.0).reshape(1, 1, 4, 4)",
    3: ">>> x = np.arange(64.0).reshape(1, 1, 4, 4, 4)",
}

_FORMULA = """    Along each spatial axis of length L, with kernel K, stride S, padding P
    and dilation D::

        L_out = floor((L + 2P - D(K - 1) - 1 + (S - 1 if ceil_mode else 0)) / S) + 1

    and in ceil mode the last window is dropped when it would start in the
    right padding, ``(L_out - 1) S >= L + P``, as torch does. Padding must
    be at most half the kernel size."""


def _make(name: str, impl: Callable[..., Any], doc: str) -> Any:
    impl.__name__ = impl.__qualname__ = name
    impl.__doc__ = doc
    return impl


# --- max pooling -------------------------------------------------------------


class _MaxPool(Protocol):
    @overload
    def __call__(
        self,
        input: npt.ArrayLike,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        ceil_mode: bool = False,
        return_indices: Literal[False] = False,
        *,
        workers: int | None = None,
    ) -> Array: ...
    @overload
    def __call__(
        self,
        input: npt.ArrayLike,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        ceil_mode: bool = False,
        *,
        return_indices: Literal[True],
        workers: int | None = None,
    ) -> tuple[Array, Array]: ...
    @overload
    def __call__(
        self,
        input: npt.ArrayLike,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        ceil_mode: bool = False,
        return_indices: bool = False,
        *,
        workers: int | None = None,
    ) -> Array | tuple[Array, Array]: ...


_MAX_EXAMPLES = {
    1: """    >>> rustconv.max_pool1d(x, 2)
    array([[[3., 5., 4.]]])
    >>> rustconv.max_pool1d(x, 3, stride=2, padding=1, return_indices=True)
    (array([[[3., 5., 5.]]]), array([[[1, 3, 3]]]))""",
    2: """    >>> rustconv.max_pool2d(x, 2)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    >>> out, idx = rustconv.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    >>> idx
    array([[[[ 5,  7],
             [13, 15]]]])""",
    3: """    >>> rustconv.max_pool3d(x, 2).shape
    (1, 1, 2, 2, 2)
    >>> rustconv.max_pool3d(x, 2, return_indices=True)[1][0, 0, 0]
    array([[21, 23],
           [29, 31]])""",
}


def _max_pool_doc(rank: int) -> str:
    return f"""{rank}-D max pooling, as ``torch.nn.functional.max_pool{rank}d``.

    Parameters
    ----------
    input : array_like, shape {_IN[rank]}
        float32 or float64 data.
    kernel_size : int or tuple of {rank} ints
        Window size.
    stride : int or tuple of {rank} ints, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int or tuple of {rank} ints, optional
        Implicit -inf padding on both sides, at most half the kernel size.
    dilation : int or tuple of {rank} ints, optional
        Spacing between window elements.
    ceil_mode : bool, optional
        Round the output size up instead of down.
    return_indices : bool, optional
        Also return where each maximum was found.
    workers : int, optional
        Threads to use (None = the global setting, -1 = all cores).

    Returns
    -------
    out : ndarray, shape {_OUT[rank]}
        The window maxima, in the input's dtype.
    indices : ndarray of int64, same shape as ``out``
        Only with ``return_indices=True``: flat positions of the maxima in
        each (n, c) input plane (without padding), for
        :func:`max_pool{rank}d_backward`.

    Raises
    ------
    TypeError
        If ``input`` is not float32 or float64, or an argument has the wrong type.
    ValueError
        If ``input`` has the wrong number of dimensions, an argument has the
        wrong length or a non-positive entry, the padding exceeds half the
        kernel, or the window is larger than the padded input.

    See Also
    --------
    max_pool{rank}d_backward, avg_pool{rank}d, adaptive_max_pool{rank}d, pool_output_shape

    Notes
    -----
{_FORMULA}

    Ties go to the first element of the window in row-major order. A NaN in
    the window propagates; like torch, the index reported is that of the
    window's last NaN. rustconv refuses a dilated window that covers no input
    element at all (torch returns -inf there with an index outside the plane).

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    {_EXAMPLE_INPUT[rank]}
{_MAX_EXAMPLES[rank]}
    """


def _max_pool_factory(rank: int) -> _MaxPool:
    def max_pool(
        input: npt.ArrayLike,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        ceil_mode: bool = False,
        return_indices: bool = False,
        *,
        workers: int | None = None,
    ) -> Array | tuple[Array, Array]:
        x = as_native_array(input, "input")
        kernel, strides, pads, dilations = _window(rank, kernel_size, stride, padding, dilation)
        out, indices = _rustconv._max_pool(
            x, kernel, strides, pads, dilations, bool(ceil_mode), bool(return_indices), as_workers(workers)
        )
        if return_indices:
            return cast(Array, out), cast(Array, indices)
        return cast(Array, out)

    return cast(_MaxPool, _make(f"max_pool{rank}d", max_pool, _max_pool_doc(rank)))


max_pool1d = _max_pool_factory(1)
max_pool2d = _max_pool_factory(2)
max_pool3d = _max_pool_factory(3)


def _max_backward_doc(rank: int, adaptive: bool) -> str:
    forward = f"{'adaptive_' if adaptive else ''}max_pool{rank}d"
    return f"""Gradient of :func:`{forward}` with respect to its input.

    Parameters
    ----------
    grad_output : array_like, shape {_OUT[rank]}
        Gradient with respect to the pooled output (float32 or float64).
    indices : array_like of integers, same shape as ``grad_output``
        The indices returned by ``{forward}(..., return_indices=True)``.
    input_shape : tuple of ints
        Shape of the forward input, {_IN[rank]}.
    workers : int, optional
        Threads to use (None = the global setting, -1 = all cores).

    Returns
    -------
    grad_input : ndarray, shape ``input_shape``
        ``grad_output`` scattered to the positions in ``indices``; where
        windows overlap, their contributions add up.

    Raises
    ------
    TypeError
        If ``grad_output`` is not float32 or float64 or ``indices`` is not integer.
    ValueError
        If the shapes do not match or an index lies outside its input plane.

    See Also
    --------
    {forward}

    Notes
    -----
    Each (n, c) plane is accumulated by one thread in a fixed order, so the
    result is the same for every thread count.

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    {_EXAMPLE_INPUT[rank]}
    >>> out, idx = rustconv.{forward}(x, 2, return_indices=True)
    >>> grad = rustconv.{forward}_backward(np.ones_like(out), idx, x.shape)
    >>> float(grad.sum()) == out.size
    True
    """


class _MaxPoolBackward(Protocol):
    def __call__(
        self,
        grad_output: npt.ArrayLike,
        indices: npt.ArrayLike,
        input_shape: Sequence[int],
        *,
        workers: int | None = None,
    ) -> Array: ...


def _max_backward_factory(rank: int, adaptive: bool) -> _MaxPoolBackward:
    name = f"{'adaptive_' if adaptive else ''}max_pool{rank}d_backward"

    def max_pool_backward(
        grad_output: npt.ArrayLike,
        indices: npt.ArrayLike,
        input_shape: Sequence[int],
        *,
        workers: int | None = None,
    ) -> Array:
        (grad,) = _float_arrays(grad_output=grad_output)
        index_array = as_native_array(indices, "indices")
        if index_array.dtype.kind not in "iu":
            raise TypeError(f"indices must have an integer dtype, got {index_array.dtype}")
        if index_array.dtype != np.int64:
            index_array = index_array.astype(np.int64)
        return cast(
            Array,
            _rustconv._max_pool_backward(
                grad,
                index_array,
                _shape_tuple(input_shape, "input_shape"),
                rank,
                name,
                as_workers(workers),
            ),
        )

    return cast(_MaxPoolBackward, _make(name, max_pool_backward, _max_backward_doc(rank, adaptive)))


max_pool1d_backward = _max_backward_factory(1, False)
max_pool2d_backward = _max_backward_factory(2, False)
max_pool3d_backward = _max_backward_factory(3, False)


# --- average pooling ---------------------------------------------------------


class _AvgPool(Protocol):
    def __call__(
        self,
        input: npt.ArrayLike,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        *,
        workers: int | None = None,
    ) -> Array: ...


class _AvgPoolBackward(Protocol):
    def __call__(
        self,
        grad_output: npt.ArrayLike,
        input_shape: Sequence[int],
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        *,
        workers: int | None = None,
    ) -> Array: ...


_AVG_EXAMPLES = {
    1: """    >>> rustconv.avg_pool1d(x, 2)
    array([[[2. , 3.5, 2. ]]])
    >>> rustconv.avg_pool1d(x, 3, stride=2, padding=1, count_include_pad=False)
    array([[[2.        , 3.33333333, 3.        ]]])""",
    2: """    >>> rustconv.avg_pool2d(x, 2)
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])""",
    3: """    >>> rustconv.avg_pool3d(x, 2)[0, 0, 0]
    array([[10.5, 12.5],
           [18.5, 20.5]])""",
}

_DIVISOR_NOTES = """    Each window ``[o S - P, o S - P + K)`` is first cut to the padded input
    ``[-P, L + P)``; its size there is the divisor with
    ``count_include_pad=True``, its size inside ``[0, L)`` the divisor
    otherwise (torch's rule, per axis, multiplied over the axes).
    ``divisor_override`` replaces the divisor (torch's ``avg_pool1d`` lacks
    this argument; rustconv has it for every rank)."""

_AVG_PARAMETERS = """    kernel_size : int or tuple of {rank} ints
        Window size.
    stride : int or tuple of {rank} ints, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int or tuple of {rank} ints, optional
        Implicit zero padding on both sides, at most half the kernel size.
    ceil_mode : bool, optional
        Round the output size up instead of down.
    count_include_pad : bool, optional
        Count padding elements in the divisor.
    divisor_override : int, optional
        A positive divisor to use instead of the window size.
    workers : int, optional
        Threads to use (None = the global setting, -1 = all cores)."""


def _avg_pool_doc(rank: int) -> str:
    return f"""{rank}-D average pooling, as ``torch.nn.functional.avg_pool{rank}d``.

    Parameters
    ----------
    input : array_like, shape {_IN[rank]}
        float32 or float64 data.
{_AVG_PARAMETERS.format(rank=rank)}

    Returns
    -------
    out : ndarray, shape {_OUT[rank]}
        The window averages, in the input's dtype.

    Raises
    ------
    TypeError
        If ``input`` is not float32 or float64, or an argument has the wrong type.
    ValueError
        If ``input`` has the wrong number of dimensions, an argument has the
        wrong length or a non-positive entry, the padding exceeds half the
        kernel, the window is larger than the padded input, or
        ``divisor_override`` is not positive.

    See Also
    --------
    avg_pool{rank}d_backward, max_pool{rank}d, adaptive_avg_pool{rank}d, pool_output_shape

    Notes
    -----
{_FORMULA}

{_DIVISOR_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    {_EXAMPLE_INPUT[rank]}
{_AVG_EXAMPLES[rank]}
    """


def _avg_backward_doc(rank: int) -> str:
    return f"""Gradient of :func:`avg_pool{rank}d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like, shape {_OUT[rank]}
        Gradient with respect to the pooled output (float32 or float64).
    input_shape : tuple of ints
        Shape of the forward input, {_IN[rank]}.
{_AVG_PARAMETERS.format(rank=rank)}

    Returns
    -------
    grad_input : ndarray, shape ``input_shape``
        Each output's gradient divided by its divisor and added to every
        input element of its window.

    Raises
    ------
    TypeError
        If ``grad_output`` is not float32 or float64.
    ValueError
        For the forward's invalid arguments, or when ``grad_output`` does not
        have the forward output's shape.

    See Also
    --------
    avg_pool{rank}d

    Notes
    -----
    This is the adjoint of :func:`avg_pool{rank}d`:
    ``<avg_pool(x), g> == <x, avg_pool_backward(g)>``. Each (n, c) plane is
    accumulated by one thread in a fixed order, so the result is the same for
    every thread count.

{_DIVISOR_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    {_EXAMPLE_INPUT[rank]}
    >>> out = rustconv.avg_pool{rank}d(x, 2)
    >>> grad = rustconv.avg_pool{rank}d_backward(np.ones_like(out), x.shape, 2)
    >>> float(grad.max())
    {0.5**rank}
    """


def _avg_pool_factory(rank: int) -> _AvgPool:
    def avg_pool(
        input: npt.ArrayLike,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        *,
        workers: int | None = None,
    ) -> Array:
        x = as_native_array(input, "input")
        kernel, strides, pads, _ = _window(rank, kernel_size, stride, padding, 1)
        return cast(
            Array,
            _rustconv._avg_pool(
                x,
                kernel,
                strides,
                pads,
                bool(ceil_mode),
                bool(count_include_pad),
                _divisor(divisor_override),
                as_workers(workers),
            ),
        )

    return cast(_AvgPool, _make(f"avg_pool{rank}d", avg_pool, _avg_pool_doc(rank)))


def _divisor(divisor_override: int | None) -> int | None:
    if divisor_override is None:
        return None
    if isinstance(divisor_override, (bool, np.bool_)):
        raise TypeError(f"divisor_override must be None or an int, got {divisor_override!r}")
    try:
        return _fits((operator.index(divisor_override),), "divisor_override")[0]
    except TypeError:
        raise TypeError(f"divisor_override must be None or an int, got {divisor_override!r}") from None


def _avg_backward_factory(rank: int) -> _AvgPoolBackward:
    def avg_pool_backward(
        grad_output: npt.ArrayLike,
        input_shape: Sequence[int],
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        *,
        workers: int | None = None,
    ) -> Array:
        (grad,) = _float_arrays(grad_output=grad_output)
        kernel, strides, pads, _ = _window(rank, kernel_size, stride, padding, 1)
        return cast(
            Array,
            _rustconv._avg_pool_backward(
                grad,
                _shape_tuple(input_shape, "input_shape"),
                kernel,
                strides,
                pads,
                bool(ceil_mode),
                bool(count_include_pad),
                _divisor(divisor_override),
                as_workers(workers),
            ),
        )

    return cast(
        _AvgPoolBackward, _make(f"avg_pool{rank}d_backward", avg_pool_backward, _avg_backward_doc(rank))
    )


avg_pool1d = _avg_pool_factory(1)
avg_pool2d = _avg_pool_factory(2)
avg_pool3d = _avg_pool_factory(3)
avg_pool1d_backward = _avg_backward_factory(1)
avg_pool2d_backward = _avg_backward_factory(2)
avg_pool3d_backward = _avg_backward_factory(3)


# --- Lp pooling ----------------------------------------------------------------


class _LpPool(Protocol):
    def __call__(
        self,
        input: npt.ArrayLike,
        norm_type: float,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        ceil_mode: bool = False,
        *,
        workers: int | None = None,
    ) -> Array: ...


class _LpPoolBackward(Protocol):
    def __call__(
        self,
        grad_output: npt.ArrayLike,
        input: npt.ArrayLike,
        output: npt.ArrayLike,
        norm_type: float,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        ceil_mode: bool = False,
        *,
        workers: int | None = None,
    ) -> Array: ...


_LP_NOTES = """    rustconv computes the Lp norm ``(sum |x|^p)^(1/p)`` of each window;
    its gradient is ``g x |x|^(p-2) / y^(p-1)``, taken as 0 where a window's
    norm ``y`` is 0 (and at ``x = 0``), never NaN. For non-negative inputs
    this equals torch's ``lp_pool`` (which computes ``(sum x^p)^(1/p)`` via
    ``avg_pool(x^p) * K``). rustconv differs from torch where torch's result
    is not a norm: with negative inputs torch's ``x^p`` is NaN for fractional
    p and may sum to a negative number, which it maps to NaN or, for p = 1,
    to a signed sum; and in ``ceil_mode`` torch scales a partial window at
    the edge by the full kernel size over the partial one. rustconv keeps the
    plain definition everywhere so that forward and backward stay consistent
    and finite."""


def _lp_pool_doc(rank: int) -> str:
    example = {
        1: """    >>> rustconv.lp_pool1d(np.array([[[3.0, 4.0, 6.0, 8.0]]]), 2, 2)
    array([[[ 5., 10.]]])""",
        2: """    >>> rustconv.lp_pool2d(np.full((1, 1, 2, 2), 2.0), 2, 2)
    array([[[[4.]]]])""",
        3: """    >>> rustconv.lp_pool3d(np.ones((1, 1, 2, 2, 2)), 1, 2)
    array([[[[[8.]]]]])""",
    }[rank]
    return f"""{rank}-D power-average (Lp) pooling, as ``torch.nn.functional.lp_pool{rank}d``.

    Parameters
    ----------
    input : array_like, shape {_IN[rank]}
        float32 or float64 data.
    norm_type : float
        The exponent p > 0 (2 gives L2-norm pooling).
    kernel_size : int or tuple of {rank} ints
        Window size.
    stride : int or tuple of {rank} ints, optional
        Step between windows; defaults to ``kernel_size``.
    ceil_mode : bool, optional
        Round the output size up instead of down.
    workers : int, optional
        Threads to use (None = the global setting, -1 = all cores).

    Returns
    -------
    out : ndarray, shape {_OUT[rank]}
        ``(sum |x|^p)^(1/p)`` over each window.

    Raises
    ------
    TypeError
        If ``input`` is not float32 or float64, or an argument has the wrong type.
    ValueError
        If ``norm_type`` is not a finite positive number, or for the shape
        errors of :func:`avg_pool{rank}d`.

    See Also
    --------
    lp_pool{rank}d_backward, avg_pool{rank}d, max_pool{rank}d

    Notes
    -----
    The output size follows :func:`avg_pool{rank}d` with no padding.

{_LP_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
{example}
    """


def _lp_backward_doc(rank: int) -> str:
    return f"""Gradient of :func:`lp_pool{rank}d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like, shape {_OUT[rank]}
        Gradient with respect to the pooled output.
    input : array_like, shape {_IN[rank]}
        The forward input.
    output : array_like, same shape as ``grad_output``
        The forward output ``lp_pool{rank}d(input, ...)``.
    norm_type : float
        The exponent p > 0.
    kernel_size : int or tuple of {rank} ints
        Window size.
    stride : int or tuple of {rank} ints, optional
        Step between windows; defaults to ``kernel_size``.
    ceil_mode : bool, optional
        Round the output size up instead of down.
    workers : int, optional
        Threads to use (None = the global setting, -1 = all cores).

    Returns
    -------
    grad_input : ndarray, same shape as ``input``
        ``sum over windows of g x |x|^(p-2) / y^(p-1)``, 0 where ``y = 0``.

    Raises
    ------
    TypeError
        If an array is not float32 or float64.
    ValueError
        If ``norm_type`` is not a finite positive number, or the shapes do
        not match the forward's.

    See Also
    --------
    lp_pool{rank}d

    Notes
    -----
{_LP_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    >>> x = np.array([[[3.0, 4.0]]]){"[..., None]" if rank >= 2 else ""}{"[..., None]" if rank == 3 else ""}
    >>> y = rustconv.lp_pool{rank}d(x, 2, {(2, 1, 1)[:rank] if rank > 1 else 2})
    >>> rustconv.lp_pool{rank}d_backward(np.ones_like(y), x, y, 2, {(2, 1, 1)[:rank] if rank > 1 else 2}).ravel()
    array([0.6, 0.8])
    """


def _lp_pool_factory(rank: int) -> _LpPool:
    def lp_pool(
        input: npt.ArrayLike,
        norm_type: float,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        ceil_mode: bool = False,
        *,
        workers: int | None = None,
    ) -> Array:
        x = as_native_array(input, "input")
        kernel, strides, _, _ = _window(rank, kernel_size, stride, 0, 1)
        return cast(
            Array,
            _rustconv._lp_pool(
                x, _norm_type(norm_type), kernel, strides, bool(ceil_mode), as_workers(workers)
            ),
        )

    return cast(_LpPool, _make(f"lp_pool{rank}d", lp_pool, _lp_pool_doc(rank)))


def _lp_backward_factory(rank: int) -> _LpPoolBackward:
    def lp_pool_backward(
        grad_output: npt.ArrayLike,
        input: npt.ArrayLike,
        output: npt.ArrayLike,
        norm_type: float,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        ceil_mode: bool = False,
        *,
        workers: int | None = None,
    ) -> Array:
        grad, x, y = _float_arrays(grad_output=grad_output, input=input, output=output)
        kernel, strides, _, _ = _window(rank, kernel_size, stride, 0, 1)
        return cast(
            Array,
            _rustconv._lp_pool_backward(
                grad, x, y, _norm_type(norm_type), kernel, strides, bool(ceil_mode), as_workers(workers)
            ),
        )

    return cast(_LpPoolBackward, _make(f"lp_pool{rank}d_backward", lp_pool_backward, _lp_backward_doc(rank)))


lp_pool1d = _lp_pool_factory(1)
lp_pool2d = _lp_pool_factory(2)
lp_pool3d = _lp_pool_factory(3)
lp_pool1d_backward = _lp_backward_factory(1)
lp_pool2d_backward = _lp_backward_factory(2)
lp_pool3d_backward = _lp_backward_factory(3)


# --- adaptive pooling ----------------------------------------------------------


class _AdaptiveAvgPool(Protocol):
    def __call__(
        self, input: npt.ArrayLike, output_size: OutputSize, *, workers: int | None = None
    ) -> Array: ...


class _AdaptiveMaxPool(Protocol):
    @overload
    def __call__(
        self,
        input: npt.ArrayLike,
        output_size: OutputSize,
        return_indices: Literal[False] = False,
        *,
        workers: int | None = None,
    ) -> Array: ...
    @overload
    def __call__(
        self,
        input: npt.ArrayLike,
        output_size: OutputSize,
        return_indices: Literal[True],
        *,
        workers: int | None = None,
    ) -> tuple[Array, Array]: ...
    @overload
    def __call__(
        self,
        input: npt.ArrayLike,
        output_size: OutputSize,
        return_indices: bool = False,
        *,
        workers: int | None = None,
    ) -> Array | tuple[Array, Array]: ...


class _AdaptiveAvgPoolBackward(Protocol):
    def __call__(
        self, grad_output: npt.ArrayLike, input_shape: Sequence[int], *, workers: int | None = None
    ) -> Array: ...


_ADAPTIVE_NOTES = """    Along an axis of length L pooled to O outputs, output o covers
    ``[floor(o L / O), ceil((o + 1) L / O))``, as torch does; windows may
    overlap and differ in size."""


def _adaptive_doc(rank: int, kind: str) -> str:
    what = "maximum" if kind == "max" else "mean"
    extra_param = (
        """    return_indices : bool, optional
        Also return the flat positions of the maxima in each (n, c) plane.
"""
        if kind == "max"
        else ""
    )
    extra_return = (
        """    indices : ndarray of int64, same shape as ``out``
        Only with ``return_indices=True``.
"""
        if kind == "max"
        else ""
    )
    example = (
        f"""    >>> rustconv.adaptive_{kind}_pool{rank}d(np.arange(10.0).reshape(1, 1, 10), 3)
    array([[[{"3., 6., 9." if kind == "max" else "1.5, 4.5, 7.5"}]]])"""
        if rank == 1
        else f"""    >>> rustconv.adaptive_{kind}_pool{rank}d(np.ones((2, 3) + (5,) * {rank}), {"(2, None)" if rank == 2 else "(2, 1, None)"}).shape
    {(2, 3, 2, 5) if rank == 2 else (2, 3, 2, 1, 5)}"""
    )
    return f"""{rank}-D adaptive {kind} pooling, as ``torch.nn.functional.adaptive_{kind}_pool{rank}d``.

    Parameters
    ----------
    input : array_like, shape {_IN[rank]}
        float32 or float64 data.
    output_size : int, None or tuple of {rank} ints or None
        The spatial output size; None keeps the input's size along that axis.
{extra_param}    workers : int, optional
        Threads to use (None = the global setting, -1 = all cores).

    Returns
    -------
    out : ndarray, shape {_OUT[rank]}
        The {what} of each window.
{extra_return}
    Raises
    ------
    TypeError
        If ``input`` is not float32 or float64, or ``output_size`` has the wrong type.
    ValueError
        If ``input`` has the wrong number of dimensions or ``output_size``
        the wrong length or an entry below 1.

    See Also
    --------
    adaptive_{kind}_pool{rank}d_backward, {kind}_pool{rank}d

    Notes
    -----
{_ADAPTIVE_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
{example}
    """


def _adaptive_avg_backward_doc(rank: int) -> str:
    return f"""Gradient of :func:`adaptive_avg_pool{rank}d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like, shape {_OUT[rank]}
        Gradient with respect to the pooled output; its spatial shape is the
        forward's output size.
    input_shape : tuple of ints
        Shape of the forward input, {_IN[rank]}.
    workers : int, optional
        Threads to use (None = the global setting, -1 = all cores).

    Returns
    -------
    grad_input : ndarray, shape ``input_shape``
        Each output's gradient divided by its window size and added to the
        window.

    Raises
    ------
    TypeError
        If ``grad_output`` is not float32 or float64.
    ValueError
        If the shapes do not match.

    See Also
    --------
    adaptive_avg_pool{rank}d

    Notes
    -----
{_ADAPTIVE_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> import rustconv
    >>> rustconv.adaptive_avg_pool{rank}d_backward(np.ones((1, 1) + (1,) * {rank}), (1, 1) + (2,) * {rank}).ravel()[:2]
    array([{0.5**rank}, {0.5**rank}])
    """


def _adaptive_avg_factory(rank: int) -> _AdaptiveAvgPool:
    def adaptive_avg_pool(
        input: npt.ArrayLike, output_size: OutputSize, *, workers: int | None = None
    ) -> Array:
        x = as_native_array(input, "input")
        return cast(
            Array, _rustconv._adaptive_avg_pool(x, _output_size(output_size, rank), as_workers(workers))
        )

    return cast(
        _AdaptiveAvgPool, _make(f"adaptive_avg_pool{rank}d", adaptive_avg_pool, _adaptive_doc(rank, "avg"))
    )


def _adaptive_max_factory(rank: int) -> _AdaptiveMaxPool:
    def adaptive_max_pool(
        input: npt.ArrayLike,
        output_size: OutputSize,
        return_indices: bool = False,
        *,
        workers: int | None = None,
    ) -> Array | tuple[Array, Array]:
        x = as_native_array(input, "input")
        out, indices = _rustconv._adaptive_max_pool(
            x, _output_size(output_size, rank), bool(return_indices), as_workers(workers)
        )
        if return_indices:
            return cast(Array, out), cast(Array, indices)
        return cast(Array, out)

    return cast(
        _AdaptiveMaxPool, _make(f"adaptive_max_pool{rank}d", adaptive_max_pool, _adaptive_doc(rank, "max"))
    )


def _adaptive_avg_backward_factory(rank: int) -> _AdaptiveAvgPoolBackward:
    def adaptive_avg_pool_backward(
        grad_output: npt.ArrayLike, input_shape: Sequence[int], *, workers: int | None = None
    ) -> Array:
        (grad,) = _float_arrays(grad_output=grad_output)
        return cast(
            Array,
            _rustconv._adaptive_avg_pool_backward(
                grad, _shape_tuple(input_shape, "input_shape"), rank, as_workers(workers)
            ),
        )

    return cast(
        _AdaptiveAvgPoolBackward,
        _make(
            f"adaptive_avg_pool{rank}d_backward", adaptive_avg_pool_backward, _adaptive_avg_backward_doc(rank)
        ),
    )


adaptive_avg_pool1d = _adaptive_avg_factory(1)
adaptive_avg_pool2d = _adaptive_avg_factory(2)
adaptive_avg_pool3d = _adaptive_avg_factory(3)
adaptive_max_pool1d = _adaptive_max_factory(1)
adaptive_max_pool2d = _adaptive_max_factory(2)
adaptive_max_pool3d = _adaptive_max_factory(3)
adaptive_avg_pool1d_backward = _adaptive_avg_backward_factory(1)
adaptive_avg_pool2d_backward = _adaptive_avg_backward_factory(2)
adaptive_avg_pool3d_backward = _adaptive_avg_backward_factory(3)
adaptive_max_pool1d_backward = _max_backward_factory(1, True)
adaptive_max_pool2d_backward = _max_backward_factory(2, True)
adaptive_max_pool3d_backward = _max_backward_factory(3, True)


# --- shapes ----------------------------------------------------------------------


def pool_output_shape(
    input_shape: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
) -> tuple[int, ...]:
    """The output shape of max, average or Lp pooling, without computing it.

        Parameters
        ----------
        input_shape : tuple of ints
            ``(N, C, *spatial)``, ``(C, *spatial)`` or just the spatial shape.
        kernel_size : int or tuple of ints
            Window size. A tuple (or a tuple for any of the window arguments)
            sets the number of spatial dimensions; if all are ints, the input is
            taken as batched, ``len(input_shape) - 2`` spatial dimensions.
        stride : int or tuple of ints, optional
            Step between windows; defaults to ``kernel_size``.
        padding : int or tuple of ints, optional
            Implicit padding on both sides, at most half the kernel size.
        dilation : int or tuple of ints, optional
            Spacing between window elements.
        ceil_mode : bool, optional
            Round the output size up instead of down.

        Returns
        -------
        shape : tuple of ints
            ``input_shape`` with its spatial dimensions replaced by the pooled sizes.

        Raises
        ------
        TypeError
            If an argument is not an int or a tuple of ints.
        ValueError
            For the same invalid geometries as :func:`max_pool2d`.

        See Also
        --------
        max_pool2d, avg_pool2d, lp_pool2d

        Notes
        -----
    {formula}

        Examples
        --------
        >>> import rustconv
        >>> rustconv.pool_output_shape((8, 64, 112, 112), 3, 2, 1)
        (8, 64, 56, 56)
        >>> rustconv.pool_output_shape((3, 5), (2,), ceil_mode=True)
        (3, 3)
    """
    shape = _shape_tuple(input_shape, "input_shape")
    tuples = [a for a in (kernel_size, stride, padding, dilation) if a is not None and not isinstance(a, int)]
    rank = len(tuples[0]) if tuples and isinstance(tuples[0], Sequence) else len(shape) - 2
    if not 1 <= rank <= 3:
        raise ValueError(
            f"pool_output_shape needs 1 to 3 spatial dimensions; with int arguments input_shape is taken as "
            f"(N, C, *spatial), got {shape!r} (pass kernel_size as a tuple for other layouts)"
        )
    kernel, strides, pads, dilations = _window(rank, kernel_size, stride, padding, dilation)
    return tuple(_rustconv._pool_output_shape(shape, kernel, strides, pads, dilations, bool(ceil_mode)))


if pool_output_shape.__doc__:
    pool_output_shape.__doc__ = pool_output_shape.__doc__.replace("{formula}", _FORMULA)
