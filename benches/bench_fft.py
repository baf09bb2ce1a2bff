"""rustconv.fftconvolve / oaconvolve against scipy.signal, side by side.

Every case is timed in one process, the libraries interleaved call by call,
and the table reports medians and ratios (scipy's time / rustconv's), so a
busy machine slows both sides alike. scipy.fft is single-threaded by
default; rustconv uses every core unless ``--workers`` says otherwise.

    python benches/bench_fft.py            # full run
    python benches/bench_fft.py --quick    # fewer repeats, smaller crossover sweep

The second table is the crossover input for ``choose_conv_method``: the
time per output pixel of fftconvolve on a 2048² float32 'same' image at
several kernel sizes (a direct kernel's cost grows with K², this one barely).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.signal

import rustconv

Case = tuple[str, np.ndarray, np.ndarray, str]


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(funcs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    for fn in funcs.values():
        fn()  # warm-up: plans, pools, page faults
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, fn in funcs.items():
            times[name].append(timed(fn))
    return {name: statistics.median(values) for name, values in times.items()}


def cases() -> list[Case]:
    rng = np.random.default_rng(0)
    image = rng.standard_normal((2048, 2048)).astype(np.float32)
    long = rng.standard_normal(1_000_000)
    return [
        ("2048² f32 'same' 15x15", image, rng.standard_normal((15, 15)).astype(np.float32), "same"),
        ("2048² f32 'same' 31x31", image, rng.standard_normal((31, 31)).astype(np.float32), "same"),
        ("1-D 10⁶ x 101 f64 'full'", long, rng.standard_normal(101), "full"),
        ("1-D 10⁶ x 4001 f64 'full'", long, rng.standard_normal(4001), "full"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats and kernel sizes")
    parser.add_argument("--workers", type=int, default=None, help="rustconv threads (default: all cores)")
    args = parser.parse_args()
    repeats = 3 if args.quick else 9
    workers = args.workers

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; ", end="")
    print(f"rustconv {rustconv.__version__}, scipy {scipy.__version__}, numpy {np.__version__}")
    print()
    print(
        "| case | scipy fftconvolve | scipy oaconvolve | scipy convolve (auto) "
        "| rustconv fftconvolve | rustconv oaconvolve | rustconv fftconvolve, 1 thread "
        "| ratio fft | ratio oa | ratio auto / rustconv fft | ratio 1 thread vs scipy fft |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, x, h, mode in cases():
        got = rustconv.fftconvolve(x, h, mode, workers=workers)
        want = scipy.signal.fftconvolve(x, h, mode)
        error = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert error < 1e-5, (name, error)
        medians = interleaved(
            {
                "scipy_fft": lambda x=x, h=h, mode=mode: scipy.signal.fftconvolve(x, h, mode),
                "scipy_oa": lambda x=x, h=h, mode=mode: scipy.signal.oaconvolve(x, h, mode),
                "scipy_auto": lambda x=x, h=h, mode=mode: scipy.signal.convolve(x, h, mode, method="auto"),
                "ours_fft": lambda x=x, h=h, mode=mode: rustconv.fftconvolve(x, h, mode, workers=workers),
                "ours_oa": lambda x=x, h=h, mode=mode: rustconv.oaconvolve(x, h, mode, workers=workers),
                "ours_1": lambda x=x, h=h, mode=mode: rustconv.fftconvolve(x, h, mode, workers=1),
            },
            repeats,
        )
        ms = {k: v * 1e3 for k, v in medians.items()}
        print(
            f"| {name} | {ms['scipy_fft']:.1f} ms | {ms['scipy_oa']:.1f} ms | {ms['scipy_auto']:.1f} ms "
            f"| {ms['ours_fft']:.1f} ms | {ms['ours_oa']:.1f} ms | {ms['ours_1']:.1f} ms "
            f"| {ms['scipy_fft'] / ms['ours_fft']:.2f}x | {ms['scipy_oa'] / ms['ours_oa']:.2f}x "
            f"| {ms['scipy_auto'] / ms['ours_fft']:.2f}x "
            f"| {ms['scipy_fft'] / ms['ours_1']:.2f}x |"
        )

    print()
    print("Crossover input: rustconv.fftconvolve on 2048² float32 'same', all cores")
    print()
    print("| kernel | time | ns per output pixel | GFLOP/s a direct kernel needs to match it |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(1)
    image = rng.standard_normal((2048, 2048)).astype(np.float32)
    sizes = [3, 7, 15, 31] if args.quick else [3, 5, 7, 9, 11, 15, 21, 31, 45, 63]
    for k in sizes:
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        t = interleaved(
            {"ours": lambda k=kernel: rustconv.fftconvolve(image, k, "same", workers=workers)}, repeats
        )["ours"]
        pixels = image.size
        flops = 2 * k * k * pixels
        print(f"| {k}x{k} | {t * 1e3:.1f} ms | {t / pixels * 1e9:.2f} | {flops / t / 1e9:.0f} |")


if __name__ == "__main__":
    main()
