"""Repeated calls do not grow the process's memory.

Each family runs two hundred calls after a warm-up (pools, FFT plans and
allocator arenas settle there); the peak resident set size (VmHWM, read from
/proc, so no psutil is needed) may not rise by more than a small tolerance.
A leak of even one output per call would add hundreds of megabytes here.
"""

from __future__ import annotations

import gc
import sys
from typing import Any, Callable

import numpy as np
import pytest

import rustconv

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")


def status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


rng = np.random.default_rng(3)
X = rng.standard_normal((2, 8, 40, 40))  # 200 KiB; most outputs are about as large
W = rng.standard_normal((8, 8, 3, 3))
DY = rng.standard_normal((2, 8, 38, 38))
S1, S2 = rng.standard_normal(30_000), rng.standard_normal(31)
I2, K2 = rng.standard_normal((160, 160)), rng.standard_normal((5, 5))
POOLED, IDX = rustconv.max_pool2d(X, 2, return_indices=True)
GP = rng.standard_normal(POOLED.shape)

FAMILIES: dict[str, Callable[[], Any]] = {
    "signal": lambda: (
        rustconv.convolve(S1, S2, method="direct"),
        rustconv.correlate2d(I2, K2, "same", "symm"),
        rustconv.convolve(X[0], W[0], method="direct"),
    ),
    "fft": lambda: (
        rustconv.fftconvolve(S1, S2),
        rustconv.oaconvolve(I2, K2),
        rustconv.fftconvolve(X, W[:1, :, :, :], axes=(-2, -1)),
    ),
    "conv": lambda: (
        rustconv.conv2d(X, W, padding=1),
        rustconv.conv2d_backward(DY, X, W),
        rustconv.conv_transpose2d(X, W, stride=2),
    ),
    "pad": lambda: (
        rustconv.pad(X, 4, "reflect"),
        rustconv.pad_backward(X, [(0, 0), (0, 0), (2, 3), (3, 2)], "wrap"),
    ),
    "pool": lambda: (
        rustconv.max_pool2d(X, 3, 2, 1, return_indices=True),
        rustconv.max_pool2d_backward(GP, IDX, X.shape),
        rustconv.avg_pool2d_backward(GP, X.shape, 2),
        rustconv.lp_pool2d(X, 2.0, 2),
        rustconv.adaptive_max_pool2d(X, (5, 7), return_indices=True),
    ),
    "errors": lambda: [_raises(f) for f in ERROR_CALLS],
}


def _raises(call: Callable[[], Any]) -> None:
    try:
        call()
    except (ValueError, TypeError, MemoryError):
        return
    raise AssertionError("expected an error")


ERROR_CALLS: list[Callable[[], Any]] = [
    lambda: rustconv.conv2d(X, W, stride=0),
    lambda: rustconv.conv2d(X, W[:, :3]),
    lambda: rustconv.pad(X, -1),
    lambda: rustconv.max_pool2d(X, 100),
    lambda: rustconv.convolve(S1, S2, mode="bogus"),
    # A MemoryError path: the output is refused before anything is allocated.
    lambda: rustconv.conv_transpose2d(np.ones((1, 1, 1000, 1000)), np.ones((1, 1, 1, 1)), stride=100_000),
]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_repeated_calls_do_not_grow_memory(family: str) -> None:
    call = FAMILIES[family]
    for _ in range(20):
        call()
    gc.collect()
    reset_peak()
    base_rss = status_kib("VmRSS")
    base_peak = status_kib("VmHWM")
    for _ in range(200):
        call()
    gc.collect()
    grown_rss = status_kib("VmRSS") - base_rss
    grown_peak = status_kib("VmHWM") - base_peak
    # 200 leaked outputs of ~200 KiB would be ~40 MiB; allocator noise is a few MiB.
    assert grown_rss < 12 * 1024, f"{family}: RSS grew by {grown_rss} KiB over 200 calls"
    assert grown_peak < 24 * 1024, f"{family}: peak RSS grew by {grown_peak} KiB over 200 calls"
