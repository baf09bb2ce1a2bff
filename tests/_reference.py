"""The NumPy/scipy references shared by the reliability tests.

The per-family references live in the family test files; this module gathers
them in one place (and adds the few the reliability tests need beyond them),
so the property, determinism and hostile-input tests compare against exactly
the references the unit tests trust.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from test_conv import ref_conv, ref_transpose, resolve_padding
from test_pad import MODES as PAD_MODES
from test_pad import scatter_add_reference as ref_pad_backward
from test_pool import _gather, ref_adaptive, ref_avg_pool, ref_len, ref_lp_pool, ref_max_pool

__all__ = [
    "PAD_MODES",
    "layouts",
    "ref_adaptive",
    "ref_avg_pool",
    "ref_conv",
    "ref_conv_input",
    "ref_conv_weight",
    "ref_len",
    "ref_lp_pool",
    "ref_lp_pool_backward",
    "ref_max_pool",
    "ref_pad_backward",
    "ref_transpose",
    "scatter_indices",
]


def ref_conv_weight(
    x: np.ndarray,
    dy: np.ndarray,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """dW[o, c, k] = Σ_n,x dy[n, o, x] · xpad[n, c, x·S + k·D], in float64."""
    rank = len(kernel)
    x = np.asarray(x, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    if x.ndim == rank + 1:
        x, dy = x[None], dy[None]
    before, after = resolve_padding(list(padding), kernel, dilation)
    xp = np.pad(x, [(0, 0), (0, 0), *zip(before, after)])
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    win = sliding_window_view(xp, extent, axis=tuple(range(2, 2 + rank)))
    sl = (
        slice(None),
        slice(None),
        *(slice(None, None, s) for s in stride),
        *(slice(None, None, d) for d in dilation),
    )
    out_sp = dy.shape[2:]
    win = win[sl][(slice(None), slice(None), *(slice(0, o) for o in out_sp))]
    n, c = x.shape[:2]
    c_out = dy.shape[1]
    win = win.reshape(n, groups, c // groups, *out_sp, *kernel)
    dyg = dy.reshape(n, groups, c_out // groups, *out_sp)
    o, k = "xyz"[:rank], "ijk"[:rank]
    dw = np.einsum(f"ngc{o}{k},ngd{o}->gdc{k}", win, dyg)
    return dw.reshape(c_out, c // groups, *kernel)


def ref_conv_input(
    input_size: tuple[int, ...],
    w: np.ndarray,
    dy: np.ndarray,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The input gradient as the transposed convolution of dy, with the
    output padding that reaches ``input_size``."""
    rank = w.ndim - 2
    spatial = input_size[-rank:]
    out_sp = dy.shape[-rank:]
    output_padding = tuple(
        length + 2 * p - ((o - 1) * s + d * (k - 1) + 1)
        for length, p, o, s, d, k in zip(spatial, padding, out_sp, stride, dilation, w.shape[2:])
    )
    return ref_transpose(dy, w, None, stride, padding, output_padding, groups, dilation)


def scatter_indices(
    grad: np.ndarray, indices: np.ndarray, input_shape: tuple[int, ...], rank: int
) -> np.ndarray:
    """max-pool backward: each gradient added at its flat index in its plane."""
    planes = int(np.prod(input_shape[:-rank], dtype=np.int64))
    plane = int(np.prod(input_shape[-rank:], dtype=np.int64))
    out = np.zeros((planes, plane), dtype=np.float64)
    g = grad.reshape(planes, -1).astype(np.float64)
    idx = indices.reshape(planes, -1)
    for p in range(planes):
        np.add.at(out[p], idx[p], g[p])
    return out.reshape(input_shape)


def ref_lp_pool_backward(
    grad: np.ndarray, x: np.ndarray, y: np.ndarray, rank: int, p: float, kernel: Any, stride: Any, ceil: bool
) -> np.ndarray:
    """g · sign(x)|x|^(p−1) / y^(p−1) scattered over each window (0 where y = 0)."""
    batched = x.ndim == rank + 2
    x4 = x if batched else x[None]
    values, valid, flat, _ = _gather(x4, rank, kernel, stride, (0,) * rank, (1,) * rank, ceil)
    g = (grad if batched else grad[None]).astype(np.float64).reshape(values.shape[:-1])
    yv = (y if batched else y[None]).astype(np.float64).reshape(values.shape[:-1])
    v = values.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(yv > 0, g / yv ** (p - 1), 0.0)[..., None]
        contrib = np.where(valid, factor * np.sign(v) * np.abs(v) ** (p - 1), 0.0)
    planes = int(np.prod(x4.shape[:2]))
    plane = int(np.prod(x4.shape[2:]))
    out = np.zeros((planes, plane))
    c = contrib.reshape(planes, -1)
    f = np.broadcast_to(flat, values.shape).reshape(planes, -1)
    for q in range(planes):
        np.add.at(out[q], f[q], c[q])
    return out.reshape(x.shape)


def layouts(a: np.ndarray, kind: str) -> np.ndarray:
    """The values of ``a`` in another memory layout: C order, Fortran order,
    a strided slice of a larger buffer, negative strides, or read-only."""
    if kind == "C":
        return np.ascontiguousarray(a).copy()
    if kind == "F":
        return np.asfortranarray(a)
    if kind == "strided":
        if a.ndim == 0:
            return a.copy()
        big = np.zeros((*a.shape[:-1], 2 * a.shape[-1] + 1), dtype=a.dtype)
        big[..., 1::2] = a
        return big[..., 1::2]
    if kind == "negative":
        flipped = a[tuple(slice(None, None, -1) for _ in range(a.ndim))].copy()
        return flipped[tuple(slice(None, None, -1) for _ in range(a.ndim))]
    if kind == "readonly":
        r = a.copy()
        r.setflags(write=False)
        return r
    raise ValueError(kind)


LAYOUTS = ("C", "F", "strided", "negative", "readonly")
