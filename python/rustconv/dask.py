"""rustconv on dask arrays: the signal, pad and pooling functions in chunks.

Each function here takes a :class:`dask.array.Array` (anything else is
wrapped with :func:`dask.array.asarray`), plans the computation lazily and
returns a dask array whose chunks are computed by rustconv's in-memory
function of the same name, through :func:`dask.array.map_overlap`. The halo
each chunk borrows from its neighbours is derived from the kernel (or the
pooling window) and the mode, so the result equals the in-memory function on
the whole array, element for element, for any chunking:

* ``convolve``/``correlate`` (N-d, along ``axes``) and
  ``convolve2d``/``correlate2d`` (on the planes of the trailing two axes, or
  ``axes``) with every mode and boundary;
* ``pad`` with every mode of :func:`rustconv.pad`;
* ``max_pool{1,2,3}d``, ``avg_pool{1,2,3}d`` and ``lp_pool{1,2,3}d`` on the
  trailing spatial axes, every leading axis batched, as torch does.

Chunks smaller than the halo are merged with their neighbours first, and
pooling moves chunk boundaries onto its stride grid, so no window is cut in
two; the output's chunks follow the input's.

Threads
-------
rustconv releases the interpreter lock, so dask's threaded scheduler (the
default for dask arrays) runs as many chunks at once as it has threads,
``dask.config.get("num_workers")`` or the number of cores. Each chunk's
kernel then runs on ``workers`` threads of its own, so up to
``dask threads × workers`` threads compete for the cores. The default here
is ``workers=1``: dask supplies the parallelism, one kernel thread per task,
no oversubscription. On a ``dask.distributed`` cluster the same holds per
worker process: ``threads_per_worker × workers`` threads per process. Pass
a larger ``workers`` when dask runs fewer tasks than there are cores (for
instance ``scheduler="synchronous"``, or ``threads_per_worker=1`` on
machines with many cores per worker), or ``workers=None`` for rustconv's
global setting (:func:`rustconv.set_num_threads`; by default all cores).
The results are the same bits whatever the thread counts.

This module needs the ``dask`` extra (``pip install 'rustconv[dask]'``);
``import rustconv`` itself never imports dask.

Examples
--------
>>> import numpy as np, dask.array as da
>>> import rustconv, rustconv.dask
>>> image = da.arange(64.0, chunks=16).reshape(8, 8).rechunk(3)
>>> out = rustconv.dask.correlate2d(image, np.ones((3, 3)), mode="same", boundary="symm")
>>> bool((out.compute() == rustconv.correlate2d(image.compute(), np.ones((3, 3)), "same", "symm")).all())
True
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, Callable, Protocol

import numpy as np
import numpy.typing as npt

try:
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised without dask installed
    raise ImportError(
        "rustconv.dask needs dask and distributed, which rustconv does not install by default; "
        "install them with: pip install 'rustconv[dask]'"
    ) from exc

from . import _pad, _pool, _signal
from ._util import as_workers

__all__ = [
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "pad",
]

IntOrTuple = _pool.IntOrTuple
Array = npt.NDArray[Any]
Block = Callable[..., Array]


# --- chunk planning --------------------------------------------------------------


def _as_dask(x: Any, name: str) -> Any:
    if isinstance(x, da.Array):
        return x
    try:
        return da.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a dask array or array-like, got {type(x).__name__}: {exc}") from None


def _as_kernel(kernel: Any) -> Array:
    """The (small) kernel as a NumPy array; a dask kernel is computed once here."""
    if isinstance(kernel, da.Array):
        kernel = kernel.compute()
    return np.asarray(kernel)


def _meta(ndim: int, dtype: np.dtype[Any]) -> Array:
    return np.empty((0,) * ndim, dtype=dtype)


def _at_least(chunks: tuple[int, ...], minimum: int) -> tuple[int, ...]:
    """Neighbouring chunks merged until each has ``minimum`` elements (one
    chunk when the axis is shorter), so a halo never spans two neighbours."""
    if len(chunks) <= 1 or min(chunks) >= minimum:
        return chunks
    merged: list[int] = []
    pending = 0
    for size in chunks:
        pending += size
        if pending >= minimum:
            merged.append(pending)
            pending = 0
    if pending:
        if merged:
            merged[-1] += pending
        else:
            merged.append(pending)
    return tuple(merged)


def _edges_at_least(chunks: tuple[int, ...], first: int, last: int) -> tuple[int, ...]:
    """The first and last chunks merged inwards until they hold ``first`` and
    ``last`` elements (padding reads only the edge chunks)."""
    sizes = list(chunks)
    while len(sizes) > 1 and sizes[0] < first:
        sizes[0:2] = [sizes[0] + sizes[1]]
    while len(sizes) > 1 and sizes[-1] < last:
        sizes[-2:] = [sizes[-2] + sizes[-1]]
    return tuple(sizes)


def _normalize_axes(axes: int | Sequence[int] | None, ndim: int, name: str) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(ndim))
    try:
        items = (
            [operator.index(axes)] if not isinstance(axes, Sequence) else [operator.index(a) for a in axes]
        )
    except TypeError:
        raise TypeError(f"{name} must be None, an int or a sequence of ints, got {axes!r}") from None
    normalized = []
    for ax in items:
        if not -ndim <= ax < ndim:
            raise ValueError(f"{name} entry {ax} is out of range for an array with {ndim} dimensions")
        normalized.append(ax % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name} must not repeat an axis, got {axes!r}")
    return tuple(normalized)


# --- the signal family -----------------------------------------------------------


def _same_in_chunks(
    x: Any, kernel_shape: tuple[int, ...], wrap: bool, block: Block, dtype: np.dtype[Any]
) -> da.Array:
    """'same'-mode output of ``block`` (an in-memory function in 'same' mode)
    on every chunk extended by ``k // 2`` on each side.

    Every 'same' variant reaches at most ``k // 2`` elements to either side
    (``k // 2`` left and ``(k - 1) // 2`` right, or the reverse), so the
    chunk's own positions see exactly the elements they see in the whole
    array. At the array's edges dask adds nothing (boundary 'none') and the
    in-memory function applies its own boundary rule to the true edge; only
    'wrap' needs the far end's data, which dask's 'periodic' boundary brings.
    """
    depth = {ax: k // 2 for ax, k in enumerate(kernel_shape)}
    x = x.rechunk(tuple(_at_least(c, max(depth[ax], 1)) for ax, c in enumerate(x.chunks)))
    # A single chunk along an axis is the whole axis: no halo, the in-memory
    # boundary handles both ends (including kernels longer than the axis).
    depth = {ax: (d if len(x.chunks[ax]) > 1 else 0) for ax, d in depth.items()}
    boundary = {ax: ("periodic" if wrap and d else "none") for ax, d in depth.items()}
    return da.map_overlap(
        block,
        x,
        depth=depth,
        boundary=boundary,
        trim=True,
        allow_rechunk=False,
        dtype=dtype,
        meta=_meta(x.ndim, dtype),
    )


def _modes_in_chunks(
    x: Any,
    kernel_shape: tuple[int, ...],
    mode: str,
    left_reach: tuple[int, ...],
    wrap: bool,
    pad_mode: _pad.PadMode,
    fill: Any,
    block: Block,
    dtype: np.dtype[Any],
    name: str,
) -> da.Array:
    """Every mode from the 'same' computation: 'valid' is a slice of it,
    'full' a slice of 'same' on the array padded by ``k - 1`` on each side
    with the boundary rule (numpy.pad's modes continue the boundary exactly as
    the in-memory functions do, even beyond the array's length)."""
    if mode == "same":
        return _same_in_chunks(x, kernel_shape, wrap, block, dtype)
    if mode == "valid":
        if any(n < k for n, k in zip(x.shape, kernel_shape)):
            raise ValueError(
                f"{name}: in 'valid' mode the array must be at least as large as the kernel along every "
                f"axis it is applied to, got array shape {x.shape} and kernel shape {kernel_shape}"
            )
        out = _same_in_chunks(x, kernel_shape, wrap, block, dtype)
        lengths = [n - k + 1 for n, k in zip(x.shape, kernel_shape)]
    else:
        widths = [(k - 1, k - 1) for k in kernel_shape]
        padded = pad(x, widths, pad_mode, fill) if any(k > 1 for k in kernel_shape) else x
        out = _same_in_chunks(padded, kernel_shape, wrap, block, dtype)
        lengths = [n + k - 1 for n, k in zip(x.shape, kernel_shape)]
    return out[tuple(slice(left, left + length) for left, length in zip(left_reach, lengths))]


def _check_mode(mode: object) -> str:
    return _signal._check_mode(mode)


def _nd(
    in1: Any,
    in2: Any,
    mode: str,
    method: str,
    axes: int | Sequence[int] | None,
    workers: int | None,
    convolution: bool,
) -> da.Array:
    name = "convolve" if convolution else "correlate"
    in_memory = _signal.convolve if convolution else _signal.correlate
    w = as_workers(workers)
    x = _as_dask(in1, "in1")
    kernel = _as_kernel(in2)
    mode = _check_mode(mode)
    method = _signal._check_method(method)
    conv_axes = _normalize_axes(axes, x.ndim, "axes")
    if axes is None:
        if kernel.ndim != x.ndim:
            raise ValueError(
                f"in1 and in2 should have the same dimensionality, got in1.ndim={x.ndim} and in2.ndim={kernel.ndim}"
            )
    else:
        if kernel.ndim != len(conv_axes):
            raise ValueError(
                f"in2 must have one dimension per entry of axes, got in2.ndim={kernel.ndim} and axes={axes!r}"
            )
        # The kernel's dimensions in the array's axis order, size 1 elsewhere:
        # the in-memory N-d function then treats the other axes as a batch.
        order = sorted(range(len(conv_axes)), key=lambda i: conv_axes[i])
        shape = [1] * x.ndim
        for i in order:
            shape[conv_axes[i]] = kernel.shape[i]
        kernel = kernel.transpose(order).reshape(shape)
    probe = in_memory(np.zeros((1,) * x.ndim, dtype=x.dtype), kernel, mode, method, workers=1)
    dtype = probe.dtype

    def block(chunk: Array) -> Array:
        return in_memory(chunk, kernel, "same", method, workers=w)

    left_reach = tuple(k // 2 for k in kernel.shape)
    return _modes_in_chunks(x, kernel.shape, mode, left_reach, False, "constant", 0, block, dtype, name)


def _plane(
    in1: Any,
    in2: Any,
    mode: str,
    boundary: str,
    fillvalue: Any,
    axes: Sequence[int],
    workers: int | None,
    convolution: bool,
) -> da.Array:
    name = "convolve2d" if convolution else "correlate2d"
    in_memory = _signal.convolve2d if convolution else _signal.correlate2d
    w = as_workers(workers)
    x = _as_dask(in1, "in1")
    kernel = _as_kernel(in2)
    if x.ndim < 2:
        raise ValueError(f"{name} needs an array with at least 2 dimensions, got in1.ndim={x.ndim}")
    if kernel.ndim != 2:
        raise ValueError(f"{name}: in2 must be a 2-D kernel, got in2.ndim={kernel.ndim}")
    plane_axes = _normalize_axes(axes, x.ndim, "axes")
    if len(plane_axes) != 2:
        raise ValueError(f"axes must name 2 axes, got {axes!r}")
    mode = _check_mode(mode)
    plane_shape = tuple(min(x.shape[ax], 1) for ax in plane_axes)
    probe = in_memory(np.zeros(plane_shape, dtype=x.dtype), kernel, mode, boundary, fillvalue, workers=1)
    dtype = probe.dtype
    # The planes' axes go last, so each chunk is a stack of 2-D pieces.
    moved = da.moveaxis(x, plane_axes, (-2, -1))

    def block(chunk: Array) -> Array:
        planes = chunk.reshape(math.prod(chunk.shape[:-2]), *chunk.shape[-2:])
        if len(planes) == 1:
            return in_memory(planes[0], kernel, "same", boundary, fillvalue, workers=w).reshape(chunk.shape)
        out = np.empty(planes.shape, dtype=dtype)
        for i, plane in enumerate(planes):
            out[i] = in_memory(plane, kernel, "same", boundary, fillvalue, workers=w)
        return out.reshape(chunk.shape)

    kernel_shape = (1,) * (x.ndim - 2) + kernel.shape
    if convolution:
        reach = (kernel.shape[0] // 2, kernel.shape[1] // 2)
    else:
        reach = ((kernel.shape[0] - 1) // 2, (kernel.shape[1] - 1) // 2)
    left_reach = (0,) * (x.ndim - 2) + reach
    pad_modes: dict[str, _pad.PadMode] = {
        "fill": "constant",
        "pad": "constant",
        "wrap": "wrap",
        "circular": "wrap",
    }
    pad_mode = pad_modes.get(boundary, "symmetric")
    fill: Any = 0
    if mode == "full" and pad_mode == "constant":
        # The in-memory function pads with the fill value cast to the result dtype.
        moved = moved.astype(dtype)
        fill = _signal._fill_array(fillvalue, dtype)[0]
    out = _modes_in_chunks(
        moved, kernel_shape, mode, left_reach, pad_mode == "wrap", pad_mode, fill, block, dtype, name
    )
    return da.moveaxis(out, (-2, -1), plane_axes)


def convolve(
    in1: Any,
    in2: npt.ArrayLike,
    mode: str = "full",
    method: str = "direct",
    *,
    axes: int | Sequence[int] | None = None,
    workers: int | None = 1,
) -> da.Array:
    """Convolve a dask array with a kernel in chunks (:func:`rustconv.convolve`).

    Parameters
    ----------
    in1 : dask.array.Array, shape (n_0, ..., n_{d-1})
        The large input, in any chunking (array-likes are wrapped with
        :func:`dask.array.asarray`).
    in2 : array_like, shape (k_0, ..., k_{d-1}) or one size per entry of `axes`
        The kernel, held in memory (a dask kernel is computed first).
    mode : {'full', 'valid', 'same'}, optional
        Output size, as in :func:`rustconv.convolve`.
    method : {'direct', 'fft', 'auto'}, optional
        The in-memory method each chunk uses. 'direct' (the default) gives
        the in-memory direct result bit for bit whatever the chunking; 'fft'
        and 'auto' agree with it to rounding only, since an FFT's rounding
        depends on the chunk's size.
    axes : int or sequence of ints, optional
        The axes to convolve along, one per dimension of `in2`; the other
        axes are a batch. Default: all axes (`in2` has ``in1.ndim``
        dimensions).
    workers : int, optional
        rustconv threads per dask task: 1 (the default; dask runs the tasks
        in parallel), None for rustconv's global setting, -1 for all cores.

    Returns
    -------
    out : dask.array.Array
        Lazy; of dtype ``numpy.result_type(in1, in2)`` (float for 'fft').

    Raises
    ------
    ValueError
        As :func:`rustconv.convolve`, and if `axes` is invalid or, in 'valid'
        mode, the kernel is larger than `in1` along an axis (rustconv's
        in-memory function would swap the inputs there).

    See Also
    --------
    rustconv.convolve, correlate, convolve2d

    Notes
    -----
    Output shape per axis: 'full' ``n + k - 1``, 'same' ``n``, 'valid'
    ``n - k + 1``. Each chunk borrows ``k // 2`` elements from each
    neighbour (chunks smaller than that are merged first) and computes
    'same' mode in memory; 'valid' and 'full' are slices of 'same' on the
    array as is or padded by ``k - 1`` zeros.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import rustconv.dask
    >>> x = da.arange(10.0, chunks=3)
    >>> rustconv.dask.convolve(x, [1.0, 2.0, 1.0], mode="same").compute()
    array([ 1.,  4.,  8., 12., 16., 20., 24., 28., 32., 26.])
    >>> stack = da.ones((2, 6), chunks=(1, 2))
    >>> rustconv.dask.convolve(stack, [1.0, 1.0], mode="valid", axes=1).compute()
    array([[2., 2., 2., 2., 2.],
           [2., 2., 2., 2., 2.]])
    """
    return _nd(in1, in2, mode, method, axes, workers, True)


def correlate(
    in1: Any,
    in2: npt.ArrayLike,
    mode: str = "full",
    method: str = "direct",
    *,
    axes: int | Sequence[int] | None = None,
    workers: int | None = 1,
) -> da.Array:
    """Cross-correlate a dask array with a kernel in chunks (:func:`rustconv.correlate`).

    Parameters
    ----------
    in1 : dask.array.Array, shape (n_0, ..., n_{d-1})
        The large input, in any chunking.
    in2 : array_like, shape (k_0, ..., k_{d-1}) or one size per entry of `axes`
        The kernel (conjugated when complex), held in memory.
    mode : {'full', 'valid', 'same'}, optional
        Output size, as in :func:`rustconv.correlate` ('same' starts at
        offset ``k // 2``, not :func:`correlate2d`'s ``(k - 1) // 2``).
    method : {'direct', 'fft', 'auto'}, optional
        As in :func:`convolve`; 'direct' is exact for any chunking.
    axes : int or sequence of ints, optional
        The axes to correlate along; the others are a batch. Default: all.
    workers : int, optional
        rustconv threads per dask task (default 1; None = global setting).

    Returns
    -------
    out : dask.array.Array
        Lazy; of dtype ``numpy.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        As :func:`convolve`.

    See Also
    --------
    rustconv.correlate, convolve, correlate2d

    Notes
    -----
    Output shape per axis as in :func:`convolve`; the halo is ``k // 2``
    elements on each side.

    Examples
    --------
    >>> import dask.array as da
    >>> import rustconv.dask
    >>> x = da.arange(1, 9, chunks=3)
    >>> rustconv.dask.correlate(x, [1, 2, 3, 4], mode="same").compute()
    array([11, 20, 30, 40, 50, 60, 70, 44])
    """
    return _nd(in1, in2, mode, method, axes, workers, False)


def convolve2d(
    in1: Any,
    in2: npt.ArrayLike,
    mode: str = "full",
    boundary: str = "fill",
    fillvalue: Any = 0,
    *,
    axes: Sequence[int] = (-2, -1),
    workers: int | None = 1,
) -> da.Array:
    """Convolve the planes of a dask array with a 2-D kernel (:func:`rustconv.convolve2d`).

    Parameters
    ----------
    in1 : dask.array.Array, shape (..., H, W)
        The planes (along `axes`), in any chunking; leading axes are a batch.
    in2 : array_like, shape (KH, KW)
        The kernel, held in memory.
    mode : {'full', 'valid', 'same'}, optional
        Output size, as in :func:`rustconv.convolve2d`.
    boundary : {'fill', 'wrap', 'symm'}, optional
        How each plane continues beyond its edges: `fillvalue` ('fill',
        alias 'pad'), periodically ('wrap', alias 'circular'), or mirrored
        with the edge repeated ('symm', alias 'symmetric').
    fillvalue : scalar, optional
        The value outside the plane for boundary 'fill' (default 0).
    axes : pair of ints, optional
        The plane's axes (default the last two).
    workers : int, optional
        rustconv threads per dask task (default 1; None = global setting).

    Returns
    -------
    out : dask.array.Array
        Lazy; of dtype ``numpy.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        As :func:`rustconv.convolve2d`, and if `axes` is invalid or, in
        'valid' mode, the kernel is larger than the plane.

    See Also
    --------
    rustconv.convolve2d, correlate2d

    Notes
    -----
    Output shape per plane: 'full' ``(H + KH - 1, W + KW - 1)``, 'same'
    ``(H, W)``, 'valid' ``(H - KH + 1, W - KW + 1)``. Each chunk borrows
    ``(KH // 2, KW // 2)`` elements from its neighbours ('wrap' from the far
    end of the plane) and the true edges use the in-memory boundary rule, so
    every boundary gives the in-memory result bit for bit.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import rustconv.dask
    >>> image = da.arange(16.0, chunks=4).reshape(4, 4).rechunk(2)
    >>> rustconv.dask.convolve2d(image, np.ones((3, 3)) / 9, mode="valid").compute()
    array([[ 5.,  6.],
           [ 9., 10.]])
    """
    return _plane(in1, in2, mode, boundary, fillvalue, axes, workers, True)


def correlate2d(
    in1: Any,
    in2: npt.ArrayLike,
    mode: str = "full",
    boundary: str = "fill",
    fillvalue: Any = 0,
    *,
    axes: Sequence[int] = (-2, -1),
    workers: int | None = 1,
) -> da.Array:
    """Cross-correlate the planes of a dask array with a 2-D kernel (:func:`rustconv.correlate2d`).

    Parameters
    ----------
    in1 : dask.array.Array, shape (..., H, W)
        The planes (along `axes`), in any chunking; leading axes are a batch.
    in2 : array_like, shape (KH, KW)
        The kernel (conjugated when complex), held in memory.
    mode : {'full', 'valid', 'same'}, optional
        Output size, as in :func:`rustconv.correlate2d` ('same' starts at
        offset ``(k - 1) // 2``).
    boundary : {'fill', 'wrap', 'symm'}, optional
        As in :func:`convolve2d` (aliases 'pad', 'circular', 'symmetric').
    fillvalue : scalar, optional
        The value outside the plane for boundary 'fill' (default 0).
    axes : pair of ints, optional
        The plane's axes (default the last two).
    workers : int, optional
        rustconv threads per dask task (default 1; None = global setting).

    Returns
    -------
    out : dask.array.Array
        Lazy; of dtype ``numpy.result_type(in1, in2)``.

    Raises
    ------
    ValueError
        As :func:`convolve2d`.

    See Also
    --------
    rustconv.correlate2d, convolve2d

    Notes
    -----
    Output shape as in :func:`convolve2d`; the halo is ``(KH // 2, KW // 2)``.

    Examples
    --------
    >>> import dask.array as da
    >>> import rustconv.dask
    >>> row = da.arange(1, 9, chunks=2).reshape(1, 8)
    >>> rustconv.dask.correlate2d(row, [[1, 2, 3, 4]], mode="same").compute()
    array([[20, 30, 40, 50, 60, 70, 44, 23]])
    """
    return _plane(in1, in2, mode, boundary, fillvalue, axes, workers, False)


# --- padding -----------------------------------------------------------------------


def pad(
    array: Any,
    pad_width: Any,
    mode: _pad.PadMode = "constant",
    constant_values: Any = 0,
    *,
    workers: int | None = 1,
) -> da.Array:
    """Pad a dask array, as :func:`rustconv.pad` (numpy.pad) does.

    Parameters
    ----------
    array : dask.array.Array, shape (n_0, ..., n_{d-1})
        Any chunking; bool, integer, floating or complex.
    pad_width : int, (before, after), ((before_0, after_0), ...) or dict
        Elements added before and after each axis, in every form
        :func:`rustconv.pad` takes.
    mode : str, optional
        'constant' (alias 'zeros' for 0), 'edge' ('replicate'), 'reflect',
        'symmetric' or 'wrap' ('circular'), as in :func:`rustconv.pad`.
    constant_values : scalar or sequence, optional
        The values for 'constant', in numpy.pad's forms.
    workers : int, optional
        rustconv threads per dask task (default 1; None = global setting).

    Returns
    -------
    out : dask.array.Array, shape (before_0 + n_0 + after_0, ...)
        Lazy, of the input's dtype. Only the edge chunks grow: the first
        chunk of each axis by ``before``, the last by ``after``.

    Raises
    ------
    ValueError, TypeError
        As :func:`rustconv.pad`.

    See Also
    --------
    rustconv.pad

    Notes
    -----
    Only the edge chunks are computed by :func:`rustconv.pad`; they are
    merged inwards first until they hold the elements the mode reads
    ('reflect' ``before + 1``, 'symmetric' ``before``, 'edge' one). 'wrap'
    takes the far end's elements through dask's periodic overlap, every
    chunk being at least ``max(before, after)`` long. An axis shorter than
    that becomes one chunk, where rustconv continues the pattern as
    numpy.pad does. Interior chunks pass through untouched. The result is
    bit for bit :func:`rustconv.pad`'s.

    Examples
    --------
    >>> import dask.array as da
    >>> import rustconv.dask
    >>> x = da.arange(1, 7, chunks=2)
    >>> rustconv.dask.pad(x, 2, mode="reflect").compute()
    array([3, 2, 1, 2, 3, 4, 5, 6, 5, 4])
    >>> rustconv.dask.pad(x, (1, 3), mode="wrap").compute()
    array([6, 1, 2, 3, 4, 5, 6, 1, 2, 3])
    """
    w = as_workers(workers)
    x = _as_dask(array, "array")
    mode_name = _pad._check_mode(mode)
    pairs = _pad._pad_pairs(pad_width, x.shape, "array")
    probe_shape = tuple(min(n, 2) for n in x.shape)
    probe_pairs = [(min(b, 1), min(a, 1)) for b, a in pairs]
    _pad.pad(np.zeros(probe_shape, dtype=x.dtype), probe_pairs, mode, constant_values, workers=1)
    wrap = mode_name in ("wrap", "circular")

    chunks = []
    for ax, (before, after) in enumerate(pairs):
        sizes = x.chunks[ax]
        if before or after:
            if wrap:
                sizes = _at_least(sizes, max(before, after))
            elif mode_name in ("reflect", "symmetric"):
                extra = 1 if mode_name == "reflect" else 0
                sizes = _edges_at_least(sizes, before + extra, after + extra)
            elif mode_name in ("edge", "replicate"):
                sizes = _edges_at_least(sizes, 1, 1)
        chunks.append(sizes)
    x = x.rechunk(tuple(chunks))
    depth = {ax: (max(b, a) if wrap and len(x.chunks[ax]) > 1 else 0) for ax, (b, a) in enumerate(pairs)}
    out_chunks = []
    for ax, (before, after) in enumerate(pairs):
        sizes = list(x.chunks[ax])
        sizes[0] += before
        sizes[-1] += after
        out_chunks.append(tuple(sizes))

    def block(chunk: Array, block_info: Any = None) -> Array:
        location = block_info[None]["chunk-location"]
        counts = block_info[None]["num-chunks"]
        index = []
        widths = []
        for ax, (before, after) in enumerate(pairs):
            take_before = before if location[ax] == 0 else 0
            take_after = after if location[ax] == counts[ax] - 1 else 0
            halo = depth[ax]
            if halo:
                # dask's periodic overlap already holds the wrapped elements.
                inner = chunk.shape[ax] - 2 * halo
                index.append(slice(halo - take_before, halo + inner + take_after))
                widths.append((0, 0))
            else:
                index.append(slice(None))
                widths.append((take_before, take_after))
        core = chunk[tuple(index)]
        if not any(b or a for b, a in widths):
            return core
        return _pad.pad(core, widths, mode, constant_values, workers=w)

    return da.map_overlap(
        block,
        x,
        depth=depth,
        boundary={ax: ("periodic" if d else "none") for ax, d in depth.items()},
        trim=False,
        allow_rechunk=False,
        chunks=tuple(out_chunks),
        dtype=x.dtype,
        meta=_meta(x.ndim, x.dtype),
    )


# --- pooling -------------------------------------------------------------------------


def _pool_in_chunks(
    input: Any,
    rank: int,
    name: str,
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    pads: tuple[int, ...],
    dilations: tuple[int, ...],
    ceil_mode: bool,
    run: Callable[[Array], Array],
) -> da.Array:
    """Pooling over the trailing ``rank`` axes, chunk boundaries on the stride grid.

    Window ``o`` starts at ``o·S − P``. Each chunk starts at a multiple of the
    stride and owns the windows that start inside it (the first chunk also
    those starting in the left padding), so the in-memory function, called on
    the chunk with the same symmetric padding, numbers its windows in step
    with the whole array's: its window ``j`` is global window ``g/S + j``.
    The chunk borrows ``D·(K - 1)`` elements from its right neighbour for its
    last windows; its first windows, which would read padding in place of the
    left neighbour's data, belong to that neighbour and are dropped.
    """
    x = _as_dask(input, "input")
    if x.ndim < rank + 1:
        raise ValueError(
            f"{name} needs an array of at least {rank + 1} dimensions (batch or channel axes, then "
            f"{rank} spatial), got shape {x.shape}"
        )
    extents = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilations))
    # Argument and dtype errors as the in-memory function reports them.
    dtype = run(np.zeros((1, *extents), dtype=x.dtype)).dtype
    spatial_axes = tuple(range(x.ndim - rank, x.ndim))
    spatial = x.shape[x.ndim - rank :]
    out_spatial = _pool.pool_output_shape(spatial, kernel, strides, pads, dilations, ceil_mode)

    chunks = list(x.chunks)
    out_chunks = list(x.chunks)
    starts: dict[int, list[int]] = {}
    owned: dict[int, list[int]] = {}
    depth: dict[int, Any] = {}
    for i, ax in enumerate(spatial_axes):
        length, stride, padding, out_length = spatial[i], strides[i], pads[i], out_spatial[i]
        reach = extents[i] - 1
        last_start = (out_length - 1) * stride - padding
        minimum = reach + 1
        boundaries = [0]
        for b in sorted({round(b / stride) * stride for b in np.cumsum(x.chunks[ax][:-1]).tolist()}):
            if b - boundaries[-1] >= minimum and b <= last_start and length - b >= minimum:
                boundaries.append(b)
        chunks[ax] = tuple(np.diff([*boundaries, length]).tolist())
        first = [0] + [-(-(b + padding) // stride) for b in boundaries[1:]] + [out_length]
        starts[ax] = boundaries
        owned[ax] = first
        out_chunks[ax] = tuple(np.diff(first).tolist())
        depth[ax] = (0, reach) if len(boundaries) > 1 and reach else 0
    x = x.rechunk(tuple(chunks))
    lead = x.ndim - rank

    def block(chunk: Array, block_info: Any = None) -> Array:
        location = block_info[None]["chunk-location"]
        planes = chunk.reshape(math.prod(chunk.shape[:lead]), *chunk.shape[lead:])
        out = run(planes)
        keep = [slice(None)]
        for ax in spatial_axes:
            k = location[ax]
            offset = starts[ax][k] // strides[ax - lead]
            keep.append(slice(owned[ax][k] - offset, owned[ax][k + 1] - offset))
        out = out[tuple(keep)]
        return np.ascontiguousarray(out).reshape(*chunk.shape[:lead], *out.shape[1:])

    return da.map_overlap(
        block,
        x,
        depth={ax: depth.get(ax, 0) for ax in range(x.ndim)},
        boundary="none",
        trim=False,
        allow_rechunk=False,
        chunks=tuple(out_chunks),
        dtype=dtype,
        meta=_meta(x.ndim, dtype),
    )


def _window(
    rank: int, kernel_size: IntOrTuple, stride: IntOrTuple | None, padding: IntOrTuple, dilation: IntOrTuple
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    return _pool._window(rank, kernel_size, stride, padding, dilation)


def _check_positive(values: tuple[int, ...], name: str) -> None:
    # The chunk planning divides by the stride; the in-memory probe reports
    # the other invalid values.
    if any(v <= 0 for v in values):
        raise ValueError(f"{name} must be positive, got {values!r}")


_POOL_NOTES = """    Notes
    -----
    The result equals ``rustconv.{name}`` on the whole array (with the
    leading axes flattened into the channel axis), bit for bit, for any
    chunking: along each spatial axis chunk boundaries are moved to
    multiples of the stride (and chunks merged until they are longer than
    the window's reach ``D·(K - 1)``), each chunk owns the windows that
    start in it and borrows ``D·(K - 1)`` elements from its right
    neighbour. Output shape: the in-memory formula per spatial axis
    (:func:`rustconv.pool_output_shape`). ``return_indices`` is not offered:
    the in-memory indices are positions in whole planes."""


class _MaxPool(Protocol):
    def __call__(
        self,
        input: Any,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        ceil_mode: bool = False,
        *,
        workers: int | None = 1,
    ) -> da.Array: ...


class _AvgPool(Protocol):
    def __call__(
        self,
        input: Any,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        *,
        workers: int | None = 1,
    ) -> da.Array: ...


class _LpPool(Protocol):
    def __call__(
        self,
        input: Any,
        norm_type: float,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        ceil_mode: bool = False,
        *,
        workers: int | None = 1,
    ) -> da.Array: ...


def _max_pool_factory(rank: int) -> _MaxPool:
    name = f"max_pool{rank}d"
    in_memory = getattr(_pool, name)

    def max_pool(
        input: Any,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        ceil_mode: bool = False,
        *,
        workers: int | None = 1,
    ) -> da.Array:
        w = as_workers(workers)
        kernel, strides, pads, dilations = _window(rank, kernel_size, stride, padding, dilation)
        _check_positive(strides, "stride")

        def run(planes: Array) -> Array:
            return in_memory(planes, kernel, strides, pads, dilations, ceil_mode, workers=w)

        return _pool_in_chunks(input, rank, name, kernel, strides, pads, dilations, bool(ceil_mode), run)

    max_pool.__name__ = max_pool.__qualname__ = name
    shape = {1: "L", 2: "H, W", 3: "D, H, W"}[rank]
    example = {
        1: ">>> rustconv.dask.max_pool1d(da.arange(8.0, chunks=3).reshape(1, 8), 2).compute()\n"
        "    array([[1., 3., 5., 7.]])",
        2: ">>> x = da.arange(16.0, chunks=5).reshape(1, 4, 4)\n"
        "    >>> rustconv.dask.max_pool2d(x, 2).compute()\n"
        "    array([[[ 5.,  7.],\n"
        "            [13., 15.]]])",
        3: ">>> x = da.arange(64.0, chunks=7).reshape(1, 4, 4, 4)\n"
        "    >>> rustconv.dask.max_pool3d(x, 2).shape\n"
        "    (1, 2, 2, 2)",
    }[rank]
    max_pool.__doc__ = f"""{rank}-D max pooling of a dask array in chunks (:func:`rustconv.{name}`).

    Parameters
    ----------
    input : dask.array.Array, shape (..., {shape})
        float32 or float64; the trailing {rank} axes are pooled, every
        leading axis (at least one, e.g. ``(N, C)`` or ``(C,)``) is a batch.
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
    workers : int, optional
        rustconv threads per dask task (default 1; None = global setting).

    Returns
    -------
    out : dask.array.Array
        Lazy; the window maxima, in the input's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`rustconv.{name}`.

    See Also
    --------
    rustconv.{name}, avg_pool{rank}d, lp_pool{rank}d

{_POOL_NOTES.format(name=name)}

    Examples
    --------
    >>> import dask.array as da
    >>> import rustconv.dask
    {example}
    """
    return max_pool


def _avg_pool_factory(rank: int) -> _AvgPool:
    name = f"avg_pool{rank}d"
    in_memory = getattr(_pool, name)

    def avg_pool(
        input: Any,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        *,
        workers: int | None = 1,
    ) -> da.Array:
        w = as_workers(workers)
        kernel, strides, pads, dilations = _window(rank, kernel_size, stride, padding, 1)
        _check_positive(strides, "stride")

        def run(planes: Array) -> Array:
            return in_memory(
                planes, kernel, strides, pads, ceil_mode, count_include_pad, divisor_override, workers=w
            )

        return _pool_in_chunks(input, rank, name, kernel, strides, pads, dilations, bool(ceil_mode), run)

    avg_pool.__name__ = avg_pool.__qualname__ = name
    example = {
        1: ">>> x = da.from_array([[1.0, 3.0, 2.0, 5.0, 4.0, 0.0]], chunks=(1, 4))\n"
        "    >>> rustconv.dask.avg_pool1d(x, 3, stride=2, padding=1, count_include_pad=False).compute()\n"
        "    array([[2.        , 3.33333333, 3.        ]])",
        2: ">>> x = da.arange(16.0, chunks=5).reshape(1, 4, 4)\n"
        "    >>> rustconv.dask.avg_pool2d(x, 2).compute()\n"
        "    array([[[ 2.5,  4.5],\n"
        "            [10.5, 12.5]]])",
        3: ">>> x = da.arange(64.0, chunks=7).reshape(1, 4, 4, 4)\n"
        "    >>> rustconv.dask.avg_pool3d(x, 2).compute()[0, 0]\n"
        "    array([[10.5, 12.5],\n"
        "           [18.5, 20.5]])",
    }[rank]
    avg_pool.__doc__ = f"""{rank}-D average pooling of a dask array in chunks (:func:`rustconv.{name}`).

    Parameters
    ----------
    input : dask.array.Array
        float32 or float64; the trailing {rank} axes are pooled, every
        leading axis (at least one) is a batch.
    kernel_size : int or tuple of {rank} ints
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
        rustconv threads per dask task (default 1; None = global setting).

    Returns
    -------
    out : dask.array.Array
        Lazy; the window averages, in the input's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`rustconv.{name}`.

    See Also
    --------
    rustconv.{name}, max_pool{rank}d, lp_pool{rank}d

{_POOL_NOTES.format(name=name)}

    Examples
    --------
    >>> import dask.array as da
    >>> import rustconv.dask
    {example}
    """
    return avg_pool


def _lp_pool_factory(rank: int) -> _LpPool:
    name = f"lp_pool{rank}d"
    in_memory = getattr(_pool, name)

    def lp_pool(
        input: Any,
        norm_type: float,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        ceil_mode: bool = False,
        *,
        workers: int | None = 1,
    ) -> da.Array:
        w = as_workers(workers)
        kernel, strides, pads, dilations = _window(rank, kernel_size, stride, 0, 1)
        _check_positive(strides, "stride")

        def run(planes: Array) -> Array:
            return in_memory(planes, norm_type, kernel, strides, ceil_mode, workers=w)

        return _pool_in_chunks(input, rank, name, kernel, strides, pads, dilations, bool(ceil_mode), run)

    lp_pool.__name__ = lp_pool.__qualname__ = name
    example = {
        1: ">>> x = da.from_array([[3.0, 4.0, 6.0, 8.0]], chunks=1)\n"
        "    >>> rustconv.dask.lp_pool1d(x, 2, 2).compute()\n"
        "    array([[ 5., 10.]])",
        2: ">>> x = da.full((1, 4, 4), 2.0, chunks=1)\n"
        "    >>> rustconv.dask.lp_pool2d(x, 2, 2).compute()\n"
        "    array([[[4., 4.],\n"
        "            [4., 4.]]])",
        3: ">>> x = da.ones((1, 2, 2, 4), chunks=1)\n"
        "    >>> rustconv.dask.lp_pool3d(x, 1, 2).compute()\n"
        "    array([[[[8., 8.]]]])",
    }[rank]
    lp_pool.__doc__ = f"""{rank}-D power-average pooling of a dask array in chunks (:func:`rustconv.{name}`).

    Parameters
    ----------
    input : dask.array.Array
        float32 or float64; the trailing {rank} axes are pooled, every
        leading axis (at least one) is a batch.
    norm_type : float
        The power p of ``(sum |x|^p)^(1/p)``.
    kernel_size : int or tuple of {rank} ints
        Window size.
    stride : int or tuple of {rank} ints, optional
        Step between windows; defaults to ``kernel_size``.
    ceil_mode : bool, optional
        Round the output size up instead of down.
    workers : int, optional
        rustconv threads per dask task (default 1; None = global setting).

    Returns
    -------
    out : dask.array.Array
        Lazy; the window norms, in the input's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`rustconv.{name}`.

    See Also
    --------
    rustconv.{name}, max_pool{rank}d, avg_pool{rank}d

{_POOL_NOTES.format(name=name)}

    Examples
    --------
    >>> import dask.array as da
    >>> import rustconv.dask
    {example}
    """
    return lp_pool


max_pool1d = _max_pool_factory(1)
max_pool2d = _max_pool_factory(2)
max_pool3d = _max_pool_factory(3)
avg_pool1d = _avg_pool_factory(1)
avg_pool2d = _avg_pool_factory(2)
avg_pool3d = _avg_pool_factory(3)
lp_pool1d = _lp_pool_factory(1)
lp_pool2d = _lp_pool_factory(2)
lp_pool3d = _lp_pool_factory(3)
