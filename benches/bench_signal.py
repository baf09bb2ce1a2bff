"""rustconv's signal family against scipy.signal, timed in one process.

Each case runs both libraries in alternation (rustconv, scipy, rustconv, ...)
so a busy machine slows both alike; the table reports medians and the ratio
scipy / rustconv.

    python benches/bench_signal.py              # the issue's cases, 2 threads
    python benches/bench_signal.py --quick      # smaller images, fewer rounds
    python benches/bench_signal.py --calibrate  # rates for choose_conv_method's model
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.signal

import rustconv


@dataclass
class Case:
    name: str
    ours: Callable[[], object]
    theirs: Callable[[], object]
    flops: float
    target: float | None
    # scipy's slow direct loop runs fewer rounds than rustconv.
    their_rounds: int


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_case(case: Case, rounds: int) -> tuple[float, float]:
    case.ours()  # warm-up: thread pool, page faults
    ours: list[float] = []
    theirs: list[float] = []
    for r in range(max(rounds, case.their_rounds)):
        if r < rounds:
            ours.append(timed(case.ours))
        if r < case.their_rounds:
            theirs.append(timed(case.theirs))
        if r < rounds:
            ours.append(timed(case.ours))
    return float(np.median(ours)), float(np.median(theirs))


def cases(size: int, length: int, workers: int, slow_rounds: int) -> list[Case]:
    rng = np.random.default_rng(0)
    image = rng.standard_normal((size, size)).astype(np.float32)
    out: list[Case] = []
    for k in (3, 15):
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        out.append(
            Case(
                f"convolve2d float32 {size}² 'same' {k}x{k}",
                lambda kernel=kernel: rustconv.convolve2d(image, kernel, "same", workers=workers),
                lambda kernel=kernel: scipy.signal.convolve2d(image, kernel, "same"),
                2.0 * size * size * k * k,
                30.0,
                slow_rounds,
            )
        )
    kernel = rng.standard_normal((7, 7)).astype(np.float32)
    out.append(
        Case(
            f"correlate2d float32 {size}² 'same' 7x7 symm",
            lambda: rustconv.correlate2d(image, kernel, "same", "symm", workers=workers),
            lambda: scipy.signal.correlate2d(image, kernel, "same", "symm"),
            2.0 * size * size * 49,
            None,
            slow_rounds,
        )
    )
    for k, target in ((3, None), (15, 2.0), (31, 1.5)):
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        out.append(
            Case(
                f"convolve auto float32 {size}² 'same' {k}x{k}",
                lambda kernel=kernel: rustconv.convolve(image, kernel, "same", workers=workers),
                lambda kernel=kernel: scipy.signal.convolve(image, kernel, "same"),
                2.0 * size * size * k * k,
                target,
                5,
            )
        )
    x = rng.standard_normal(length)
    taps = rng.standard_normal(101)
    out.append(
        Case(
            f"convolve auto float64 1-D {length:,} x 101",
            lambda: rustconv.convolve(x, taps, workers=workers),
            lambda: scipy.signal.convolve(x, taps),
            2.0 * length * 101,
            2.0,
            7,
        )
    )
    return out


def calibrate(workers: int) -> None:
    """Per-thread rates for the cost model in rustconv/_signal.py."""
    rng = np.random.default_rng(1)
    print("direct rate (multiply-adds per second per thread):")
    for dtype in (np.float32, np.float64, np.complex64, np.complex128):
        for shape, kshape in (((1024, 1024), (3, 3)), ((1024, 1024), (15, 15)), ((1_000_000,), (101,))):
            a = rng.standard_normal(shape).astype(dtype)
            b = rng.standard_normal(kshape).astype(dtype)
            t = min(
                timed(lambda a=a, b=b: rustconv.convolve(a, b, "same", "direct", workers=workers))
                for _ in range(3)
            )
            rate = a.size * b.size / t / workers
            print(f"  {np.dtype(dtype).name:10s} {shape} * {kshape}: {rate:.2e}")
    print("FFT rate (3 N log2 N per second, scipy.fft single thread):")
    for n in (2**16, 2**20, 2**22):
        a = rng.standard_normal(n // 2)
        b = rng.standard_normal(n // 2)
        t = min(timed(lambda a=a, b=b: scipy.signal.fftconvolve(a, b)) for _ in range(3))
        print(f"  N={n}: {3 * n * math.log2(n) / t:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1024² images, 10⁵ samples, fewer rounds")
    parser.add_argument("--workers", type=int, default=2, help="rustconv threads (default 2)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per case for rustconv")
    parser.add_argument("--only", default="", help="run only cases whose name contains this text")
    parser.add_argument("--calibrate", action="store_true", help="print choose_conv_method's rates")
    args = parser.parse_args()
    if args.calibrate:
        calibrate(args.workers)
        return
    size, length, rounds, slow = (1024, 100_000, 3, 1) if args.quick else (2048, 1_000_000, 7, 3)
    rounds = args.rounds or rounds
    print(f"rustconv {rustconv.__version__}, scipy {scipy.__version__}, numpy {np.__version__}")
    config = rustconv._rustconv._config()
    print(
        f"{platform.processor() or platform.machine()}, {config['available_cores']} cores, SIMD {config['simd']}"
    )
    print(f"rustconv workers={args.workers}; scipy.signal is single-threaded\n")
    print("| case | rustconv ms | GFLOP/s | scipy.signal ms | ratio | target | met |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for case in cases(size, length, args.workers, slow):
        if args.only not in case.name:
            continue
        ours, theirs = run_case(case, rounds)
        ratio = theirs / ours
        target = f"≥ {case.target:g}x" if case.target else ""
        met = "" if case.target is None else ("yes" if ratio >= case.target else "no")
        print(
            f"| {case.name} | {ours * 1e3:.2f} | {case.flops / ours / 1e9:.1f} | {theirs * 1e3:.1f} "
            f"| {ratio:.1f}x | {target} | {met} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
