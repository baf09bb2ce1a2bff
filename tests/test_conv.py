"""The CNN convolution layers against a NumPy reference written here (np.pad +
sliding_window_view + einsum, independent of the kernels), finite differences,
adjoint identities, and torch when it is importable."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import rustconv

FORWARD = {1: rustconv.conv1d, 2: rustconv.conv2d, 3: rustconv.conv3d}
TRANSPOSE = {1: rustconv.conv_transpose1d, 2: rustconv.conv_transpose2d, 3: rustconv.conv_transpose3d}
INPUT_GRAD = {1: rustconv.conv1d_input, 2: rustconv.conv2d_input, 3: rustconv.conv3d_input}
WEIGHT_GRAD = {1: rustconv.conv1d_weight, 2: rustconv.conv2d_weight, 3: rustconv.conv3d_weight}
BACKWARD = {1: rustconv.conv1d_backward, 2: rustconv.conv2d_backward, 3: rustconv.conv3d_backward}
NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


# ---------------------------------------------------------------- reference


def resolve_padding(
    padding: Any, kernel: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[list[int], list[int]]:
    rank = len(kernel)
    if padding == "valid":
        return [0] * rank, [0] * rank
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [t // 2 for t in total], [t - t // 2 for t in total]
    p = [padding] * rank if isinstance(padding, int) else list(padding)
    return p, p


def ref_conv(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: tuple[int, ...],
    padding: Any,
    dilation: tuple[int, ...],
    groups: int,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """conv as its definition, in float64: pad, take (dilated, strided) windows, contract."""
    rank = w.ndim - 2
    unbatched = x.ndim == rank + 1
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if unbatched:
        x = x[None]
    kernel = w.shape[2:]
    before, after = resolve_padding(padding, kernel, dilation)
    xp = np.pad(x, [(0, 0), (0, 0), *zip(before, after)], mode=NUMPY_MODE[padding_mode])
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    win = sliding_window_view(xp, extent, axis=tuple(range(2, 2 + rank)))
    sl = (
        slice(None),
        slice(None),
        *(slice(None, None, s) for s in stride),
        *(slice(None, None, d) for d in dilation),
    )
    win = win[sl]
    n, c = x.shape[:2]
    c_out = w.shape[0]
    out_sp = win.shape[2 : 2 + rank]
    win = win.reshape(n, groups, c // groups, *out_sp, *kernel)
    wg = w.reshape(groups, c_out // groups, c // groups, *kernel)
    o, k = "xyz"[:rank], "ijk"[:rank]
    out = np.einsum(f"ngc{o}{k},gdc{k}->ngd{o}", win, wg).reshape(n, c_out, *out_sp)
    if b is not None:
        out = out + np.asarray(b, dtype=np.float64).reshape(1, -1, *([1] * rank))
    return out[0] if unbatched else out


def ref_transpose(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_padding: tuple[int, ...],
    groups: int,
    dilation: tuple[int, ...],
) -> np.ndarray:
    """Transposed conv as scatter: every input position adds value × kernel into the output."""
    rank = w.ndim - 2
    unbatched = x.ndim == rank + 1
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if unbatched:
        x = x[None]
    n, c_in = x.shape[:2]
    length = x.shape[2:]
    kernel = w.shape[2:]
    c_out = w.shape[1] * groups
    full = [
        (L - 1) * s + d * (k - 1) + 1 + op
        for L, s, d, k, op in zip(length, stride, dilation, kernel, output_padding)
    ]
    buf = np.zeros((n, c_out, *full))
    xg = x.reshape(n, groups, c_in // groups, *length)
    wg = w.reshape(groups, c_in // groups, w.shape[1], *kernel)
    o = "xyz"[:rank]
    for tap in itertools.product(*(range(k) for k in kernel)):
        contrib = np.einsum(f"ngc{o},gcd->ngd{o}", xg, wg[(Ellipsis, *tap)]).reshape(n, c_out, *length)
        sl = tuple(
            slice(t * d, t * d + (L - 1) * s + 1, s) for t, d, L, s in zip(tap, dilation, length, stride)
        )
        buf[(slice(None), slice(None), *sl)] += contrib
    crop = tuple(slice(p, f - p) for p, f in zip(padding, full))
    out = buf[(slice(None), slice(None), *crop)]
    if b is not None:
        out = out + np.asarray(b, dtype=np.float64).reshape(1, -1, *([1] * rank))
    return out[0] if unbatched else out


def assert_close(got: np.ndarray, want: np.ndarray, dtype: Any) -> None:
    assert got.shape == want.shape
    tol = 2e-5 if np.dtype(dtype) == np.float32 else 1e-11
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol * scale * 10)


# ---------------------------------------------------------------- configs


@dataclass
class Config:
    rank: int
    batch: int | None  # None = unbatched
    c_in: int
    c_out: int
    groups: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: Any
    padding_mode: str
    dtype: Any
    bias: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def input_shape(self) -> tuple[int, ...]:
        head = () if self.batch is None else (self.batch,)
        return (*head, self.c_in, *self.size)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.c_out, self.c_in // self.groups, *self.kernel)

    def valid(self) -> bool:
        if self.padding == "same" and any(s != 1 for s in self.stride):
            return False
        before, after = resolve_padding(self.padding, self.kernel, self.dilation)
        for L, k, d, p0, p1 in zip(self.size, self.kernel, self.dilation, before, after):
            if L + p0 + p1 < d * (k - 1) + 1:
                return False
            if self.padding_mode == "reflect" and max(p0, p1) >= L:
                return False
            if self.padding_mode == "circular" and max(p0, p1) > L:
                return False
        return True

    def arrays(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        x = rng.standard_normal(self.input_shape()).astype(self.dtype)
        w = rng.standard_normal(self.weight_shape()).astype(self.dtype)
        b = rng.standard_normal(self.c_out).astype(self.dtype) if self.bias else None
        return x, w, b


def random_config(seed: int, zeros_only: bool = False) -> Config:
    rng = np.random.default_rng(seed)
    while True:
        rank = int(rng.integers(1, 4))
        groups = int(rng.choice([1, 1, 2, 3]))
        depthwise = rng.random() < 0.2
        c_in = groups * int(rng.integers(1, 4))
        c_out = groups * int(rng.integers(1, 4))
        if depthwise:
            groups = c_in
            c_out = c_in * int(rng.integers(1, 3))
        top = {1: 14, 2: 9, 3: 6}[rank]
        size = tuple(int(v) for v in rng.integers(1, top, rank))
        kernel = tuple(int(v) for v in rng.integers(1, 5, rank))
        stride = tuple(int(v) for v in rng.choice([1, 1, 2, 3, 5], rank))
        dilation = tuple(int(v) for v in rng.choice([1, 1, 2, 3], rank))
        kind = rng.integers(0, 4)
        padding: Any
        if kind == 0:
            padding = int(rng.integers(0, 3))
        elif kind == 1:
            padding = tuple(int(v) for v in rng.integers(0, 4, rank))
        elif kind == 2:
            padding = "same"
        else:
            padding = "valid"
        mode = (
            "zeros" if zeros_only else str(rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"]))
        )
        batch_choice = rng.integers(0, 5)
        batch = (
            None if batch_choice == 0 else int(batch_choice) - 1 if batch_choice < 3 else int(batch_choice)
        )
        dtype = np.float32 if rng.random() < 0.5 else np.float64
        cfg = Config(
            rank,
            batch,
            c_in,
            c_out,
            groups,
            size,
            kernel,
            stride,
            dilation,
            padding,
            mode,
            dtype,
            bool(rng.random() < 0.6),
        )
        if cfg.valid():
            return cfg


def call_forward(cfg: Config, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **kw: Any) -> np.ndarray:
    return FORWARD[cfg.rank](
        x, w, b, cfg.stride, cfg.padding, cfg.dilation, cfg.groups, cfg.padding_mode, **kw
    )


def explicit_padding(cfg: Config) -> tuple[int, ...]:
    p = cfg.padding
    if p == "valid":
        return (0,) * cfg.rank
    assert p != "same"
    return (p,) * cfg.rank if isinstance(p, int) else tuple(p)


# ---------------------------------------------------------------- forward


@pytest.mark.parametrize("seed", range(120))
def test_forward_matches_reference(seed: int) -> None:
    cfg = random_config(seed)
    rng = np.random.default_rng(1000 + seed)
    x, w, b = cfg.arrays(rng)
    x0, w0 = x.copy(), w.copy()
    got = call_forward(cfg, x, w, b)
    assert got.dtype == cfg.dtype
    assert got.flags.c_contiguous
    assert_close(
        got, ref_conv(x, w, b, cfg.stride, cfg.padding, cfg.dilation, cfg.groups, cfg.padding_mode), cfg.dtype
    )
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_non_contiguous_inputs(rank: int) -> None:
    rng = np.random.default_rng(rank)
    big = rng.standard_normal((3, 8, *([9] * rank)))
    x = big[::2, ::2]  # strided in batch and channels
    xf = np.asfortranarray(rng.standard_normal((2, 4, *([7] * rank))))
    w = np.moveaxis(
        rng.standard_normal((*([3] * rank), 2, 6)), (-2, -1), (1, 0)
    )  # (6, 2, k...) non-contiguous
    for inp in (x, xf):
        got = FORWARD[rank](inp, w, None, 1, 1, 1, 2)
        assert_close(got, ref_conv(inp, w, None, (1,) * rank, 1, (1,) * rank, 2), np.float64)


def test_pointwise_and_large_tiles_match_reference() -> None:
    rng = np.random.default_rng(7)
    # 1×1 stride 1: the no-copy GEMM path; bigger images span several im2col tiles.
    for x_shape, w_shape, kw in [
        ((3, 16, 20, 21), (8, 16, 1, 1), {}),
        ((2, 4, 90, 80), (6, 4, 3, 3), {"padding": 1}),
        ((2, 32, 40, 33), (32, 32, 3, 3), {"padding": 2, "dilation": 2}),
        ((2, 8, 31, 30), (8, 1, 5, 5), {"groups": 8, "padding": 2}),
        ((1, 3, 64, 64), (16, 3, 7, 7), {"stride": 2, "padding": 3}),
    ]:
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal(x_shape).astype(dtype)
            w = rng.standard_normal(w_shape).astype(dtype)
            b = rng.standard_normal(w_shape[0]).astype(dtype)
            got = rustconv.conv2d(x, w, b, **kw)
            want = ref_conv(
                x,
                w,
                b,
                (kw.get("stride", 1),) * 2,
                kw.get("padding", 0),
                (kw.get("dilation", 1),) * 2,
                kw.get("groups", 1),
            )
            assert_close(got, want, dtype)


def test_same_padding_even_kernel_is_asymmetric_like_torch() -> None:
    x = np.arange(1.0, 9.0).reshape(1, 1, 8)
    w = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    np.testing.assert_array_equal(
        rustconv.conv1d(x, w, padding="same")[0, 0], [20, 30, 40, 50, 60, 70, 44, 23]
    )


def test_empty_batch() -> None:
    x = np.zeros((0, 3, 5, 5), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    out = rustconv.conv2d(x, w, np.ones(4, np.float32), padding=1)
    assert out.shape == (0, 4, 5, 5)
    assert out.dtype == np.float32
    gx, gw, gb = rustconv.conv2d_backward(np.zeros((0, 4, 5, 5), np.float32), x, w, padding=1)
    assert gx.shape == x.shape
    np.testing.assert_array_equal(gw, 0)
    np.testing.assert_array_equal(gb, 0)
    t = rustconv.conv_transpose2d(np.zeros((0, 4, 3, 3)), np.ones((4, 2, 3, 3)))
    assert t.shape == (0, 2, 5, 5)


def test_conv_output_shape() -> None:
    assert rustconv.conv_output_shape((224, 224), 7, 2, 3) == (112, 112)
    assert rustconv.conv_output_shape(10, 3) == (8,)
    assert rustconv.conv_output_shape((5, 6, 7), (1, 2, 3), (1, 2, 3), (0, 1, 2), (1, 2, 1)) == (5, 3, 3)
    assert rustconv.conv_output_shape((9, 8), (4, 3), padding="same") == (9, 8)
    assert rustconv.conv_output_shape((9, 8), (4, 3), padding="valid") == (6, 6)
    for seed in range(30):
        cfg = random_config(seed)
        x, w, b = cfg.arrays(np.random.default_rng(seed))
        out = call_forward(cfg, x, w, b)
        expected = rustconv.conv_output_shape(cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation)
        assert out.shape[-cfg.rank :] == expected


# ---------------------------------------------------------------- gradients


def inner(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.vdot(np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()))


@pytest.mark.parametrize("seed", range(60))
def test_adjoint_identities(seed: int) -> None:
    cfg = random_config(seed, zeros_only=True)
    cfg.dtype = np.float64
    if cfg.padding == "same":
        cfg.padding = "valid"
    if not cfg.valid():
        pytest.skip("configuration invalid once 'same' is replaced")
    pad = explicit_padding(cfg)
    rng = np.random.default_rng(seed)
    x, w, _ = cfg.arrays(rng)
    y = call_forward(cfg, x, w, None)
    g = rng.standard_normal(y.shape)
    gx = INPUT_GRAD[cfg.rank](x.shape, w, g, cfg.stride, pad, cfg.dilation, cfg.groups)
    gw = WEIGHT_GRAD[cfg.rank](x, w.shape, g, cfg.stride, pad, cfg.dilation, cfg.groups)
    lhs = inner(y, g)
    scale = max(1.0, abs(lhs), float(np.abs(g).sum()))
    assert abs(lhs - inner(x, gx)) <= 1e-11 * scale
    assert abs(lhs - inner(w, gw)) <= 1e-11 * scale
    copies = [a.copy() for a in (x, w, g)]
    bx, bw, bb = BACKWARD[cfg.rank](g, x, w, cfg.stride, pad, cfg.dilation, cfg.groups)
    for before, after in zip(copies, (x, w, g)):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(bx, gx)
    np.testing.assert_array_equal(bw, gw)
    axes = tuple(i for i in range(g.ndim) if i != (0 if cfg.batch is None else 1))
    np.testing.assert_allclose(bb, g.sum(axis=axes), rtol=1e-12, atol=1e-12)
    # The transposed convolution is the same adjoint (weights are (C_in, C_out/g)
    # for it, which is the forward weight), choosing output_padding to hit x's size.
    out_pad = tuple(
        L - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
        for L, o, s, p, d, k in zip(cfg.size, y.shape[-cfg.rank :], cfg.stride, pad, cfg.dilation, cfg.kernel)
    )
    if all(op < max(s, d) for op, s, d in zip(out_pad, cfg.stride, cfg.dilation)):
        t = TRANSPOSE[cfg.rank](g, w, None, cfg.stride, pad, out_pad, cfg.groups, cfg.dilation)
        np.testing.assert_allclose(t, gx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_gradients_by_finite_differences(seed: int) -> None:
    cfg = random_config(seed + 500, zeros_only=True)
    cfg.dtype = np.float64
    if cfg.padding == "same":
        cfg.padding = 1
    if not cfg.valid() or np.prod(cfg.input_shape()) > 400:
        pytest.skip("too large for finite differences")
    pad = explicit_padding(cfg)
    rng = np.random.default_rng(seed)
    x, w, b = cfg.arrays(rng)
    b = rng.standard_normal(cfg.c_out)
    y = call_forward(cfg, x, w, b)
    g = rng.standard_normal(y.shape)

    def loss(xx: np.ndarray, ww: np.ndarray, bb: np.ndarray) -> float:
        return inner(FORWARD[cfg.rank](xx, ww, bb, cfg.stride, pad, cfg.dilation, cfg.groups), g)

    gx, gw, gb = BACKWARD[cfg.rank](g, x, w, cfg.stride, pad, cfg.dilation, cfg.groups)
    eps = 1e-6
    for arr, grad, which in ((x, gx, 0), (w, gw, 1), (b, gb, 2)):
        flat = arr.reshape(-1)
        for i in rng.choice(flat.size, size=min(flat.size, 8), replace=False):
            args_plus = [x.copy(), w.copy(), b.copy()]
            args_minus = [x.copy(), w.copy(), b.copy()]
            args_plus[which].reshape(-1)[i] += eps
            args_minus[which].reshape(-1)[i] -= eps
            numeric = (loss(*args_plus) - loss(*args_minus)) / (2 * eps)
            assert abs(numeric - grad.reshape(-1)[i]) <= 1e-6 * max(1.0, abs(numeric))


@pytest.mark.parametrize("seed", range(40))
def test_transpose_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 4))
    groups = int(rng.choice([1, 2]))
    c_in, c_out_g = groups * int(rng.integers(1, 4)), int(rng.integers(1, 4))
    size = tuple(int(v) for v in rng.integers(1, {1: 9, 2: 6, 3: 4}[rank], rank))
    kernel = tuple(int(v) for v in rng.integers(1, 4, rank))
    stride = tuple(int(v) for v in rng.integers(1, 4, rank))
    dilation = tuple(int(v) for v in rng.integers(1, 3, rank))
    out_pad = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    padding = tuple(int(rng.integers(0, 3)) for _ in range(rank))
    full = [
        (L - 1) * s + d * (k - 1) + 1 + op for L, s, d, k, op in zip(size, stride, dilation, kernel, out_pad)
    ]
    if any(f - 2 * p < 1 for f, p in zip(full, padding)):
        padding = (0,) * rank
    dtype = np.float32 if seed % 2 else np.float64
    batch = () if seed % 5 == 0 else (int(rng.integers(1, 3)),)
    x = rng.standard_normal((*batch, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, c_out_g, *kernel)).astype(dtype)
    b = rng.standard_normal(c_out_g * groups).astype(dtype) if seed % 3 else None
    got = TRANSPOSE[rank](x, w, b, stride, padding, out_pad, groups, dilation)
    assert_close(got, ref_transpose(x, w, b, stride, padding, out_pad, groups, dilation), dtype)


# ---------------------------------------------------------------- determinism


def test_bitwise_identical_for_every_thread_count() -> None:
    rng = np.random.default_rng(3)
    cases = [
        ((8, 16, 24, 24), (16, 16, 3, 3), {"padding": 1}),
        ((3, 8, 30, 31), (8, 8, 1, 1), {}),
        ((1, 6, 40, 40), (12, 3, 3, 3), {"groups": 2, "stride": 2}),
        ((5, 4, 50, 50), (4, 1, 5, 5), {"groups": 4, "padding": 2}),
        # Column-split gathers (stride along W with zero padding).
        ((3, 3, 61, 59), (8, 3, 7, 7), {"stride": 2, "padding": 3}),
        ((2, 6, 33, 40), (6, 3, 3, 5), {"stride": 3, "padding": 2, "dilation": 2, "groups": 2}),
        # One sample, large enough to split: the tiles (and the weight
        # gradient's channel blocks) are the tasks.
        ((1, 16, 56, 56), (16, 16, 3, 3), {"padding": 1}),
        ((1, 3, 112, 112), (16, 3, 7, 7), {"stride": 2, "padding": 3}),
        ((1, 32, 48, 48), (64, 16, 3, 3), {"stride": 2, "padding": 1, "groups": 2}),
        ((1, 96, 40, 40), (96, 96, 1, 1), {}),
    ]
    for x_shape, w_shape, kw in cases:
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = rng.standard_normal(w_shape).astype(np.float32)
        y = rustconv.conv2d(x, w, **kw, workers=1)
        g = rng.standard_normal(y.shape).astype(np.float32)
        first = None
        for workers in (1, 2, 3):
            results = [
                rustconv.conv2d(x, w, **kw, workers=workers),
                *rustconv.conv2d_backward(g, x, w, **kw, workers=workers),
                rustconv.conv2d_weight(x, w.shape, g, **kw, workers=workers),
                rustconv.conv2d_input(x.shape, w, g, **kw, workers=workers),
            ]
            if first is None:
                first = results
            else:
                for a, b in zip(first, results):
                    assert a.tobytes() == b.tobytes()


# ---------------------------------------------------------------- accuracy


def ref_conv2d_grads(
    x: np.ndarray, w: np.ndarray, dy: np.ndarray, stride: int, padding: int, groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """(grad_input, grad_weight) of a zero-padded 2-D convolution, in float64, tap by tap."""
    x, w, dy = (np.asarray(a, dtype=np.float64) for a in (x, w, dy))
    n, _, h, wd = x.shape
    c_out, c_in_g, kh, kw = w.shape
    c_out_g = c_out // groups
    _, _, oh, ow = dy.shape
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    xg = xp.reshape(n, groups, c_in_g, *xp.shape[2:])
    dxg = dxp.reshape(n, groups, c_in_g, *xp.shape[2:])
    dyg = dy.reshape(n, groups, c_out_g, oh, ow)
    wg = w.reshape(groups, c_out_g, c_in_g, kh, kw)
    dwg = dw.reshape(groups, c_out_g, c_in_g, kh, kw)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i, i + stride * (oh - 1) + 1, stride)
            cols = slice(j, j + stride * (ow - 1) + 1, stride)
            dwg[..., i, j] = np.einsum("ngdyx,ngcyx->gdc", dyg, xg[..., rows, cols])
            dxg[..., rows, cols] += np.einsum("ngdyx,gdc->ngcyx", dyg, wg[..., i, j])
    return dxp[:, :, padding : padding + h, padding : padding + wd], dw


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding", "groups"),
    [
        ((2, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1),
        ((2, 256, 14, 14), (256, 256, 3, 3), 1, 1, 1),
        ((2, 128, 28, 28), (128, 128, 1, 1), 1, 0, 1),
        ((2, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1),
        ((8, 1, 28, 28), (32, 1, 5, 5), 1, 0, 1),
        ((2, 64, 56, 56), (64, 1, 3, 3), 2, 1, 64),
        ((2, 64, 28, 28), (64, 16, 3, 3), 1, 1, 4),
        # One sample: the tiles, and the weight gradient's channel blocks,
        # are the tasks.
        ((1, 16, 56, 56), (16, 16, 3, 3), 1, 1, 1),
        ((1, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1),
        ((1, 64, 56, 56), (128, 64, 3, 3), 2, 1, 1),
        ((1, 32, 48, 48), (64, 16, 3, 3), 2, 1, 2),
        ((1, 128, 28, 28), (128, 128, 1, 1), 1, 0, 1),
        # The direct forward kernel summing over several input channels.
        ((4, 16, 30, 37), (24, 16, 3, 3), 1, 1, 1),
        ((2, 24, 29, 29), (48, 12, 5, 5), 1, 2, 2),
        ((1, 96, 28, 28), (32, 96, 3, 3), 1, 1, 1),
        ((3, 8, 33, 35), (16, 4, 3, 3), 1, 1, 2),
    ],
)
def test_relative_error_bounds_at_realistic_sizes(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: int, padding: int, groups: int
) -> None:
    """Issue 5's accuracy contract: ‖out − ref‖/‖ref‖ below 2e-5 in float32 and 1e-11 in
    float64, against a float64 NumPy reference, for the forward pass and both gradients."""
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape))
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    dy = rng.standard_normal(ref_conv(x, w, None, (stride, stride), padding, (1, 1), groups).shape)
    # The gradient reference is itself checked by the adjoint identities
    # <conv(x, w), dy> = <x, grad_input> = <w, grad_weight>.
    ref_dx, ref_dw = ref_conv2d_grads(x, w, dy, stride, padding, groups)
    pairing = float(np.vdot(ref_conv(x, w, None, (stride, stride), padding, (1, 1), groups), dy))
    assert abs(float(np.vdot(x, ref_dx)) - pairing) <= 1e-9 * abs(pairing) + 1e-9
    assert abs(float(np.vdot(w, ref_dw)) - pairing) <= 1e-9 * abs(pairing) + 1e-9
    for dtype, bound in ((np.float32, 2e-5), (np.float64, 1e-11)):
        xt, wt, bt, dyt = (a.astype(dtype) for a in (x, w, b, dy))
        # The reference sees the same rounded inputs, so only the kernels' error is measured.
        ref_y = ref_conv(xt, wt, bt, (stride, stride), padding, (1, 1), groups)
        ref_dx, ref_dw = ref_conv2d_grads(xt, wt, dyt, stride, padding, groups)
        ref_db = dyt.astype(np.float64).sum(axis=(0, 2, 3))
        y = rustconv.conv2d(xt, wt, bt, stride, padding, groups=groups)
        dx, dw, db = rustconv.conv2d_backward(dyt, xt, wt, stride, padding, groups=groups)
        # The one-gradient functions run the same products in the same order.
        dx_alone = rustconv.conv2d_input(xt.shape, wt, dyt, stride, padding, groups=groups)
        dw_alone = rustconv.conv2d_weight(xt, wt.shape, dyt, stride, padding, groups=groups)
        assert dx_alone.tobytes() == dx.tobytes()
        assert dw_alone.tobytes() == dw.tobytes()
        for name, got, want in (
            ("output", y, ref_y),
            ("grad_input", dx, ref_dx),
            ("grad_weight", dw, ref_dw),
        ):
            assert got.dtype == dtype
            err = relative_error(got, want)
            assert err < bound, f"{np.dtype(dtype).name} {name}: relative error {err:.2e} >= {bound}"
        assert relative_error(db, ref_db) < bound


# ---------------------------------------------------------------- torch


def torch_or_skip() -> Any:
    return pytest.importorskip("torch")


@pytest.mark.parametrize("seed", range(60))
def test_against_torch_forward_and_gradients(seed: int) -> None:
    torch = torch_or_skip()
    cfg = random_config(seed + 2000)
    rng = np.random.default_rng(seed)
    x, w, b = cfg.arrays(rng)
    conv_cls = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[cfg.rank]
    layer = conv_cls(
        cfg.c_in,
        cfg.c_out,
        cfg.kernel,
        stride=cfg.stride,
        padding=cfg.padding,
        dilation=cfg.dilation,
        groups=cfg.groups,
        bias=b is not None,
        padding_mode=cfg.padding_mode,
    ).to(torch.float64 if cfg.dtype == np.float64 else torch.float32)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
        if b is not None:
            layer.bias.copy_(torch.from_numpy(b))
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    ty = layer(tx)
    got = call_forward(cfg, x, w, b)
    assert_close(got, ty.detach().numpy().astype(np.float64), cfg.dtype)
    if cfg.padding_mode != "zeros" or cfg.padding == "same" or cfg.batch == 0:
        return
    g = rng.standard_normal(got.shape).astype(cfg.dtype)
    ty.backward(torch.from_numpy(g))
    gx, gw, gb = BACKWARD[cfg.rank](g, x, w, cfg.stride, explicit_padding(cfg), cfg.dilation, cfg.groups)
    assert_close(gx, tx.grad.numpy().astype(np.float64), cfg.dtype)
    assert_close(gw, layer.weight.grad.numpy().astype(np.float64), cfg.dtype)
    if b is not None:
        assert_close(gb, layer.bias.grad.numpy().astype(np.float64), cfg.dtype)


@pytest.mark.parametrize("seed", range(30))
def test_against_torch_transpose_and_grad_functions(seed: int) -> None:
    torch = torch_or_skip()
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    rank = 1 + seed % 3
    groups = 1 + seed % 2
    x = rng.standard_normal((2, 2 * groups, *([5] * rank)))
    w = rng.standard_normal((2 * groups, 3, *([3] * rank)))
    stride, padding, out_pad, dilation = 2, 1, 1, 1 + seed % 2
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]
    want = fn(
        torch.from_numpy(x), torch.from_numpy(w), None, stride, padding, out_pad, groups, dilation
    ).numpy()
    got = TRANSPOSE[rank](x, w, None, stride, padding, out_pad, groups, dilation)
    assert_close(got, want, np.float64)
    # torch.nn.grad with the same argument order.
    wf = rng.standard_normal((4, 2 * groups // groups, *([3] * rank)))
    y = FORWARD[rank](x, wf, None, 2, 1, 1, groups)
    g = rng.standard_normal(y.shape)
    tg = {1: torch.nn.grad.conv1d_input, 2: torch.nn.grad.conv2d_input, 3: torch.nn.grad.conv3d_input}[rank]
    tw = {1: torch.nn.grad.conv1d_weight, 2: torch.nn.grad.conv2d_weight, 3: torch.nn.grad.conv3d_weight}[
        rank
    ]
    want_x = tg(x.shape, torch.from_numpy(wf), torch.from_numpy(g), 2, 1, 1, groups).numpy()
    want_w = tw(torch.from_numpy(x), wf.shape, torch.from_numpy(g), 2, 1, 1, groups).numpy()
    assert_close(INPUT_GRAD[rank](x.shape, wf, g, 2, 1, 1, groups), want_x, np.float64)
    assert_close(WEIGHT_GRAD[rank](x, wf.shape, g, 2, 1, 1, groups), want_w, np.float64)


# ---------------------------------------------------------------- hypothesis


@settings(max_examples=80, deadline=None)
@given(
    batch=st.integers(0, 3),
    groups=st.integers(1, 3),
    c_in_g=st.integers(1, 3),
    c_out_g=st.integers(1, 3),
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
)
def test_hypothesis_forward_and_backward(
    batch: int,
    groups: int,
    c_in_g: int,
    c_out_g: int,
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int],
    mode: str,
) -> None:
    cfg = Config(
        2,
        batch,
        groups * c_in_g,
        groups * c_out_g,
        groups,
        size,
        kernel,
        stride,
        dilation,
        padding,
        mode,
        np.float64,
        True,
    )
    rng = np.random.default_rng(0)
    x, w, b = cfg.arrays(rng)
    if not cfg.valid():
        with pytest.raises(ValueError, match=r"padding|kernel"):
            call_forward(cfg, x, w, b)
        return
    got = call_forward(cfg, x, w, b)
    assert_close(got, ref_conv(x, w, b, stride, padding, dilation, groups, mode), np.float64)
    if mode == "zeros":
        g = rng.standard_normal(got.shape)
        gx, gw, _ = rustconv.conv2d_backward(g, x, w, stride, padding, dilation, groups)
        scale = max(1.0, float(np.abs(g).sum()) * 10)
        assert abs(inner(got - b.reshape(1, -1, 1, 1), g) - inner(x, gx)) <= 1e-10 * scale
        assert abs(inner(got - b.reshape(1, -1, 1, 1), g) - inner(w, gw)) <= 1e-10 * scale


# ---------------------------------------------------------------- errors


def _x() -> np.ndarray:
    return np.ones((2, 4, 6, 6), np.float32)


def _w() -> np.ndarray:
    return np.ones((3, 4, 3, 3), np.float32)


ERRORS: list[tuple[str, Any, type[Exception], str]] = [
    ("dtype mix", lambda: rustconv.conv2d(_x(), _w().astype(np.float64)), TypeError, "share one dtype"),
    ("bias dtype", lambda: rustconv.conv2d(_x(), _w(), np.ones(3)), TypeError, "bias is float64"),
    ("int dtype", lambda: rustconv.conv2d(_x().astype(np.int32), _w()), TypeError, "input must have dtype"),
    (
        "complex",
        lambda: rustconv.conv2d(_x(), _w().astype(np.complex64)),
        TypeError,
        "weight must have dtype",
    ),
    (
        "channels",
        lambda: rustconv.conv2d(np.ones((2, 5, 6, 6), np.float32), _w()),
        ValueError,
        "input channels",
    ),
    (
        "groups divide",
        lambda: rustconv.conv2d(_x(), np.ones((3, 2, 3, 3), np.float32), groups=2),
        ValueError,
        "groups=2 must divide the output",
    ),
    (
        "groups in",
        lambda: rustconv.conv2d(_x(), np.ones((3, 1, 3, 3), np.float32), groups=3),
        ValueError,
        "groups=3 must divide the input",
    ),
    (
        "groups zero",
        lambda: rustconv.conv2d(_x(), _w(), groups=0),
        ValueError,
        "groups must be a positive int",
    ),
    (
        "kernel too large",
        lambda: rustconv.conv2d(_x(), np.ones((3, 4, 7, 3), np.float32)),
        ValueError,
        "larger than the padded input",
    ),
    ("stride zero", lambda: rustconv.conv2d(_x(), _w(), stride=0), ValueError, "stride must be positive"),
    (
        "stride negative",
        lambda: rustconv.conv2d(_x(), _w(), stride=(1, -1)),
        ValueError,
        "stride must be positive",
    ),
    (
        "dilation zero",
        lambda: rustconv.conv2d(_x(), _w(), dilation=0),
        ValueError,
        "dilation must be positive",
    ),
    (
        "padding negative",
        lambda: rustconv.conv2d(_x(), _w(), padding=-1),
        ValueError,
        "padding must be non-negative",
    ),
    (
        "padding string",
        lambda: rustconv.conv2d(_x(), _w(), padding="full"),
        ValueError,
        "padding must be an int",
    ),
    (
        "same strided",
        lambda: rustconv.conv2d(_x(), _w(), stride=2, padding="same"),
        ValueError,
        "padding='same' is not supported",
    ),
    (
        "tuple length",
        lambda: rustconv.conv2d(_x(), _w(), stride=(1, 1, 1)),
        ValueError,
        "stride must have 2 entries",
    ),
    (
        "input ndim",
        lambda: rustconv.conv2d(np.ones((6, 6), np.float32), _w()),
        ValueError,
        "input must be 4-D",
    ),
    (
        "weight ndim",
        lambda: rustconv.conv2d(_x(), np.ones((3, 4, 3), np.float32)),
        ValueError,
        "weight must be 4-D",
    ),
    (
        "bias shape",
        lambda: rustconv.conv2d(_x(), _w(), np.ones(4, np.float32)),
        ValueError,
        "bias must have shape (3,)",
    ),
    (
        "padding_mode",
        lambda: rustconv.conv2d(_x(), _w(), padding_mode="mirror"),
        ValueError,
        "padding_mode must be",
    ),
    (
        "reflect too wide",
        lambda: rustconv.conv2d(_x(), _w(), padding=6, padding_mode="reflect"),
        ValueError,
        "padding_mode='reflect'",
    ),
    (
        "circular too wide",
        lambda: rustconv.conv2d(_x(), _w(), padding=7, padding_mode="circular"),
        ValueError,
        "padding_mode='circular'",
    ),
    (
        "empty spatial",
        lambda: rustconv.conv2d(np.ones((1, 4, 0, 5), np.float32), _w(), padding=3),
        ValueError,
        "non-zero size",
    ),
    (
        "zero kernel",
        lambda: rustconv.conv2d(_x(), np.ones((3, 4, 0, 3), np.float32)),
        ValueError,
        "kernel of at least 1",
    ),
    ("overflow", lambda: rustconv.conv2d(_x(), _w(), padding=2**62), ValueError, "too large"),
    (
        "overflow dilation",
        lambda: rustconv.conv2d(_x(), np.ones((3, 4, 4, 4), np.float32), dilation=2**63 - 1),
        ValueError,
        "too large",
    ),
    ("workers", lambda: rustconv.conv2d(_x(), _w(), workers=0), ValueError, "workers=0"),
    (
        "grad shape",
        lambda: rustconv.conv2d_input((2, 4, 6, 6), _w(), np.ones((2, 3, 5, 5), np.float32)),
        ValueError,
        "grad_output has shape",
    ),
    (
        "grad input size",
        lambda: rustconv.conv2d_input((2, -4, 6, 6), _w(), np.ones((2, 3, 4, 4), np.float32)),
        ValueError,
        "input_size must contain",
    ),
    (
        "grad weight size",
        lambda: rustconv.conv2d_weight(_x(), (3, 5, 3, 3), np.ones((2, 3, 4, 4), np.float32)),
        ValueError,
        "weight_size of shape",
    ),
    (
        "backward dtype",
        lambda: rustconv.conv2d_backward(np.ones((2, 3, 4, 4)), _x(), _w()),
        TypeError,
        "share one dtype",
    ),
    (
        "transpose out pad",
        lambda: rustconv.conv_transpose2d(_x(), np.ones((4, 2, 3, 3), np.float32), output_padding=1),
        ValueError,
        "output_padding must be smaller",
    ),
    (
        "transpose channels",
        lambda: rustconv.conv_transpose2d(_x(), np.ones((3, 2, 3, 3), np.float32)),
        ValueError,
        "expects 3 input channels",
    ),
    (
        "transpose empty",
        lambda: rustconv.conv_transpose2d(_x(), np.ones((4, 2, 1, 1), np.float32), padding=3),
        ValueError,
        "would be empty",
    ),
    (
        "transpose bias",
        lambda: rustconv.conv_transpose2d(_x(), np.ones((4, 2, 3, 3), np.float32), np.ones(4, np.float32)),
        ValueError,
        "bias must have shape (2,)",
    ),
    (
        "output shape",
        lambda: rustconv.conv_output_shape((4, 4), 5),
        ValueError,
        "larger than the padded input",
    ),
    (
        "output shape len",
        lambda: rustconv.conv_output_shape((4, 4), (1, 2, 3)),
        ValueError,
        "kernel_size must have 2 entries",
    ),
    (
        "output shape same",
        lambda: rustconv.conv_output_shape((4, 4), 3, stride=2, padding="same"),
        ValueError,
        "not supported",
    ),
    ("groups type", lambda: rustconv.conv2d(_x(), _w(), groups=1.5), TypeError, "groups must be an int"),
    (
        "transpose overflow",
        lambda: rustconv.conv_transpose2d(_x(), np.ones((4, 2, 3, 3), np.float32), stride=2**62),
        ValueError,
        "too large",
    ),
    (
        "input overflow",
        lambda: rustconv.conv2d_input((2**62, 4, 2**40, 6), _w(), np.ones((2, 3, 4, 4), np.float32)),
        ValueError,
        "too large",
    ),
    (
        "size type",
        lambda: rustconv.conv2d_input((2, 4, 6.5, 6), _w(), np.ones((2, 3, 4, 4), np.float32)),
        TypeError,
        "input_size must be a sequence of ints",
    ),
    ("stride type", lambda: rustconv.conv2d(_x(), _w(), stride=1.5), TypeError, "stride must be an int"),
]


@pytest.mark.parametrize(("name", "call", "cls", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name: str, call: Any, cls: type[Exception], message: str) -> None:
    with pytest.raises(cls) as info:
        call()
    assert message in str(info.value), str(info.value)
    # The module still works afterwards.
    out = rustconv.conv2d(_x(), _w(), padding=1)
    np.testing.assert_array_equal(out[0, 0, 1:-1, 1:-1], 36.0)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding", "dilation", "groups", "mode"),
    [
        ((4, 1, 28, 28), (32, 1, 5, 5), 1, 0, 1, 1, "zeros"),
        ((3, 1, 19, 37), (7, 1, 3, 4), 1, "same", 1, 1, "zeros"),
        ((2, 3, 17, 29), (9, 1, 5, 3), (2, 1), (2, 1), (1, 2), 3, "zeros"),
        ((2, 2, 11, 30), (6, 1, 3, 3), 1, (4, 5), 2, 2, "zeros"),
        ((2, 1, 12, 27), (5, 1, 3, 4), 1, 2, 1, 1, "reflect"),
        ((2, 2, 10, 13), (4, 1, 3, 3), (3, 1), 1, 1, 2, "circular"),
        ((2, 1, 9, 11), (3, 1, 3, 3), 1, 2, (2, 1), 1, "replicate"),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_few_channel_layers_against_torch(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    mode: str,
    dtype: Any,
) -> None:
    """One input channel per group with several outputs (the few-channel kernels): odd
    widths, strides along H, dilation, 'same', large padding, groups and padding modes."""
    torch = torch_or_skip()
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape))
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    layer = torch.nn.Conv2d(
        x_shape[1],
        w_shape[0],
        w_shape[2:],
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        padding_mode=mode,
    ).to(torch.float32 if dtype == np.float32 else torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
        layer.bias.copy_(torch.from_numpy(b))
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    ty = layer(tx)
    y = rustconv.conv2d(x, w, b, stride, padding, dilation, groups, padding_mode=mode)
    assert_close(y, ty.detach().numpy().astype(np.float64), dtype)
    if mode != "zeros" or padding == "same":
        return
    g = rng.standard_normal(y.shape).astype(dtype)
    ty.backward(torch.from_numpy(g))
    dx, dw, db = rustconv.conv2d_backward(g, x, w, stride, padding, dilation, groups)
    assert_close(dx, tx.grad.numpy().astype(np.float64), dtype)
    assert_close(dw, layer.weight.grad.numpy().astype(np.float64), dtype)
    assert_close(db, layer.bias.grad.numpy().astype(np.float64), dtype)


def scatter_input_grad(dy: np.ndarray, w: np.ndarray, input_hw: tuple[int, int], padding: int) -> np.ndarray:
    """dx[n, c, y·1 + ky − p, x + kx − p] += dy[n, o, y, x] · w[o, c, ky, kx] over the
    definition's terms only (stride 1, groups 1), in float64: no product with a
    position outside the output, so an infinite weight never meets a padding zero."""
    n, _, out_h, out_w = dy.shape
    dx = np.zeros((n, w.shape[1], *input_hw))
    for ky in range(w.shape[2]):
        for kx in range(w.shape[3]):
            part = np.einsum("noyx,oc->ncyx", dy.astype(np.float64), w[:, :, ky, kx].astype(np.float64))
            y0, x0 = ky - padding, kx - padding
            ys = slice(max(0, -y0), min(out_h, input_hw[0] - y0))
            xs = slice(max(0, -x0), min(out_w, input_hw[1] - x0))
            dx[:, :, ys.start + y0 : ys.stop + y0, xs.start + x0 : xs.stop + x0] += part[:, :, ys, xs]
    return dx


def assert_same_non_finite(got: np.ndarray, want: np.ndarray, dtype: type) -> None:
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    finite = np.isfinite(want)
    assert 0 < finite.sum() < finite.size
    assert_close(got[finite], want[finite], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_values_give_the_definitions_result_on_every_path(dtype: type) -> None:
    """An infinity stays in the outputs whose terms hold it, as in the direct sum
    (and torch): the Winograd transforms would mix it into a whole tile as NaN, and
    the few-channel input gradient would multiply its zero border by an infinite
    weight (0 · ∞), so non-finite data takes the GEMM path."""
    rng = np.random.default_rng(91)
    # A deep 3x3 layer, which takes Winograd by default when the data is finite.
    x = rng.standard_normal((2, 32, 12, 12)).astype(dtype)
    w = rng.standard_normal((32, 32, 3, 3)).astype(dtype)
    x[0, 3, 5, 7] = np.inf
    x[1, 0, 0, 0] = -np.inf
    with np.errstate(invalid="ignore"):
        want = ref_conv(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    assert_same_non_finite(rustconv.conv2d(x, w, padding=1), want, dtype)
    dy = rng.standard_normal((2, 32, 12, 12)).astype(dtype)
    dy[1, 4, 6, 6] = np.inf
    with np.errstate(invalid="ignore"):
        want_dx = scatter_input_grad(dy, w, (12, 12), 1)
    assert_same_non_finite(rustconv.conv2d_input(x.shape, w, dy, padding=1), want_dx, dtype)
    # The weight gradient of the same layer: an infinite input reaches every tap it meets.
    dyw = rng.standard_normal((2, 32, 12, 12)).astype(dtype)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (12, 12), axis=(2, 3))  # N, C, 3, 3, 12, 12
    with np.errstate(invalid="ignore"):
        want_dw = np.einsum("nohw,nckjhw->ockj", dyw.astype(np.float64), windows)
    assert_same_non_finite(rustconv.conv2d_weight(x, w.shape, dyw, padding=1), want_dw, dtype)
    # One input channel (the few-channel kernels), an infinite weight.
    w1 = rng.standard_normal((8, 1, 5, 5)).astype(dtype)
    w1[2, 0, 1, 3] = np.inf
    dy1 = rng.standard_normal((3, 8, 24, 24)).astype(dtype)
    with np.errstate(invalid="ignore"):
        want_dx1 = scatter_input_grad(dy1, w1, (28, 28), 0)
    got = rustconv.conv2d_input((3, 1, 28, 28), w1, dy1)
    assert_same_non_finite(got, want_dx1, dtype)
    dx, _, _ = rustconv.conv2d_backward(dy1, np.ones((3, 1, 28, 28), dtype), w1)
    assert_same_non_finite(dx, want_dx1, dtype)
