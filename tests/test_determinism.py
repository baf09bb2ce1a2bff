"""Bitwise-identical results for thread counts 1, 2, 3 and 7.

Each thread count runs in its own interpreter (``RUSTCONV_NUM_THREADS``, the
global setting a fresh process starts from), computes every family on inputs
large enough to be split across threads, and prints a digest of every output
byte; all digests must agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import hashlib, json
    import numpy as np
    import rustconv

    rng = np.random.default_rng(2026)
    def r(*shape, dtype=np.float64):
        return rng.standard_normal(shape).astype(dtype)

    x32, x64 = r(6, 16, 40, 36, dtype=np.float32), r(6, 16, 40, 36)
    w32, w64 = r(24, 16, 3, 3, dtype=np.float32), r(24, 16, 3, 3)
    dy32 = r(6, 24, 38, 34, dtype=np.float32)
    dy64 = dy32.astype(np.float64)
    wg = r(24, 4, 3, 3)
    xf, wf = r(16, 1, 28, 28, dtype=np.float32), r(32, 1, 5, 5, dtype=np.float32)
    x3 = r(2, 8, 12, 14, 10, dtype=np.float32)
    w3 = r(8, 8, 3, 3, 3, dtype=np.float32)
    wt = r(16, 8, 4, 4)
    s1, s2 = r(200_000), r(257)
    i2, k2 = r(700, 650, dtype=np.float32), r(9, 11, dtype=np.float32)
    c1 = r(300, 200) + 1j * r(300, 200)
    pooled, idx = rustconv.max_pool2d(x64, 3, 2, 1, return_indices=True)
    apooled, aidx = rustconv.adaptive_max_pool2d(x64, (7, 5), return_indices=True)
    lp = rustconv.lp_pool2d(np.abs(x64), 3.0, 2)

    outputs = {
        "convolve direct": rustconv.convolve(s1, s2, method="direct"),
        "correlate same int": rustconv.correlate(np.arange(100_000, dtype=np.int64) % 97, np.arange(63) % 7, "same"),
        "convolve2d symm": rustconv.convolve2d(i2, k2, "same", "symm"),
        "correlate2d wrap": rustconv.correlate2d(i2, k2, "full", "wrap"),
        "convolve 3d": rustconv.convolve(r(30, 40, 50), r(5, 4, 3), method="direct"),
        "fftconvolve 1d": rustconv.fftconvolve(s1, s2),
        "fftconvolve 2d complex": rustconv.fftconvolve(c1, c1[:40, :30], "same"),
        "fftconvolve axes": rustconv.fftconvolve(r(64, 500), r(64, 40), axes=-1),
        "oaconvolve": rustconv.oaconvolve(s1, s2, "valid"),
        "oaconvolve 2d": rustconv.oaconvolve(i2, r(40, 33, dtype=np.float32)),
        "conv2d f32": rustconv.conv2d(x32, w32, r(24, dtype=np.float32), padding=1),
        "conv2d f64 strided": rustconv.conv2d(x64, w64, stride=2, dilation=2, padding=2),
        "conv2d groups reflect": rustconv.conv2d(x64, wg, groups=4, padding=1, padding_mode="reflect"),
        "conv3d": rustconv.conv3d(x3, w3, padding=1),
        "conv2d_input": rustconv.conv2d_input(x32.shape, w32, dy32),
        "conv2d_weight f32": rustconv.conv2d_weight(x32, w32.shape, dy32),
        "conv2d_weight f64": rustconv.conv2d_weight(x64, w64.shape, dy64),
        "conv3d_weight": rustconv.conv3d_weight(x3, w3.shape, r(2, 8, 10, 12, 8, dtype=np.float32)),
        "conv2d_backward": rustconv.conv2d_backward(dy64, x64, w64),
        "conv2d few channels": rustconv.conv2d(xf, wf, r(32, dtype=np.float32), padding=2),
        "conv2d_backward few channels": rustconv.conv2d_backward(r(16, 32, 28, 28, dtype=np.float32), xf, wf, padding=2),
        "conv_transpose2d": rustconv.conv_transpose2d(x64, wt, r(8), stride=2, padding=1, output_padding=1),
        "pad reflect": rustconv.pad(x64, 5, "reflect"),
        "pad constant": rustconv.pad(x32, [(0, 0), (1, 2), (3, 4), (5, 6)], constant_values=2.5),
        "pad_backward wrap": rustconv.pad_backward(x64, [(0, 0), (0, 0), (4, 5), (6, 3)], "wrap"),
        "pad_backward reflect": rustconv.pad_backward(x32, [(0, 0), (1, 1), (7, 7), (5, 5)], "reflect"),
        "max_pool2d": (pooled, idx),
        "max_pool2d_backward": rustconv.max_pool2d_backward(r(*pooled.shape), idx, x64.shape),
        "max_pool3d": rustconv.max_pool3d(x3, 3, 2, 1, return_indices=True),
        "avg_pool2d": rustconv.avg_pool2d(x64, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        "avg_pool2d_backward": rustconv.avg_pool2d_backward(r(*pooled.shape), x64.shape, 3, 2, 1),
        "lp_pool2d": lp,
        "lp_pool2d_backward": rustconv.lp_pool2d_backward(r(*lp.shape), np.abs(x64), lp, 3.0, 2),
        "adaptive_avg_pool2d": rustconv.adaptive_avg_pool2d(x64, (7, 5)),
        "adaptive_avg_pool2d_backward": rustconv.adaptive_avg_pool2d_backward(r(6, 16, 7, 5), x64.shape),
        "adaptive_max_pool2d": (apooled, aidx),
        "adaptive_max_pool2d_backward": rustconv.adaptive_max_pool2d_backward(r(*apooled.shape), aidx, x64.shape),
    }
    digests = {}
    for name, out in outputs.items():
        h = hashlib.sha256()
        for a in out if isinstance(out, tuple) else (out,):
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        digests[name] = h.hexdigest()
    print(json.dumps({"threads": rustconv.get_num_threads(), "digests": digests}))
    """
)


def digests(threads: int) -> dict[str, str]:
    env = dict(os.environ, RUSTCONV_NUM_THREADS=str(threads))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["threads"] == threads
    return result["digests"]


def test_bitwise_identical_for_1_2_3_and_7_threads() -> None:
    runs = {n: digests(n) for n in (1, 2, 3, 7)}
    differ = sorted({name for n in (2, 3, 7) for name, d in runs[n].items() if d != runs[1][name]})
    assert not differ, f"results depend on the thread count for: {differ}"
    assert len(runs[1]) >= 30
