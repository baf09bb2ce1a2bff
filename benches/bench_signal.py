"""rustconv's signal family against scipy.signal, timed in one process.

Each case runs both libraries in alternation (rustconv, scipy, rustconv, ...)
so a busy machine slows both alike; the table reports medians and the ratio
scipy / rustconv of wall times, and each side's process CPU time (on a shared
machine the CPU time shows the work done, the wall time also the waiting).

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


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - start_cpu


def run_case(case: Case, rounds: int) -> tuple[float, float, float, float]:
    """Median wall and CPU seconds of rustconv and of scipy, interleaved."""
    case.ours()  # warm-up: thread pool, page faults
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for r in range(max(rounds, case.their_rounds)):
        if r < rounds:
            ours.append(timed(case.ours))
        if r < case.their_rounds:
            theirs.append(timed(case.theirs))
        if r < rounds:
            ours.append(timed(case.ours))
    o, t = np.median(ours, axis=0), np.median(theirs, axis=0)
    return float(o[0]), float(o[1]), float(t[0]), float(t[1])


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
            lambda kernel=kernel: rustconv.correlate2d(image, kernel, "same", "symm", workers=workers),
            lambda kernel=kernel: scipy.signal.correlate2d(image, kernel, "same", "symm"),
            2.0 * size * size * 49,
            None,
            1,  # scipy's 'symm' loop takes seconds
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
    volume = rng.standard_normal((64, 64, 64)).astype(np.float32)
    box = rng.standard_normal((5, 5, 5)).astype(np.float32)
    out.append(
        Case(
            "convolve direct float32 64³ 'same' 5x5x5",
            lambda: rustconv.convolve(volume, box, "same", "direct", workers=workers),
            lambda: scipy.signal.convolve(volume, box, "same", "direct"),
            2.0 * volume.size * box.size,
            None,
            3,
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


def cpu_seconds(fn: Callable[[], object], repeat: int = 3) -> float:
    """Least process CPU time of ``repeat`` runs: on a shared machine it counts
    only the cycles this process got, which is what the cost model needs."""
    best = math.inf
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def calibrate() -> None:
    """Fits the per-thread constants of choose_conv_method's model (_signal._COSTS)."""
    rng = np.random.default_rng(1)
    print("dtype        MAC_RATE (MAC/s)  PER_OUTPUT (s)  FFT_RATE (3 N log2 N / s)")
    for dtype in (np.float32, np.float64, np.complex64, np.complex128):
        image = rng.standard_normal((1024, 1024)).astype(dtype)
        small = rng.standard_normal((3, 3)).astype(dtype)
        large = rng.standard_normal((21, 21)).astype(dtype)
        t_small = cpu_seconds(lambda i=image, k=small: rustconv.convolve(i, k, "same", "direct", workers=1))
        t_large = cpu_seconds(lambda i=image, k=large: rustconv.convolve(i, k, "same", "direct", workers=1))
        # Two points of t = out * (taps / MAC_RATE + PER_OUTPUT).
        mac_rate = image.size * (large.size - small.size) / max(t_large - t_small, 1e-9)
        per_output = max(t_small / image.size - small.size / mac_rate, 0.0)
        n = 2**20
        x = rng.standard_normal(n // 2).astype(dtype)
        t_fft = cpu_seconds(lambda x=x: scipy.signal.fftconvolve(x, x))
        fft_rate = 3 * n * math.log2(n) / t_fft
        print(f"{np.dtype(dtype).name:12s} {mac_rate:16.2e}  {per_output:14.2e}  {fft_rate:.2e}")


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
        calibrate()
        return
    size, length, rounds, slow = (1024, 100_000, 3, 1) if args.quick else (2048, 1_000_000, 7, 3)
    rounds = args.rounds or rounds
    print(f"rustconv {rustconv.__version__}, scipy {scipy.__version__}, numpy {np.__version__}")
    config = rustconv._rustconv._config()
    print(
        f"{platform.processor() or platform.machine()}, {config['available_cores']} cores, SIMD {config['simd']}"
    )
    print(f"rustconv workers={args.workers}; scipy.signal is single-threaded\n")
    print(
        "| case | rustconv ms | GFLOP/s | scipy.signal ms | ratio | target | met "
        "| rustconv CPU ms | scipy CPU ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for case in cases(size, length, args.workers, slow):
        if args.only not in case.name:
            continue
        ours, ours_cpu, theirs, theirs_cpu = run_case(case, rounds)
        ratio = theirs / ours
        target = f"≥ {case.target:g}x" if case.target else ""
        met = "" if case.target is None else ("yes" if ratio >= case.target else "no")
        print(
            f"| {case.name} | {ours * 1e3:.2f} | {case.flops / ours / 1e9:.1f} | {theirs * 1e3:.1f} "
            f"| {ratio:.1f}x | {target} | {met} | {ours_cpu * 1e3:.1f} | {theirs_cpu * 1e3:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
