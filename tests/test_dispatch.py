"""Runtime CPU dispatch: the scalar paths against the SIMD paths this machine runs.

rustconv detects its SIMD level once per process (``RUSTCONV_NO_SIMD`` forces
the portable scalar paths). Every family's SIMD-capable public functions run
here on odd sizes in this process (the detected level) and in a subprocess
started with ``RUSTCONV_NO_SIMD=1``; the results must agree bit for bit where
both paths compute the same operations in the same order (data movement,
maxima, integer arithmetic) and within issue 5's accuracy bounds elsewhere
(‖simd − scalar‖ / ‖scalar‖ ≤ 2e-5 for float32, 1e-11 for float64), since
fused multiply-adds and vector-width sums round differently.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rustconv

TOLERANCE = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-11}

# Case-name prefixes whose results must be bitwise identical on every path.
PAD_WIDTHS = ((0, 0), (1, 2), (3, 4), (5, 6))

EXACT = ("pad ", "max_pool1d ", "max_pool2d ", "max_pool3d ", "adaptive_max_pool2d ", "int ")


def bound(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """``fn`` with its arguments fixed now (a case's data, not the loop's last)."""
    return partial(fn, *args)


def _rand(seed: int, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def cases() -> dict[str, Callable[[], Any]]:
    """Every case by name: a function returning an array or a tuple of arrays."""
    out: dict[str, Callable[[], Any]] = {}
    for dtype in (np.float32, np.float64):
        d = np.dtype(dtype).name
        image = _rand(1, (37, 53), dtype)
        kernel = _rand(2, (5, 7), dtype)
        wide = _rand(3, (19, 131), dtype)
        for mode in ("full", "same", "valid"):
            for boundary in ("fill", "wrap", "symm"):
                out[f"correlate2d {d} {mode} {boundary}"] = bound(
                    lambda mode, boundary, image, kernel: rustconv.correlate2d(
                        image, kernel, mode, boundary, fillvalue=0.5
                    ),
                    mode,
                    boundary,
                    image,
                    kernel,
                )
            out[f"convolve2d {d} {mode}"] = bound(
                lambda mode, wide, kernel: rustconv.convolve2d(wide, kernel, mode), mode, wide, kernel
            )
        signal, taps = _rand(4, (1001,), dtype), _rand(5, (31,), dtype)
        out[f"convolve direct 1-D {d}"] = bound(
            lambda s, t: rustconv.convolve(s, t, method="direct"), signal, taps
        )
        out[f"correlate direct 1-D {d} same"] = bound(
            lambda s, t: rustconv.correlate(s, t, "same", method="direct"), signal, taps
        )
        volume, box = _rand(6, (9, 11, 13), dtype), _rand(7, (3, 4, 5), dtype)
        out[f"convolve direct 3-D {d}"] = bound(
            lambda v, b: rustconv.convolve(v, b, method="direct"), volume, box
        )
        out[f"fftconvolve 2-D {d}"] = bound(lambda i, k: rustconv.fftconvolve(i, k, "same"), image, kernel)
        out[f"fftconvolve 1-D {d}"] = bound(lambda s, t: rustconv.fftconvolve(s, t), signal, taps)
        long = _rand(8, (20011,), dtype)
        out[f"oaconvolve 1-D {d}"] = bound(lambda s, t: rustconv.oaconvolve(s, t), long, taps)

        x = _rand(10, (2, 3, 17, 19), dtype)
        w = _rand(11, (5, 3, 3, 3), dtype)
        b = _rand(12, (5,), dtype)
        out[f"conv2d {d} 3x3 stride 2"] = bound(lambda x, w, b: rustconv.conv2d(x, w, b, 2, 1), x, w, b)
        y = rustconv.conv2d(x, w, b, 2, 1)
        g = _rand(13, y.shape, dtype)
        out[f"conv2d_backward {d} 3x3 stride 2"] = bound(
            lambda g, x, w: rustconv.conv2d_backward(g, x, w, 2, 1), g, x, w
        )
        deep = _rand(14, (2, 16, 9, 11), dtype)
        w1 = _rand(15, (24, 16, 1, 1), dtype)
        out[f"conv2d {d} 1x1"] = bound(lambda x, w: rustconv.conv2d(x, w), deep, w1)
        g1 = _rand(16, (2, 24, 9, 11), dtype)
        out[f"conv2d_backward {d} 1x1"] = bound(
            lambda g, x, w: rustconv.conv2d_backward(g, x, w), g1, deep, w1
        )
        wg = _rand(17, (16, 4, 3, 3), dtype)
        out[f"conv2d {d} grouped"] = bound(lambda x, w: rustconv.conv2d(x, w, padding=1, groups=4), deep, wg)
        wd = _rand(18, (16, 1, 5, 5), dtype)
        out[f"conv2d {d} depthwise dilated"] = bound(
            lambda x, w: rustconv.conv2d(x, w, padding=2, dilation=2, groups=16), deep, wd
        )
        gd = _rand(19, (2, 16, 9, 11), dtype)
        out[f"conv2d_backward {d} depthwise"] = bound(
            lambda g, x, w: rustconv.conv2d_backward(g, x, w, padding=(2, 2), dilation=(1, 1), groups=16),
            gd,
            deep,
            wd,
        )
        # One input channel per group, several outputs: the few-channel
        # kernels (odd width for the masked tails; a channel multiplier).
        mnist, w5 = _rand(35, (3, 1, 28, 29), dtype), _rand(36, (8, 1, 5, 5), dtype)
        out[f"conv2d {d} few channels 5x5"] = bound(lambda x, w: rustconv.conv2d(x, w, padding=2), mnist, w5)
        g5 = _rand(37, (3, 8, 28, 29), dtype)
        out[f"conv2d_backward {d} few channels 5x5"] = bound(
            lambda g, x, w: rustconv.conv2d_backward(g, x, w, padding=2), g5, mnist, w5
        )
        wm = _rand(38, (32, 1, 3, 3), dtype)
        out[f"conv2d {d} channel multiplier"] = bound(
            lambda x, w: rustconv.conv2d(x, w, padding=1, dilation=(1, 2), groups=16), deep, wm
        )
        x1, w1d = _rand(20, (3, 4, 41), dtype), _rand(21, (6, 4, 5), dtype)
        out[f"conv1d {d}"] = bound(lambda x, w: rustconv.conv1d(x, w, padding=2, stride=3), x1, w1d)
        x3, w3 = _rand(22, (1, 2, 7, 9, 11), dtype), _rand(23, (3, 2, 3, 3, 3), dtype)
        out[f"conv3d {d}"] = bound(lambda x, w: rustconv.conv3d(x, w, padding=1), x3, w3)
        wt = _rand(24, (5, 3, 3, 3), dtype)
        out[f"conv_transpose2d {d}"] = bound(
            lambda x, w: rustconv.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1), y, wt
        )

        p = _rand(30, (2, 3, 23, 29), dtype)
        pooled, indices = rustconv.max_pool2d(p, 3, 2, 1, return_indices=True)
        out[f"max_pool2d {d}"] = bound(lambda p: rustconv.max_pool2d(p, 3, 2, 1, return_indices=True), p)
        out[f"max_pool2d {d} dilated ceil"] = bound(
            lambda p: rustconv.max_pool2d(p, 3, 2, 1, dilation=2, ceil_mode=True, return_indices=True), p
        )
        gp = _rand(31, pooled.shape, dtype)
        out[f"max_pool2d_backward {d}"] = bound(
            lambda g, i, s: rustconv.max_pool2d_backward(g, i, s), gp, indices, p.shape
        )
        out[f"max_pool1d {d}"] = bound(lambda p: rustconv.max_pool1d(p[0], 5, 3), p)
        out[f"max_pool3d {d}"] = bound(lambda p: rustconv.max_pool3d(p, 3, 2, 1), p)
        out[f"avg_pool2d {d}"] = bound(lambda p: rustconv.avg_pool2d(p, 3, 2, 1, count_include_pad=False), p)
        out[f"avg_pool2d {d} 2x2"] = bound(lambda p: rustconv.avg_pool2d(p, 2), p)
        ga = _rand(32, rustconv.avg_pool2d(p, 3, 2, 1).shape, dtype)
        out[f"avg_pool2d_backward {d}"] = bound(
            lambda g, s: rustconv.avg_pool2d_backward(g, s, 3, 2, 1), ga, p.shape
        )
        positive = np.abs(p) + dtype(0.1)
        lp = rustconv.lp_pool2d(positive, 2, 3, 2)
        out[f"lp_pool2d {d}"] = bound(lambda p: rustconv.lp_pool2d(p, 2, 3, 2), positive)
        out[f"lp_pool2d {d} p=3"] = bound(lambda p: rustconv.lp_pool2d(p, 3.0, 2), positive)
        gl = _rand(33, lp.shape, dtype)
        out[f"lp_pool2d_backward {d}"] = bound(
            lambda g, p, y: rustconv.lp_pool2d_backward(g, p, y, 2, 3, 2), gl, positive, lp
        )
        out[f"adaptive_avg_pool2d {d}"] = bound(lambda p: rustconv.adaptive_avg_pool2d(p, (5, 7)), p)
        out[f"adaptive_max_pool2d {d}"] = bound(
            lambda p: rustconv.adaptive_max_pool2d(p, (5, 7), return_indices=True), p
        )

        padded = _rand(34, (2, 6, 30, 40), dtype)
        for mode in ("constant", "edge", "reflect", "symmetric", "wrap"):
            out[f"pad {d} {mode}"] = bound(lambda p, mode: rustconv.pad(p, PAD_WIDTHS, mode), p, mode)
            out[f"pad_backward {d} {mode}"] = bound(
                lambda g, mode: rustconv.pad_backward(g, PAD_WIDTHS, mode), padded, mode
            )
    ints = np.random.default_rng(40).integers(-50, 50, (29, 31)).astype(np.int32)
    small = np.random.default_rng(41).integers(-5, 5, (4, 6)).astype(np.int32)
    out["int correlate2d int32"] = lambda: rustconv.correlate2d(ints, small, "same", "symm")
    out["int convolve int32"] = lambda: rustconv.convolve(ints, small, method="direct")
    return out


def compute() -> dict[str, np.ndarray]:
    """Every case's results, flattened to named arrays (a tuple's items get /0, /1, ...)."""
    arrays: dict[str, np.ndarray] = {}
    for name, fn in cases().items():
        result = fn()
        items = result if isinstance(result, tuple) else (result,)
        for i, item in enumerate(items):
            arrays[f"{name}/{i}"] = np.asarray(item)
    return arrays


def simd_level() -> str:
    """The SIMD level ``rustconv.show_config()`` reports."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rustconv.show_config()
    for line in buf.getvalue().splitlines():
        key, _, value = line.strip().partition(":")
        if key == "simd":
            return value.strip()
    raise AssertionError(f"show_config() printed no simd line:\n{buf.getvalue()}")


