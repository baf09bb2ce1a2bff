"""Repeated calls do not grow the process's memory.

Each family runs two hundred calls after a warm-up (pools, FFT plans and
allocator arenas settle there); the peak resident set size (VmHWM, read from
/proc, so no psutil is needed) may not rise by more than a small tolerance.
A leak of even one output per call would add hundreds of megabytes here.
"""

from __future__ import annotations

import gc
import os
import subprocess
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


# ---------------------------------------------------------------- recycled large outputs

BIG = (3072, 3072)  # a float32 'same' output of 36 MiB: above the 32 MiB from which freed blocks are kept


def box3(x: np.ndarray) -> np.ndarray:
    """The 3×3 'same' correlation with an all-ones kernel and zero fill, by shifted slices (float64)."""
    p = np.pad(x.astype(np.float64), 1)
    return sum(p[i : i + x.shape[0], j : j + x.shape[1]] for i in range(3) for j in range(3))


def test_a_recycled_output_block_holds_nothing_of_the_previous_result() -> None:
    ones = np.ones((3, 3), dtype=np.float32)
    first = rng.standard_normal(BIG).astype(np.float32)
    out = rustconv.correlate2d(first, ones, "same")
    np.testing.assert_allclose(out, box3(first), rtol=1e-5, atol=1e-4)
    address = out.__array_interface__["data"][0]
    del out
    # Another image of the same shape, with values far from the first's: the
    # output takes the block just freed, and every element is written anew.
    second = (rng.standard_normal(BIG) * 1e-3 + 50.0).astype(np.float32)
    again = rustconv.correlate2d(second, ones, "same")
    assert again.__array_interface__["data"][0] == address, "the freed block was not reused"
    np.testing.assert_allclose(again, box3(second), rtol=1e-5)


def test_repeated_large_calls_do_not_grow_memory() -> None:
    image = rng.standard_normal(BIG).astype(np.float32)
    k = np.ones((3, 3), dtype=np.float32)
    for _ in range(3):
        rustconv.correlate2d(image, k, "same")
    gc.collect()
    base_rss = status_kib("VmRSS")
    for _ in range(30):
        rustconv.correlate2d(image, k, "same")
    gc.collect()
    # Thirty fresh 36 MiB outputs kept by mistake would be a gigabyte.
    assert status_kib("VmRSS") - base_rss < 40 * 1024


def test_recycling_limit_comes_from_the_environment() -> None:
    script = (
        "import numpy as np, rustconv, rustconv._rustconv as r;"
        "print(r._config()['recycle_bytes']);"
        "a = np.ones((3072, 3072), np.float32); k = np.ones((3, 3), np.float32);"
        "o = rustconv.correlate2d(a, k, 'same'); p = o.__array_interface__['data'][0]; del o;"
        "print(rustconv.correlate2d(a + 1, k, 'same').__array_interface__['data'][0] == p)"
    )
    for value, limit in (("0", 0), ("64", 64 << 20)):
        env = dict(os.environ, RUSTCONV_RECYCLE_MIB=value)
        proc = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        lines = proc.stdout.split()
        assert int(lines[0]) == limit
        if limit == 0:
            # Nothing kept: the block went back to the system. (The system may
            # hand out the same address again, so only the limit is checked.)
            continue
        assert lines[1] == "True"
