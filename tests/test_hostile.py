"""Hostile inputs: sizes that overflow or cannot be allocated, NaN and ±inf,
odd array kinds, and the promise that inputs are never modified.

The huge-size cases run in a subprocess with an address-space limit, so an
abort or an attempt to really allocate fails this test instead of killing
pytest or the machine; their logical inputs are zero-stride broadcast views,
so no test ever allocates a large buffer itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
import scipy.signal
from _reference import ref_avg_pool, ref_conv, ref_max_pool

import rustconv

# Each case: a name and an expression evaluated with `np`, `rc` (rustconv)
# and `big(shape, dtype)` (a zero-stride view of that logical shape).
HUGE_CASES = {
    "conv2d: 2^40-element broadcast input": "rc.conv2d(big((1, 1, 1 << 20, 1 << 20)), np.ones((1, 1, 1, 1), np.float32))",
    "conv2d: padding 2^40": "rc.conv2d(np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 1, 1), np.float32), padding=1 << 40)",
    "conv2d: padding 2^62": "rc.conv2d(np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 1, 1), np.float32), padding=1 << 62)",
    "conv2d: dilation 2^62": "rc.conv2d(np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 2, 2), np.float32), dilation=1 << 62)",
    "conv2d_input: 2^40-element input_size": "rc.conv2d_input((1, 1, 1 << 20, 1 << 20), np.ones((1, 1, 1, 1), np.float32), big((1, 1, 1 << 20, 1 << 20)))",
    "conv2d_weight: 2^32-element input": "rc.conv2d_weight(big((1, 1, 1 << 16, 1 << 16)), (1, 1, 1 << 15, 1 << 15), big((1, 1, (1 << 15) + 1, (1 << 15) + 1)))",
    "conv_transpose2d: stride 2^40": "rc.conv_transpose2d(np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 1, 1), np.float32), stride=1 << 40)",
    "conv_transpose2d: 10^16-element output": "rc.conv_transpose2d(np.ones((1, 1, 1000, 1000), np.float32), np.ones((1, 1, 1, 1), np.float32), stride=100000)",
    "pad: width 2^40": "rc.pad(np.ones((2, 2)), 1 << 40)",
    "pad: width 2^62": "rc.pad(np.ones((2, 2)), 1 << 62)",
    "pad: width 2^64": "rc.pad(np.ones((2, 2)), 1 << 64)",
    "pad: 300 GiB output": "rc.pad(np.ones((2, 2)), 100000)",
    "pad_backward: width 2^40": "rc.pad_backward(np.ones((2, 2)), 1 << 40)",
    "convolve: 2^33 x 2^33 full (fft)": "rc.convolve(big((1 << 33,)), big((1 << 33,)))",
    "convolve: direct 2^32 output": "rc.convolve(big((1 << 16, 1 << 16)), np.ones((1 << 8, 1 << 8), np.float32), method='direct')",
    "convolve2d: 2^34-element output": "rc.convolve2d(big((1 << 17, 1 << 17)), np.ones((3, 3), np.float32))",
    "fftconvolve: 2^34-element output": "rc.fftconvolve(big((1 << 17, 1 << 17)), np.ones((3, 3), np.float32))",
    "oaconvolve: 2^34 samples": "rc.oaconvolve(big((1 << 34,)), np.ones((3,), np.float32))",
    "correlation_lags: 2^41 lags": "rc.correlation_lags(1 << 40, 1 << 40)",
    "max_pool2d: 2^34-element broadcast input": "rc.max_pool2d(big((1 << 16, 1, 1 << 16, 4)), 1)",
    "avg_pool2d_backward: 2^40 input_shape": "rc.avg_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), (1, 1, 1 << 20, 1 << 20), 1 << 20)",
    "max_pool2d_backward: 2^40 input_shape": "rc.max_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.int64), (1, 1, 1 << 20, 1 << 20))",
    "adaptive_avg_pool2d: output 2^40": "rc.adaptive_avg_pool2d(np.ones((1, 1, 2, 2), np.float32), (1 << 20, 1 << 20))",
    "avg_pool2d_backward: 2^80-element input_shape": "rc.avg_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), (1, 1, 1 << 40, 1 << 40), 1)",
    "max_pool2d_backward: 2^80-element input_shape": "rc.max_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.int64), (1, 1, 1 << 40, 1 << 40))",
    "adaptive_avg_pool2d_backward: 2^80-element input_shape": "rc.adaptive_avg_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), (1, 1, 1 << 40, 1 << 40))",
    "adaptive_max_pool2d: output 2^80": "rc.adaptive_max_pool2d(np.ones((1, 1, 2, 2), np.float32), (1 << 40, 1 << 40))",
    "avg_pool1d: empty batch, 2^33 wide": "rc.avg_pool1d(np.empty((0, 1, 1 << 33), np.float32), 1)",
    "max_pool1d: empty batch, 2^33 wide": "rc.max_pool1d(np.empty((0, 1, 1 << 33), np.float32), 1)",
    "lp_pool1d: empty batch, 2^33 wide": "rc.lp_pool1d(np.empty((0, 1, 1 << 33), np.float32), 2.0, 1)",
    "avg_pool1d_backward: empty batch, 2^33 wide": "rc.avg_pool1d_backward(np.empty((0, 1, 1 << 33), np.float32), (0, 1, 1 << 33), 1)",
    "lp_pool1d_backward: empty batch, 2^33 wide": "rc.lp_pool1d_backward(np.empty((0, 1, 1 << 33), np.float32), np.empty((0, 1, 1 << 33), np.float32), np.empty((0, 1, 1 << 33), np.float32), 2.0, 1)",
    "conv_output_shape: 2^70": "rc.conv_output_shape((1 << 70,), 1)",
    "pool_output_shape: 2^63": "rc.pool_output_shape((1 << 63,), 1)",
    "lp_pool2d: kernel 2^31 x 2^31": "rc.lp_pool2d(big((1, 1, 1 << 31, 1 << 31)), 2.0, 1 << 31)",
}

RUNNER = textwrap.dedent(
    """
    import json, resource, sys
    limit = 6 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import numpy as np
    import rustconv as rc
    def big(shape, dtype=np.float32):
        return np.broadcast_to(np.zeros((), dtype), shape)
    for name, expr in json.loads(sys.argv[1]).items():
        try:
            eval(expr)
            print(json.dumps([name, "accepted", ""]), flush=True)
        except Exception as exc:
            print(json.dumps([name, type(exc).__name__, str(exc)]), flush=True)
    # Still usable after all of them.
    assert rc.conv1d(np.ones((1, 1, 4)), np.ones((1, 1, 2))).shape == (1, 1, 3)
    print(json.dumps(["done", "", ""]), flush=True)
    """
)


def test_huge_sizes_are_refused_without_crashing() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(HUGE_CASES)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results = {name: (cls, msg) for name, cls, msg in map(json.loads, proc.stdout.splitlines())}
    crashed = f"crashed (exit {proc.returncode}) after {list(results)}:\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, crashed
    assert "done" in results, crashed
    bad = {
        name: result
        for name, result in results.items()
        if name != "done"
        # An empty batch has an empty result, however wide: accepted.
        and not (name.split(": ")[1].startswith("empty batch") and result[0] == "accepted")
        and result[0] not in ("ValueError", "MemoryError", "OverflowError", "TypeError")
    }
    assert not bad, bad
    for name, (cls, msg) in results.items():
        if cls == "ValueError" and name != "done":
            assert "internal" not in msg, (name, msg)


# ---------------------------------------------------------------- NaN and inf


def special(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=max(1, flat.size // 8), replace=False)
    flat[picks] = rng.choice([np.nan, np.inf, -np.inf], picks.size)
    return x.astype(dtype)


def same_specials(got: np.ndarray, want: np.ndarray) -> None:
    """NaN where the reference has NaN, the same infinities, finite values close."""
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_nan_and_inf_propagate_like_the_references(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x1 = special(rng, (40,))
    k1 = rng.uniform(0.5, 1.5, 5)
    for mode in ("full", "same", "valid"):
        same_specials(
            rustconv.convolve(x1, k1, mode, method="direct"),
            scipy.signal.convolve(x1, k1, mode, method="direct"),
        )
        same_specials(
            rustconv.correlate(x1, k1, mode, method="direct"),
            scipy.signal.correlate(x1, k1, mode, method="direct"),
        )
    x2 = special(rng, (9, 11))
    k2 = rng.uniform(0.5, 1.5, (3, 4))
    for boundary in ("fill", "wrap", "symm"):
        same_specials(
            rustconv.convolve2d(x2, k2, "same", boundary), scipy.signal.convolve2d(x2, k2, "same", boundary)
        )
    # FFT: a NaN or inf reaches every output of its transform block, in scipy
    # as here. One transform (fftconvolve) spreads it everywhere in both;
    # overlap-add blocks differ between the two libraries, so there every
    # output the direct sum makes NaN or inf must at least be NaN.
    np.testing.assert_array_equal(
        np.isnan(rustconv.fftconvolve(x1, k1)), np.isnan(scipy.signal.fftconvolve(x1, k1))
    )
    direct = scipy.signal.convolve(x1, k1, method="direct")
    assert np.isnan(rustconv.oaconvolve(x1, k1)[~np.isfinite(direct)]).all()

    x = special(rng, (2, 3, 7, 6))
    w = rng.uniform(0.5, 1.5, (4, 3, 3, 2))
    same_specials(rustconv.conv2d(x, w, padding=1), ref_conv(x, w, None, (1, 1), 1, (1, 1), 1))
    got, _ = rustconv.max_pool2d(x, 2, 1, 1, return_indices=True)
    want, _ = ref_max_pool(x, 2, (2, 2), (1, 1), (1, 1), (1, 1), False)
    same_specials(got, want)
    same_specials(
        rustconv.avg_pool2d(x, 3, 2, 1), ref_avg_pool(x, 2, (3, 3), (2, 2), (1, 1), False, True, None)
    )
    same_specials(rustconv.pad(x, 2, "reflect"), np.pad(x, 2, "reflect"))
    assert np.isnan(rustconv.adaptive_max_pool2d(np.full((1, 1, 4, 4), np.nan), 2)).all()


# ---------------------------------------------------------------- inputs untouched


def _calls() -> list[tuple[str, Any, tuple[np.ndarray, ...]]]:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 3))
    b = rng.standard_normal(6)
    dy = rng.standard_normal((2, 6, 7, 6))
    s1, s2 = rng.standard_normal(50), rng.standard_normal(7)
    i2, k2 = rng.standard_normal((12, 13)), rng.standard_normal((3, 4))
    p, idx = rustconv.max_pool2d(x, 2, return_indices=True)
    gp = rng.standard_normal(p.shape)
    lp = rustconv.lp_pool2d(np.abs(x), 2.0, 2)
    ap, aidx = rustconv.adaptive_max_pool2d(x, 3, return_indices=True)
    ga = rng.standard_normal(ap.shape)
    wt = rng.standard_normal((4, 3, 3, 3))
    return [
        ("convolve", lambda a, c: rustconv.convolve(a, c), (s1, s2)),
        ("correlate", lambda a, c: rustconv.correlate(a, c, "same"), (s1, s2)),
        ("convolve2d", lambda a, c: rustconv.convolve2d(a, c, boundary="symm"), (i2, k2)),
        ("correlate2d", lambda a, c: rustconv.correlate2d(a, c, boundary="wrap"), (i2, k2)),
        ("fftconvolve", lambda a, c: rustconv.fftconvolve(a, c), (i2, k2)),
        ("oaconvolve", lambda a, c: rustconv.oaconvolve(a, c), (s1, s2)),
        ("choose_conv_method", lambda a, c: rustconv.choose_conv_method(a, c), (s1, s2)),
        (
            "conv2d",
            lambda a, c, d: rustconv.conv2d(a, c, d, groups=2, padding_mode="reflect", padding=1),
            (x, w, b),
        ),
        ("conv2d_input", lambda c, d: rustconv.conv2d_input(x.shape, c, d, groups=2), (w, dy)),
        ("conv2d_weight", lambda a, d: rustconv.conv2d_weight(a, w.shape, d, groups=2), (x, dy)),
        ("conv2d_backward", lambda d, a, c: rustconv.conv2d_backward(d, a, c, groups=2), (dy, x, w)),
        ("conv_transpose2d", lambda a, c: rustconv.conv_transpose2d(a, c, stride=2, groups=1), (x, wt)),
        ("pad", lambda a: rustconv.pad(a, 3, "symmetric"), (x,)),
        (
            "pad_backward",
            lambda a: rustconv.pad_backward(a, [(0, 0), (0, 0), (1, 2), (2, 1)], "reflect"),
            (x,),
        ),
        ("max_pool2d", lambda a: rustconv.max_pool2d(a, 3, 2, 1, return_indices=True), (x,)),
        ("max_pool2d_backward", lambda g, i: rustconv.max_pool2d_backward(g, i, x.shape), (gp, idx)),
        ("avg_pool2d", lambda a: rustconv.avg_pool2d(a, 3, 2, 1, ceil_mode=True), (x,)),
        ("avg_pool2d_backward", lambda g: rustconv.avg_pool2d_backward(g, x.shape, 2), (gp,)),
        ("lp_pool2d", lambda a: rustconv.lp_pool2d(a, 3.0, 2), (x,)),
        (
            "lp_pool2d_backward",
            lambda g, a, o: rustconv.lp_pool2d_backward(g, a, o, 2.0, 2),
            (gp, np.abs(x), lp),
        ),
        ("adaptive_avg_pool2d", lambda a: rustconv.adaptive_avg_pool2d(a, (3, 5)), (x,)),
        ("adaptive_avg_pool2d_backward", lambda g: rustconv.adaptive_avg_pool2d_backward(g, x.shape), (ga,)),
        ("adaptive_max_pool2d", lambda a: rustconv.adaptive_max_pool2d(a, 3), (x,)),
        (
            "adaptive_max_pool2d_backward",
            lambda g, i: rustconv.adaptive_max_pool2d_backward(g, i, x.shape),
            (ga, aidx),
        ),
    ]


CALLS = _calls()


@pytest.mark.parametrize(("name", "call", "inputs"), CALLS, ids=[c[0] for c in CALLS])
def test_inputs_are_never_modified(name: str, call: Any, inputs: tuple[np.ndarray, ...]) -> None:
    before = [a.copy() for a in inputs]
    first = call(*inputs)
    for a, b in zip(inputs, before):
        np.testing.assert_array_equal(a, b, err_msg=f"{name} modified an input")
    # Read-only, Fortran-ordered and reversed inputs give the same result.
    for variant in ("readonly", "F", "negative"):
        views = []
        for a in inputs:
            if variant == "readonly":
                v = a.copy()
                v.setflags(write=False)
            elif variant == "F":
                v = np.asfortranarray(a)
            else:
                v = a[::-1].copy()[::-1]
            views.append(v)
        again = call(*views)
        for got, want in zip(
            again if isinstance(again, tuple) else (again,), first if isinstance(first, tuple) else (first,)
        ):
            if isinstance(want, np.ndarray):
                np.testing.assert_array_equal(got, want, err_msg=f"{name} with {variant} inputs")
                assert got.flags.c_contiguous
                assert got.flags.writeable
            else:
                assert got == want


# ---------------------------------------------------------------- odd array kinds


@pytest.mark.parametrize(
    "value",
    [
        np.ones((2, 1, 5, 5), dtype=">f8"),  # big-endian
        np.ma.masked_array(np.ones((2, 1, 5, 5)), mask=False),
        np.ones((2, 1, 5, 5)).tolist(),  # nested lists
        np.ones((2, 1, 5, 5), np.float32)[:, :, ::2, ::-1],
        np.ones((0, 1, 5, 5)),  # empty batch
    ],
    ids=["big-endian", "masked", "lists", "strided", "empty-batch"],
)
def test_odd_array_kinds_work(value: Any) -> None:
    w = np.ones((3, 1, 2, 2), dtype=np.asarray(value).dtype.newbyteorder("="))
    want = ref_conv(np.asarray(value, dtype=np.float64), w, None, (1, 1), 0, (1, 1), 1)
    got = rustconv.conv2d(value, w)
    np.testing.assert_allclose(got, want)
    np.testing.assert_array_equal(rustconv.pad(value, 1), np.pad(np.asarray(value), 1))
    got_pool = rustconv.avg_pool2d(value, 2)
    shape = np.shape(value)
    assert got_pool.shape == (*shape[:2], shape[2] // 2, shape[3] // 2)