# The subprocess: imports this file as a module, computes every case and
# saves them, with its SIMD level and the rustconv it imported.
_CHILD = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("dispatch_cases", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
arrays = module.compute()
import rustconv
np.savez(sys.argv[2], **arrays)
print(module.simd_level())
print(rustconv.__file__)
"""


@pytest.fixture(scope="module")
def scalar(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, dict[str, np.ndarray]]:
    """(SIMD level, rustconv's path, results) from a process with RUSTCONV_NO_SIMD=1."""
    path = tmp_path_factory.mktemp("dispatch") / "scalar.npz"
    env = dict(os.environ, RUSTCONV_NO_SIMD="1")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, __file__, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    level, where = done.stdout.split()[-2:]
    with np.load(path) as data:
        return level, where, {name: data[name] for name in data.files}


@pytest.fixture(scope="module")
def default() -> dict[str, np.ndarray]:
    return compute()


def expected_level() -> str | None:
    """The level this CPU should get, from /proc/cpuinfo's flags (None if unknown)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags_lines = [line for line in text.splitlines() if line.startswith("flags")]
    if not flags_lines:
        return None
    flags = set(flags_lines[0].split(":", 1)[1].split())
    if "avx512f" in flags and "fma" in flags:
        return "avx512f"
    if "avx2" in flags and "fma" in flags:
        return "avx2+fma"
    return "scalar"


def test_forced_scalar_is_reported(scalar: tuple[str, str, dict[str, np.ndarray]]) -> None:
    level, where, _ = scalar
    assert level == "scalar"
    # The subprocess compared the same build as this process.
    assert Path(where).resolve() == Path(rustconv.__file__).resolve()


def test_detected_level_matches_the_cpu() -> None:
    if os.environ.get("RUSTCONV_NO_SIMD") is not None:
        assert simd_level() == "scalar"
        return
    expected = expected_level()
    if expected is None or platform_machine() != "x86_64":
        pytest.skip("no x86-64 /proc/cpuinfo to compare with")
    assert simd_level() == expected


def platform_machine() -> str:
    import platform

    return platform.machine()


def test_every_case_ran_in_both(
    scalar: tuple[str, str, dict[str, np.ndarray]], default: dict[str, np.ndarray]
) -> None:
    assert set(scalar[2]) == set(default)
    families = {name.split()[0] for name in default}
    assert {"correlate2d", "convolve2d", "fftconvolve", "conv2d", "conv2d_backward", "max_pool2d"} <= families
    assert {"avg_pool2d", "lp_pool2d", "pad", "pad_backward", "conv_transpose2d"} <= families


@pytest.mark.parametrize("case", sorted(cases()))
def test_scalar_and_simd_agree(
    case: str, scalar: tuple[str, str, dict[str, np.ndarray]], default: dict[str, np.ndarray]
) -> None:
    names = [name for name in default if name.rpartition("/")[0] == case]
    assert names
    for name in names:
        ours, ref = default[name], scalar[2][name]
        assert ours.shape == ref.shape, name
        assert ours.dtype == ref.dtype, name
        if case.startswith(EXACT) or ours.dtype not in TOLERANCE:
            np.testing.assert_array_equal(ours, ref, err_msg=name)
            continue
        assert np.all(np.isfinite(ours)), name
        norm = float(np.linalg.norm(ref.astype(np.float64)))
        err = float(np.linalg.norm(ours.astype(np.float64) - ref.astype(np.float64)))
        assert err <= TOLERANCE[ours.dtype] * norm, (name, err / max(norm, 1e-300))


def test_forced_scalar_reaches_the_kernels(
    scalar: tuple[str, str, dict[str, np.ndarray]], default: dict[str, np.ndarray]
) -> None:
    """On a SIMD machine the signal family's direct kernels (FMA, vector sums)
    round differently from the scalar path somewhere: the subprocess really
    ran the scalar code, not the same path twice."""
    if simd_level() == "scalar":
        pytest.skip("this process runs the scalar paths too")
    direct = [name for name in default if name.startswith(("correlate2d float32", "convolve2d float32"))]
    assert any(not np.array_equal(default[name], scalar[2][name]) for name in direct)
