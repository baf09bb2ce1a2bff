"""rustconv's signal family against scipy.signal and OpenCV, timed in one process.

Each case runs the libraries in alternation (rustconv with all threads,
rustconv with one thread, the other library, ...) so a busy machine slows
all alike; the table reports medians, the ratio other / rustconv of wall
times, GFLOP/s (``2 K² N²`` for an image, whatever the algorithm), the
fraction of the float32 peak for the direct cases, and the 1 → n thread
scaling of rustconv.

    python benches/bench_signal.py              # the issue's cases (2048² and 8192²)
    python benches/bench_signal.py --quick      # 1024² only, fewer rounds (about a minute)
    python benches/bench_signal.py --calibrate  # rates for choose_conv_method's model

``cv2.filter2D`` is a correlation; it runs with ``cv2.setNumThreads`` equal
to rustconv's workers and ``BORDER_REFLECT`` (``fedcba|abcdef``), which is
scipy's 'symm'. scipy.signal is single-threaded; on 8192² images its
``convolve2d`` is timed on a strip of the image and scaled by the pixel
count (its loop is linear in the pixels), since one full call takes minutes.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.signal

import rustconv

try:
    import cv2
except ImportError:  # pragma: no cover - OpenCV is optional
    cv2 = None

# AVX2 + FMA: 2 FMA units x 8 float32 lanes x 2 FLOP per cycle, at the
# machine's sustained clock (about 2.45 GHz here).
PEAK_PER_CORE = 78e9


@dataclass
class Case:
    name: str
    ours: Callable[[int], object]
    theirs: Callable[[], object] | None
    other: str
    flops: float
    target: float | None
    # Slow references run fewer rounds.
    their_rounds: int
    # The reference is timed on a part of the input and scaled by this.
    their_scale: float = 1.0
    # Whether rustconv computes the direct sum here (so a fraction of the
    # peak means something).
    direct: bool = False


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - start_cpu


@dataclass
class Timing:
    ours: float
    ours_cpu: float
    single: float
    theirs: float | None
    theirs_cpu: float | None


def run_case(case: Case, rounds: int, workers: int) -> Timing:
    """Median seconds of rustconv (workers), rustconv (1 thread) and the
    other library (scaled), interleaved; wall and process CPU time (on a
    shared machine the CPU time shows the work done, the wall time also the
    waiting for a core)."""
    case.ours(workers)  # warm-up: thread pool, page faults
    ours: list[tuple[float, float]] = []
    single: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for r in range(max(rounds, case.their_rounds)):
        if r < rounds:
            ours.append(timed(lambda: case.ours(workers)))
            single.append(timed(lambda: case.ours(1)))
        if case.theirs is not None and r < case.their_rounds:
            wall, cpu = timed(case.theirs)
            theirs.append((wall * case.their_scale, cpu * case.their_scale))
        if r < rounds:
            ours.append(timed(lambda: case.ours(workers)))
    o, s = np.median(ours, axis=0), np.median(single, axis=0)
    t = np.median(theirs, axis=0) if theirs else None
    return Timing(
        float(o[0]),
        float(o[1]),
        float(s[0]),
        float(t[0]) if t is not None else None,
        float(t[1]) if t is not None else None,
    )


def image_cases(size: int, kernels: tuple[int, ...], rounds_scipy: int, strip: int) -> list[Case]:
    rng = np.random.default_rng(size)
    image = rng.standard_normal((size, size)).astype(np.float32)
    part = image[:strip] if strip < size else image
    scale = size / part.shape[0]
    out: list[Case] = []
    for k in kernels:
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        flops = 2.0 * size * size * k * k
        direct = rustconv.choose_conv_method(image, kernel, "same") == "direct"
        if cv2 is not None:
            out.append(
                Case(
                    f"correlate2d {size}² 'same' {k}x{k} symm",
                    lambda w, kernel=kernel: rustconv.correlate2d(image, kernel, "same", "symm", workers=w),
                    lambda kernel=kernel: cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT),
                    "cv2.filter2D",
                    flops,
                    1.0 if k == 3 else 1.5,
                    rounds_scipy + 2,
                    direct=direct,
                )
            )
        out.append(
            Case(
                f"convolve2d {size}² 'same' {k}x{k} fill",
                lambda w, kernel=kernel: rustconv.convolve2d(image, kernel, "same", workers=w),
                lambda kernel=kernel: scipy.signal.convolve2d(part, kernel, "same"),
                "scipy" if scale == 1 else f"scipy ({part.shape[0]} rows x{scale:g})",
                flops,
                50.0,
                rounds_scipy,
                scale,
                direct=direct,
            )
        )
    # A separable (Gaussian) kernel: the rank-one path, against OpenCV's
    # filter2D (which does not look for separability) and sepFilter2D.
    for k in (15, 31):
        g = np.exp(-0.5 * ((np.arange(k) - k // 2) / (k / 6)) ** 2).astype(np.float32)
        g /= g.sum()
        gauss = np.outer(g, g)
        if cv2 is not None:
            out.append(
                Case(
                    f"correlate2d {size}² 'same' {k}x{k} Gaussian (separable) symm",
                    lambda w, gauss=gauss: rustconv.correlate2d(image, gauss, "same", "symm", workers=w),
                    lambda gauss=gauss: cv2.filter2D(image, -1, gauss, borderType=cv2.BORDER_REFLECT),
                    "cv2.filter2D",
                    2.0 * size * size * k * k,
                    None,
                    rounds_scipy + 2,
                )
            )
            out.append(
                Case(
                    f"correlate2d {size}² 'same' {k}x{k} Gaussian (separable) symm",
                    lambda w, gauss=gauss: rustconv.correlate2d(image, gauss, "same", "symm", workers=w),
                    lambda g=g: cv2.sepFilter2D(image, -1, g, g, borderType=cv2.BORDER_REFLECT),
                    "cv2.sepFilter2D",
                    2.0 * size * size * k * k,
                    None,
                    rounds_scipy + 2,
                )
            )
    return out


def auto_cases(size: int, length: int, rounds: int) -> list[Case]:
    rng = np.random.default_rng(1)
    image = rng.standard_normal((size, size)).astype(np.float32)
    out: list[Case] = []
    for k in (15, 31):
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        out.append(
            Case(
                f"convolve auto {size}² 'same' {k}x{k}",
                lambda w, kernel=kernel: rustconv.convolve(image, kernel, "same", workers=w),
                lambda kernel=kernel: scipy.signal.convolve(image, kernel, "same"),
                "scipy",
                2.0 * size * size * k * k,
                3.0,
                rounds,
            )
        )
    x = rng.standard_normal(length)
    for m in (101, 4001):
        taps = rng.standard_normal(m)
        out.append(
            Case(
                f"convolve auto float64 1-D {length:,} x {m}",
                lambda w, taps=taps: rustconv.convolve(x, taps, workers=w),
                lambda taps=taps: scipy.signal.convolve(x, taps),
                "scipy",
                2.0 * length * m,
                4.0,
                rounds,
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
        # rustconv's own FFT path, one thread, on a 2-D and a 1-D case.
        rates = []
        for a, b in (
            (rng.standard_normal((2048, 2048)).astype(dtype), rng.standard_normal((31, 31)).astype(dtype)),
            (rng.standard_normal(2**20).astype(dtype), rng.standard_normal(4001).astype(dtype)),
        ):
            n = math.prod(s + k - 1 for s, k in zip(a.shape, b.shape))
            t_fft = cpu_seconds(lambda a=a, b=b: rustconv.fftconvolve(a, b, "same", workers=1))
            rates.append(3 * n * math.log2(n) / t_fft)
        print(
            f"{np.dtype(dtype).name:12s} {mac_rate:16.2e}  {per_output:14.2e}  "
            f"{min(rates):.2e} (2-D {rates[0]:.2e}, 1-D {rates[1]:.2e})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1024² images, 10⁵ samples, fewer rounds")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="rustconv threads")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per case for rustconv")
    parser.add_argument("--only", default="", help="run only cases whose name contains this text")
    parser.add_argument("--calibrate", action="store_true", help="print choose_conv_method's rates")
    args = parser.parse_args()
    if args.calibrate:
        calibrate()
        return
    if cv2 is not None:
        cv2.setNumThreads(args.workers)
    if args.quick:
        groups = [image_cases(1024, (3, 7, 15, 31), 1, 1024), auto_cases(1024, 100_000, 3)]
        rounds = args.rounds or 3
    else:
        groups = [
            image_cases(2048, (3, 7, 15, 31), 3, 2048),
            image_cases(8192, (3, 7, 15, 31), 1, 512),
            auto_cases(2048, 1_000_000, 5),
        ]
        rounds = args.rounds or 5
    cv = f", OpenCV {cv2.__version__}" if cv2 is not None else " (OpenCV not installed)"
    print(f"rustconv {rustconv.__version__}, scipy {scipy.__version__}, numpy {np.__version__}{cv}")
    config = rustconv._rustconv._config()
    print(
        f"{platform.processor() or platform.machine()}, {config['available_cores']} cores, "
        f"SIMD {config['simd']}, load average {os.getloadavg()[0]:.1f} at start"
    )
    print(
        f"rustconv workers={args.workers}, cv2 threads={args.workers}; scipy.signal is single-threaded; "
        f"float32 peak {PEAK_PER_CORE * args.workers / 1e9:.0f} GFLOP/s\n"
    )
    print(
        "| case | rustconv ms | GFLOP/s | of peak | 1 thread ms | scaling | other | other ms "
        "| ratio | target | met | rustconv CPU ms | other CPU ms | CPU ratio | GFLOP per CPU-s | of core peak |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    peak = PEAK_PER_CORE * args.workers
    for group in groups:
        for case in group:
            if args.only not in case.name:
                continue
            timing = run_case(case, rounds, args.workers)
            ours, single, theirs = timing.ours, timing.single, timing.theirs
            gflops = case.flops / ours / 1e9
            of_peak = (
                f"{gflops * 1e9 / peak:.0%}" if case.direct else "(FFT)" if "auto" not in case.name else ""
            )
            if "separable" in case.name:
                of_peak = "(rank 1)"
            ratio = theirs / ours if theirs is not None else None
            # The rate per busy core (process CPU time), which a loaded
            # machine distorts far less than the wall-time rate.
            per_cpu = case.flops / max(timing.ours_cpu, 1e-9) / 1e9
            core_peak = f"{per_cpu * 1e9 / PEAK_PER_CORE:.0%}" if case.direct else ""
            target = f"≥ {case.target:g}x" if case.target else ""
            met = "" if case.target is None or ratio is None else ("yes" if ratio >= case.target else "no")
            print(
                f"| {case.name} | {ours * 1e3:.2f} | {gflops:.1f} | {of_peak} | {single * 1e3:.2f} "
                f"| {single / ours:.2f}x | {case.other} | {theirs * 1e3 if theirs else math.nan:.1f} "
                f"| {ratio or math.nan:.2f}x | {target} | {met} | {timing.ours_cpu * 1e3:.1f} "
                f"| {(timing.theirs_cpu or math.nan) * 1e3:.1f} "
                f"| {(timing.theirs_cpu or math.nan) / max(timing.ours_cpu, 1e-9):.2f}x "
                f"| {per_cpu:.1f} | {core_peak} |",
                flush=True,
            )
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
