"""Benchmark: rustconv.pad against torch.nn.functional.pad and numpy.pad.

Run ``python benches/bench_pad.py`` (``--quick`` for fewer repetitions).
Every contender runs in this one process, interleaved call by call (each call
after a 20 ms pause, so no library's threads still spin from the last), and the
table gives medians, ratios (the other library's time / rustconv's) and each
time as a fraction of the memory-copy rate measured in the same run with a
large ``numpy.copyto`` (bytes read + written). Padding is memory-bound, so
that fraction is how close a call comes to the machine's limit.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import rustconv

try:
    import torch
except ImportError:  # torch is optional: its columns are left empty
    torch = None


SETTLE_SECONDS = 0.02


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(contenders: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[float, float]]:
    """(median, best) seconds per call, the contenders taking turns."""
    for fn in contenders.values():
        fn()  # warm-up: page faults, pools, caches
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            # No library's worker threads still spinning from the previous
            # call: torch's OpenMP threads poll for several milliseconds and
            # took a core from whichever contender ran next.
            time.sleep(SETTLE_SECONDS)
            times[name].append(timed(fn))
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def copy_rate(repeats: int) -> float:
    """Bytes read + written per second by numpy.copyto on 256 MiB, far beyond the caches."""
    src = np.ones(32 * 2**20, dtype=np.float64)
    dst = np.empty_like(src)
    seconds = interleaved({"copy": lambda: np.copyto(dst, src)}, repeats)["copy"][0]
    return 2 * src.nbytes / seconds


def copy_rate_two_threads(repeats: int) -> float:
    """numpy.copyto's rate on 256 MiB with two threads each copying one half
    (numpy releases the interpreter lock while it copies): what two cores
    can move on this machine."""
    src = np.ones(32 * 2**20, dtype=np.float64)
    dst = np.empty_like(src)
    half = src.size // 2
    with ThreadPoolExecutor(2) as pool:

        def copy() -> None:
            for f in [
                pool.submit(np.copyto, dst[:half], src[:half]),
                pool.submit(np.copyto, dst[half:], src[half:]),
            ]:
                f.result()

        seconds = interleaved({"copy": copy}, repeats)["copy"][0]
    return 2 * src.nbytes / seconds


def bench_scaling(shape: tuple[int, ...], pad: int, repeats: int, rate: float) -> list[str]:
    """rustconv.pad with one worker against all cores, interleaved."""
    x = np.random.default_rng(2).standard_normal(shape, dtype=np.float32)
    pad_width = ((0, 0), (0, 0), (pad, pad), (pad, pad))
    cores = os.cpu_count() or 1
    med = interleaved(
        {
            f"rustconv, {cores} threads": lambda: rustconv.pad(x, pad_width, mode="reflect", workers=-1),
            "rustconv, 1 thread": lambda: rustconv.pad(x, pad_width, mode="reflect", workers=1),
        },
        repeats,
    )
    out_bytes = x.nbytes // (shape[2] * shape[3]) * (shape[2] + 2 * pad) * (shape[3] + 2 * pad)
    moved = x.nbytes + out_bytes
    many, one = med[f"rustconv, {cores} threads"][0], med["rustconv, 1 thread"][0]
    return [
        f"| pad reflect {pad} {shape} float32 ({moved / 2**20:.0f} MiB moved) | {name} | "
        f"{seconds * 1e3:.2f} ({best * 1e3:.2f}) | {moved / seconds / 1e9:.1f} | {moved / seconds / rate:.0%} | "
        f"{'' if name.endswith('1 thread') else f'scaling 1 -> {cores}: {one / many:.2f}x'} |"
        for name, (seconds, best) in med.items()
    ]


def bench_forward(shape: tuple[int, ...], pad: int, repeats: int, rate: float) -> list[str]:
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    pad_width = ((0, 0), (0, 0), (pad, pad), (pad, pad))
    contenders: dict[str, Callable[[], object]] = {
        "rustconv": lambda: rustconv.pad(x, pad_width, mode="reflect"),
        "numpy": lambda: np.pad(x, pad_width, mode="reflect"),
    }
    if torch is not None:
        t = torch.from_numpy(x)
        contenders["torch"] = lambda: torch.nn.functional.pad(t, (pad, pad, pad, pad), mode="reflect")
    np.testing.assert_array_equal(contenders["rustconv"](), np.pad(x, pad_width, mode="reflect"))
    med = interleaved(contenders, repeats)
    out_bytes = x.nbytes // (shape[2] * shape[3]) * (shape[2] + 2 * pad) * (shape[3] + 2 * pad)
    moved = x.nbytes + out_bytes
    return table_rows(f"pad reflect {pad} {shape} float32 ({moved / 2**20:.0f} MiB moved)", med, moved, rate)


def bench_backward(shape: tuple[int, ...], pad: int, repeats: int, rate: float) -> list[str]:
    rng = np.random.default_rng(1)
    padded = (shape[0], shape[1], shape[2] + 2 * pad, shape[3] + 2 * pad)
    g = rng.standard_normal(padded, dtype=np.float32)
    pad_width = ((0, 0), (0, 0), (pad, pad), (pad, pad))
    contenders: dict[str, Callable[[], object]] = {
        "rustconv": lambda: rustconv.pad_backward(g, pad_width, mode="reflect"),
    }
    if torch is not None:
        tg = torch.from_numpy(g)
        tx = torch.empty(shape, dtype=torch.float32)
        contenders["torch"] = lambda: torch.ops.aten.reflection_pad2d_backward(tg, tx, [pad, pad, pad, pad])
    med = interleaved(contenders, repeats)
    moved = g.nbytes + g.nbytes // (padded[2] * padded[3]) * (shape[2] * shape[3])
    return table_rows(f"pad_backward reflect {pad} {shape} float32", med, moved, rate)


def table_rows(case: str, med: dict[str, tuple[float, float]], moved: int, rate: float) -> list[str]:
    ours, ours_best = med["rustconv"]
    rows = []
    for name, (seconds, best) in med.items():
        ratio = "" if name == "rustconv" else f"{seconds / ours:.2f}x ({best / ours_best:.2f}x)"
        fraction = moved / seconds / rate
        rows.append(
            f"| {case} | {name} | {seconds * 1e3:.2f} ({best * 1e3:.2f}) | {moved / seconds / 1e9:.1f} "
            f"| {fraction:.0%} | {ratio} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for a smoke run")
    args = parser.parse_args()
    repeats = 7 if args.quick else 41
    load = os.getloadavg()[0]
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    rate = copy_rate(repeats)
    rate2 = copy_rate_two_threads(repeats)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"rustconv {rustconv.__version__} ({rustconv._rustconv._config()['simd']}), "
        f"torch {torch.__version__ if torch is not None else 'not installed'}, numpy {np.__version__}"
    )
    print(f"numpy.copyto of 256 MiB: {rate / 1e9:.1f} GB/s (read + written)")
    print(f"the same with 2 threads, one half each: {rate2 / 1e9:.1f} GB/s ({rate2 / rate:.2f}x)")
    print(f"load average before the run: {load:.1f} (2 cores; other builds share the machine)\n")
    print("| case | library | median (best) ms | GB/s | of copy rate | time / rustconv's, median (best) |")
    print("|---|---|---|---|---|---|")
    rows = bench_forward((8, 64, 112, 112), 3, repeats, rate)
    rows += bench_forward((8, 64, 224, 224), 3, max(repeats // 3, 5), rate)
    rows += bench_backward((8, 64, 112, 112), 3, repeats, rate)
    rows += bench_backward((8, 64, 224, 224), 3, max(repeats // 3, 5), rate)
    rows += bench_scaling((8, 64, 224, 224), 3, max(repeats // 3, 5), rate)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
