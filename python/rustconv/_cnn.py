"""Typed wrappers of the cnn family: torch.nn.functional's convolutions on NumPy arrays.

The wrappers only normalise arguments (native byte order, an int or a tuple
per spatial dimension); the Rust core validates every shape and runs the
kernels with the interpreter lock released.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _rustconv
from ._util import as_native_array, as_tuple, as_workers

__all__ = [
    "conv1d",
    "conv1d_backward",
    "conv1d_input",
    "conv1d_weight",
    "conv2d",
    "conv2d_backward",
    "conv2d_input",
    "conv2d_weight",
    "conv3d",
    "conv3d_backward",
    "conv3d_input",
    "conv3d_weight",
    "conv_output_shape",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
]

IntOrTuple = Union[int, Sequence[int]]
Padding = Union[int, Sequence[int], str]
FloatArray = npt.NDArray[np.floating[Any]]


def _array(value: npt.ArrayLike, name: str) -> np.ndarray[Any, Any]:
    arr = as_native_array(value, name)
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must have dtype float32 or float64, got {arr.dtype}")
    return arr


def _groups(groups: int) -> int:
    if isinstance(groups, (bool, np.bool_)):
        raise TypeError(f"groups must be an int, got {groups!r}")
    try:
        value = operator.index(groups)
    except TypeError:
        raise TypeError(f"groups must be an int, got {type(groups).__name__}") from None
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"groups must fit in 64 bits, got {value}")
    return value


def _padding(padding: Padding, rank: int) -> str | tuple[int, ...]:
    if isinstance(padding, str):
        return padding
    return as_tuple(padding, rank, "padding")


def _size(value: Sequence[int], name: str) -> tuple[int, ...]:
    try:
        return tuple(operator.index(v) for v in value)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of ints (a shape), got {value!r}") from None


def _forward(
    rank: int,
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None,
    stride: IntOrTuple,
    padding: Padding,
    dilation: IntOrTuple,
    groups: int,
    padding_mode: str,
    workers: int | None,
) -> FloatArray:
    if not isinstance(padding_mode, str):
        raise TypeError(f"padding_mode must be a str, got {padding_mode!r}")
    result: FloatArray = _rustconv._conv(
        _array(input, "input"),
        _array(weight, "weight"),
        None if bias is None else _array(bias, "bias"),
        as_tuple(stride, rank, "stride"),
        _padding(padding, rank),
        as_tuple(dilation, rank, "dilation"),
        _groups(groups),
        padding_mode,
        rank,
        as_workers(workers),
    )
    return result


def _transpose(
    rank: int,
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None,
    stride: IntOrTuple,
    padding: IntOrTuple,
    output_padding: IntOrTuple,
    groups: int,
    dilation: IntOrTuple,
    workers: int | None,
) -> FloatArray:
    result: FloatArray = _rustconv._conv_transpose(
        _array(input, "input"),
        _array(weight, "weight"),
        None if bias is None else _array(bias, "bias"),
        as_tuple(stride, rank, "stride"),
        as_tuple(padding, rank, "padding"),
        as_tuple(output_padding, rank, "output_padding"),
        _groups(groups),
        as_tuple(dilation, rank, "dilation"),
        rank,
        as_workers(workers),
    )
    return result


def _input_grad(
    rank: int,
    input_size: Sequence[int],
    weight: npt.ArrayLike,
    grad_output: npt.ArrayLike,
    stride: IntOrTuple,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    groups: int,
    workers: int | None,
) -> FloatArray:
    result: FloatArray = _rustconv._conv_input(
        _size(input_size, "input_size"),
        _array(weight, "weight"),
        _array(grad_output, "grad_output"),
        as_tuple(stride, rank, "stride"),
        as_tuple(padding, rank, "padding"),
        as_tuple(dilation, rank, "dilation"),
        _groups(groups),
        rank,
        as_workers(workers),
    )
    return result


def _weight_grad(
    rank: int,
    input: npt.ArrayLike,
    weight_size: Sequence[int],
    grad_output: npt.ArrayLike,
    stride: IntOrTuple,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    groups: int,
    workers: int | None,
) -> FloatArray:
    result: FloatArray = _rustconv._conv_weight(
        _array(input, "input"),
        _size(weight_size, "weight_size"),
        _array(grad_output, "grad_output"),
        as_tuple(stride, rank, "stride"),
        as_tuple(padding, rank, "padding"),
        as_tuple(dilation, rank, "dilation"),
        _groups(groups),
        rank,
        as_workers(workers),
    )
    return result


def _backward(
    rank: int,
    grad_output: npt.ArrayLike,
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    stride: IntOrTuple,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    groups: int,
    workers: int | None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    result: tuple[FloatArray, FloatArray, FloatArray] = _rustconv._conv_backward(
        _array(grad_output, "grad_output"),
        _array(input, "input"),
        _array(weight, "weight"),
        as_tuple(stride, rank, "stride"),
        as_tuple(padding, rank, "padding"),
        as_tuple(dilation, rank, "dilation"),
        _groups(groups),
        rank,
        as_workers(workers),
    )
    return result


def conv1d(
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    *,
    workers: int | None = None,
) -> FloatArray:
    """1-D convolution (cross-correlation) over a batch of signals, as ``torch.nn.functional.conv1d``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, W) or (C_in, W)
        The signals (float32 or float64); the unbatched form gives an
        unbatched result.
    weight : array_like, shape (C_out, C_in / groups, K)
        The kernels; not flipped (cross-correlation, as in every CNN framework).
    bias : array_like, shape (C_out,), optional
        Added to every output position of each channel.
    stride, dilation : int or tuple of 1 int
        Step between output positions; spacing between kernel taps.
    padding : int, tuple of 1 int, 'same' or 'valid'
        Padding on both sides. ``'same'`` (stride 1 only) keeps the size,
        putting ``total // 2`` on the left for even kernels, as torch.
    groups : int
        Channels are split into this many independent groups.
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular'}
        How the padding is filled, as ``torch.nn.Conv1d``.
    workers : int, optional
        Threads (None = the global setting, -1 = all cores).

    Returns
    -------
    ndarray, shape (N, C_out, W_out) or (C_out, W_out)
        Same dtype as the inputs, C-contiguous.

    Raises
    ------
    ValueError
        Channels that do not match, groups that do not divide them, a kernel
        larger than the padded input, non-positive stride or dilation,
        negative padding, wrong ndim or tuple lengths, unknown modes.
    TypeError
        A dtype other than float32/float64, or arrays of different dtypes.

    See Also
    --------
    conv2d, conv3d, conv1d_backward, conv_transpose1d, conv_output_shape

    Notes
    -----
    W_out = ⌊(W + 2P − D(K − 1) − 1) / S⌋ + 1. Results are bitwise identical
    for every thread count.

    Examples
    --------
    >>> import numpy as np, rustconv
    >>> x = np.arange(1.0, 9.0).reshape(1, 1, 8)
    >>> w = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    >>> rustconv.conv1d(x, w)
    array([[[30., 40., 50., 60., 70.]]])
    >>> rustconv.conv1d(x, w, padding="same")
    array([[[20., 30., 40., 50., 60., 70., 44., 23.]]])
    """
    return _forward(1, input, weight, bias, stride, padding, dilation, groups, padding_mode, workers)


def conv2d(
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    *,
    workers: int | None = None,
) -> FloatArray:
    """2-D convolution (cross-correlation) over a batch of images, as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, H, W) or (C_in, H, W)
        The images (float32 or float64); the unbatched form gives an
        unbatched result.
    weight : array_like, shape (C_out, C_in / groups, KH, KW)
        The kernels; not flipped (cross-correlation).
    bias : array_like, shape (C_out,), optional
        Added to every output position of each channel.
    stride, dilation : int or tuple of 2 ints
        Step between output positions; spacing between kernel taps.
    padding : int, tuple of 2 ints, 'same' or 'valid'
        Padding on both sides of each axis. ``'same'`` (stride 1 only) keeps
        the size, putting ``total // 2`` first for even kernels, as torch.
    groups : int
        Channels are split into this many independent groups
        (``groups = C_in`` is a depthwise convolution).
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular'}
        How the padding is filled, as ``torch.nn.Conv2d``.
    workers : int, optional
        Threads (None = the global setting, -1 = all cores).

    Returns
    -------
    ndarray, shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
        Same dtype as the inputs, C-contiguous.

    Raises
    ------
    ValueError
        Channels that do not match, groups that do not divide them, a kernel
        larger than the padded input, non-positive stride or dilation,
        negative padding, wrong ndim or tuple lengths, unknown modes.
    TypeError
        A dtype other than float32/float64, or arrays of different dtypes.

    See Also
    --------
    conv1d, conv3d, conv2d_backward, conv2d_input, conv2d_weight, conv_transpose2d

    Notes
    -----
    H_out = ⌊(H + 2P − D(K − 1) − 1) / S⌋ + 1, and likewise W_out. The work is
    a GEMM per sample and group over tiles of im2col columns (a 1×1 stride-1
    convolution multiplies the input directly). Results are bitwise
    identical for every thread count.

    Examples
    --------
    >>> import numpy as np, rustconv
    >>> x = np.ones((1, 2, 4, 4), dtype=np.float32)
    >>> w = np.ones((3, 2, 3, 3), dtype=np.float32)
    >>> rustconv.conv2d(x, w, padding=1).shape
    (1, 3, 4, 4)
    >>> rustconv.conv2d(x, w)[0, 0]
    array([[18., 18.],
           [18., 18.]], dtype=float32)
    """
    return _forward(2, input, weight, bias, stride, padding, dilation, groups, padding_mode, workers)


def conv3d(
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    *,
    workers: int | None = None,
) -> FloatArray:
    """3-D convolution (cross-correlation) over a batch of volumes, as ``torch.nn.functional.conv3d``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, D, H, W) or (C_in, D, H, W)
        The volumes (float32 or float64).
    weight : array_like, shape (C_out, C_in / groups, KD, KH, KW)
        The kernels; not flipped.
    bias : array_like, shape (C_out,), optional
        Added per output channel.
    stride, dilation : int or tuple of 3 ints
        Step between output positions; spacing between kernel taps.
    padding : int, tuple of 3 ints, 'same' or 'valid'
        As :func:`conv2d`.
    groups : int
        Independent channel groups.
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular'}
        How the padding is filled, as ``torch.nn.Conv3d``.
    workers : int, optional
        Threads (None = the global setting, -1 = all cores).

    Returns
    -------
    ndarray, shape (N, C_out, D_out, H_out, W_out) or (C_out, D_out, H_out, W_out)
        Same dtype as the inputs, C-contiguous.

    Raises
    ------
    ValueError
        Invalid geometry (see :func:`conv2d`).
    TypeError
        A dtype other than float32/float64, or arrays of different dtypes.

    See Also
    --------
    conv2d, conv3d_backward, conv_transpose3d

    Notes
    -----
    Each output size is ⌊(L + 2P − D(K − 1) − 1) / S⌋ + 1.

    Examples
    --------
    >>> import numpy as np, rustconv
    >>> x = np.ones((2, 1, 3, 4, 5))
    >>> w = np.ones((4, 1, 2, 2, 2))
    >>> rustconv.conv3d(x, w, stride=(1, 2, 2)).shape
    (2, 4, 2, 2, 2)
    """
    return _forward(3, input, weight, bias, stride, padding, dilation, groups, padding_mode, workers)


_INPUT_DOC = """Gradient of conv{r}d with respect to its input, as ``torch.nn.grad.conv{r}d_input``.

    Parameters
    ----------
    input_size : sequence of int
        The input's shape, (N, C_in, *spatial) or unbatched (C_in, *spatial).
    weight : array_like, shape (C_out, C_in / groups, *kernel)
        The forward weight.
    grad_output : array_like, shape (N, C_out, *out) or (C_out, *out)
        Gradient of the loss with respect to the forward output.
    stride, padding, dilation : int or tuple of {r} ints
        The forward convolution's geometry (zero padding).
    groups : int
        The forward convolution's groups.
    workers : int, optional
        Threads (None = the global setting, -1 = all cores).

    Returns
    -------
    ndarray, shape input_size
        The input gradient: the adjoint (transposed) convolution of grad_output.

    Raises
    ------
    ValueError
        When grad_output's shape is not the forward output shape for
        input_size, or any geometry error of :func:`conv{r}d`.
    TypeError
        A dtype other than float32/float64, or arrays of different dtypes.

    See Also
    --------
    conv{r}d, conv{r}d_weight, conv{r}d_backward, conv_transpose{r}d

    Notes
    -----
    ⟨conv{r}d(x, w), g⟩ = ⟨x, conv{r}d_input(x.shape, w, g)⟩ for every x and g.

    Examples
    --------
    >>> import numpy as np, rustconv
    >>> w = np.ones((1, 1{ones}))
    >>> g = np.ones((1, 1{twos}))
    >>> rustconv.conv{r}d_input((1, 1{threes}), w, g).ravel()[:3]
    array([1., 2., 2.])
    """

_WEIGHT_DOC = """Gradient of conv{r}d with respect to its weight, as ``torch.nn.grad.conv{r}d_weight``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, *spatial) or (C_in, *spatial)
        The forward input.
    weight_size : sequence of int
        The weight's shape (C_out, C_in / groups, *kernel).
    grad_output : array_like, shape (N, C_out, *out) or (C_out, *out)
        Gradient of the loss with respect to the forward output.
    stride, padding, dilation : int or tuple of {r} ints
        The forward convolution's geometry (zero padding).
    groups : int
        The forward convolution's groups.
    workers : int, optional
        Threads (None = the global setting, -1 = all cores).

    Returns
    -------
    ndarray, shape weight_size
        Summed over the batch in fixed chunks combined in order, so the
        result is bitwise identical for every thread count.

    Raises
    ------
    ValueError
        When grad_output's shape is not the forward output shape, or any
        geometry error of :func:`conv{r}d`.
    TypeError
        A dtype other than float32/float64, or arrays of different dtypes.

    See Also
    --------
    conv{r}d, conv{r}d_input, conv{r}d_backward

    Notes
    -----
    ⟨conv{r}d(x, w), g⟩ = ⟨w, conv{r}d_weight(x, w.shape, g)⟩ for every w and g.

    Examples
    --------
    >>> import numpy as np, rustconv
    >>> x = np.ones((1, 1{threes}))
    >>> g = np.ones((1, 1{twos}))
    >>> float(rustconv.conv{r}d_weight(x, (1, 1{ones}), g).ravel()[0])
    {count}
    """

_BACKWARD_DOC = """All gradients of conv{r}d in one call: (grad_input, grad_weight, grad_bias).

    Parameters
    ----------
    grad_output : array_like, shape (N, C_out, *out) or (C_out, *out)
        Gradient of the loss with respect to the forward output.
    input : array_like, shape (N, C_in, *spatial) or (C_in, *spatial)
        The forward input.
    weight : array_like, shape (C_out, C_in / groups, *kernel)
        The forward weight.
    stride, padding, dilation : int or tuple of {r} ints
        The forward convolution's geometry (zero padding).
    groups : int
        The forward convolution's groups.
    workers : int, optional
        Threads (None = the global setting, -1 = all cores).

    Returns
    -------
    grad_input : ndarray, shape of input
    grad_weight : ndarray, shape of weight
    grad_bias : ndarray, shape (C_out,)
        The sum of grad_output over the batch and every position.

    Raises
    ------
    ValueError
        When grad_output's shape is not the forward output shape, or any
        geometry error of :func:`conv{r}d`.
    TypeError
        A dtype other than float32/float64, or arrays of different dtypes.

    See Also
    --------
    conv{r}d_input, conv{r}d_weight

    Notes
    -----
    One pass over the batch computes the input and weight gradients
    together, sharing the reads of grad_output; the weight gradient is
    summed over the batch in a fixed order (bitwise identical for every
    thread count).

    Examples
    --------
    >>> import numpy as np, rustconv
    >>> x = np.ones((1, 1{threes}))
    >>> w = np.ones((1, 1{ones}))
    >>> gx, gw, gb = rustconv.conv{r}d_backward(np.ones((1, 1{twos})), x, w)
    >>> gx.shape == x.shape, gw.shape == w.shape, float(gb[0])
    (True, True, {count})
    """

_TRANSPOSE_DOC = """Transposed {r}-D convolution, as ``torch.nn.functional.conv_transpose{r}d``.

    The adjoint of conv{r}d: each input position scatters the kernel times its
    value into the output (sometimes called a fractionally strided convolution).

    Parameters
    ----------
    input : array_like, shape (N, C_in, *spatial) or (C_in, *spatial)
        float32 or float64.
    weight : array_like, shape (C_in, C_out / groups, *kernel)
        As torch (input channels first).
    bias : array_like, shape (C_out,), optional
        Added per output channel.
    stride, padding, output_padding, dilation : int or tuple of {r} ints
        ``output_padding`` (smaller than stride or dilation) adds rows at the
        end of each axis to pick among the input sizes a strided forward
        convolution maps to the same size.
    groups : int
        Independent channel groups.
    workers : int, optional
        Threads (None = the global setting, -1 = all cores).

    Returns
    -------
    ndarray, shape (N, C_out, *out) or (C_out, *out)
        Same dtype as the inputs.

    Raises
    ------
    ValueError
        Channels that do not match, groups that do not divide them,
        output_padding not smaller than stride or dilation, an empty output,
        non-positive stride or dilation, negative padding.
    TypeError
        A dtype other than float32/float64, or arrays of different dtypes.

    See Also
    --------
    conv{r}d, conv{r}d_input

    Notes
    -----
    out = (L - 1)·S - 2P + D(K - 1) + output_padding + 1 per axis.

    Examples
    --------
    >>> import numpy as np, rustconv
    >>> x = np.ones((1, 1{twos}))
    >>> w = np.ones((1, 1{ones}))
    >>> rustconv.conv_transpose{r}d(x, w).ravel()[:3]
    array([1., 2., 2.])
    """


def _doc(template: str, rank: int) -> str:
    return template.format(
        r=rank,
        ones=", 2" * rank,
        twos=", 3" * rank,
        threes=", 4" * rank,
        count=f"{3.0**rank}",
    )


def conv1d_input(
    input_size: Sequence[int],
    weight: npt.ArrayLike,
    grad_output: npt.ArrayLike,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    workers: int | None = None,
) -> FloatArray:
    return _input_grad(1, input_size, weight, grad_output, stride, padding, dilation, groups, workers)


def conv2d_input(
    input_size: Sequence[int],
    weight: npt.ArrayLike,
    grad_output: npt.ArrayLike,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    workers: int | None = None,
) -> FloatArray:
    return _input_grad(2, input_size, weight, grad_output, stride, padding, dilation, groups, workers)


def conv3d_input(
    input_size: Sequence[int],
    weight: npt.ArrayLike,
    grad_output: npt.ArrayLike,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    workers: int | None = None,
) -> FloatArray:
    return _input_grad(3, input_size, weight, grad_output, stride, padding, dilation, groups, workers)


def conv1d_weight(
    input: npt.ArrayLike,
    weight_size: Sequence[int],
    grad_output: npt.ArrayLike,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    workers: int | None = None,
) -> FloatArray:
    return _weight_grad(1, input, weight_size, grad_output, stride, padding, dilation, groups, workers)


def conv2d_weight(
    input: npt.ArrayLike,
    weight_size: Sequence[int],
    grad_output: npt.ArrayLike,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    workers: int | None = None,
) -> FloatArray:
    return _weight_grad(2, input, weight_size, grad_output, stride, padding, dilation, groups, workers)


def conv3d_weight(
    input: npt.ArrayLike,
    weight_size: Sequence[int],
    grad_output: npt.ArrayLike,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    workers: int | None = None,
) -> FloatArray:
    return _weight_grad(3, input, weight_size, grad_output, stride, padding, dilation, groups, workers)


def conv1d_backward(
    grad_output: npt.ArrayLike,
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    workers: int | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    return _backward(1, grad_output, input, weight, stride, padding, dilation, groups, workers)


def conv2d_backward(
    grad_output: npt.ArrayLike,
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    workers: int | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    return _backward(2, grad_output, input, weight, stride, padding, dilation, groups, workers)


def conv3d_backward(
    grad_output: npt.ArrayLike,
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    workers: int | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    return _backward(3, grad_output, input, weight, stride, padding, dilation, groups, workers)


def conv_transpose1d(
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    *,
    workers: int | None = None,
) -> FloatArray:
    return _transpose(1, input, weight, bias, stride, padding, output_padding, groups, dilation, workers)


def conv_transpose2d(
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    *,
    workers: int | None = None,
) -> FloatArray:
    return _transpose(2, input, weight, bias, stride, padding, output_padding, groups, dilation, workers)


def conv_transpose3d(
    input: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    *,
    workers: int | None = None,
) -> FloatArray:
    return _transpose(3, input, weight, bias, stride, padding, output_padding, groups, dilation, workers)


for _rank in (1, 2, 3):
    for _template, _fn in (
        (_INPUT_DOC, (conv1d_input, conv2d_input, conv3d_input)[_rank - 1]),
        (_WEIGHT_DOC, (conv1d_weight, conv2d_weight, conv3d_weight)[_rank - 1]),
        (_BACKWARD_DOC, (conv1d_backward, conv2d_backward, conv3d_backward)[_rank - 1]),
        (_TRANSPOSE_DOC, (conv_transpose1d, conv_transpose2d, conv_transpose3d)[_rank - 1]),
    ):
        _fn.__doc__ = _doc(_template, _rank)


def conv_output_shape(
    input_shape: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
) -> tuple[int, ...]:
    """The spatial output shape of a convolution, as conv1d/2d/3d compute it.

    Parameters
    ----------
    input_shape : int or tuple of ints
        The spatial input size(s) (no batch or channel dimensions).
    kernel_size : int or tuple of ints
        The kernel size per spatial dimension (an int applies to all).
    stride, dilation : int or tuple of ints
        As for :func:`conv2d`.
    padding : int, tuple of ints, 'same' or 'valid'
        As for :func:`conv2d`.

    Returns
    -------
    tuple of int
        One output size per spatial dimension.

    Raises
    ------
    ValueError
        A kernel larger than the padded input, non-positive sizes, strides
        or dilations, negative padding, tuples of different lengths,
        ``'same'`` with a stride above 1.

    See Also
    --------
    conv2d

    Notes
    -----
    O = ⌊(H + 2P − D(K − 1) − 1) / S⌋ + 1; with P = 0 and S = D = 1 this is
    O = H − K + 1. For ``'same'`` the two sides may differ by one.

    Examples
    --------
    >>> import rustconv
    >>> rustconv.conv_output_shape((224, 224), 7, stride=2, padding=3)
    (112, 112)
    >>> rustconv.conv_output_shape(10, 3)
    (8,)
    """
    if isinstance(input_shape, (bool, np.bool_)):
        raise TypeError(f"input_shape must be an int or a tuple of ints, got {input_shape!r}")
    if isinstance(input_shape, (int, np.integer)):
        spatial: tuple[int, ...] = (int(input_shape),)
    else:
        try:
            spatial = tuple(input_shape)
        except TypeError:
            raise TypeError(
                f"input_shape must be an int or a tuple of ints, got {type(input_shape).__name__}"
            ) from None
    rank = len(spatial)
    if rank == 0:
        raise ValueError("input_shape must have at least one spatial dimension, got ()")
    sizes: list[int] = _rustconv._conv_output_shape(
        as_tuple(spatial, rank, "input_shape"),
        as_tuple(kernel_size, rank, "kernel_size"),
        as_tuple(stride, rank, "stride"),
        _padding(padding, rank),
        as_tuple(dilation, rank, "dilation"),
    )
    return tuple(sizes)
