"""Pooling speed: rustconv against torch.nn.functional in one process.

Runs each case interleaved (rustconv, torch, rustconv, ...), reports medians,
the ratio torch / rustconv, and the effective bandwidth (input read + output
written) as a fraction of the same run's ``numpy.copyto`` rate. On a shared
machine wall-clock times swing with the other processes' load, so rustconv's
CPU time per call (all its threads, ``time.process_time``) is printed too: it
moves with the work done, not with the waiting.

    python benches/bench_pool.py            # full run
    python benches/bench_pool.py --quick    # fewer repetitions
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any, Callable

import numpy as np

import rustconv

CPU: dict[str, float] = {}
"""Median CPU seconds per call of the last `interleaved` run, by name."""


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of `repeats` calls."""
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - start_cpu)
        times.append(time.perf_counter() - start)
    return statistics.median(times), statistics.median(cpu)


def interleaved(fns: dict[str, Callable[[], Any]], rounds: int, per_round: int) -> dict[str, float]:
    """Median over rounds; each round times every function in turn. The
    median CPU times go to `CPU`."""
    for fn in fns.values():
        fn()  # warm-up: page faults, thread pools, caches
    samples: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            wall, used = median_time(fn, per_round)
            samples[name].append(wall)
            cpu[name].append(used)
    CPU.clear()
    CPU.update({name: statistics.median(values) for name, values in cpu.items()})
    return {name: statistics.median(values) for name, values in samples.items()}


def copy_rate(rounds: int) -> float:
    """Bytes per second of a large numpy.copyto (bytes read + written)."""
    src = np.ones(64 * 2**20 // 4, dtype=np.float32)
    dst = np.empty_like(src)
    t = interleaved({"copy": lambda: np.copyto(dst, src)}, rounds, 3)["copy"]
    return 2 * src.nbytes / t


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    rounds, per_round = (5, 3) if args.quick else (15, 5)

    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        torch = None
    cores = os.cpu_count() or 1
    if torch is not None:
        torch.set_num_threads(cores)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 64, 112, 112)).astype(np.float32)
    t = torch.from_numpy(x) if torch is not None else None
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None, tuple[int, ...]]] = [
        (
            "max_pool2d(3, 2, 1)",
            lambda: rustconv.max_pool2d(x, 3, 2, 1),
            (lambda: F.max_pool2d(t, 3, 2, 1)) if t is not None else None,
            rustconv.pool_output_shape(x.shape, 3, 2, 1),
        ),
        (
            "avg_pool2d(2, 2)",
            lambda: rustconv.avg_pool2d(x, 2, 2),
            (lambda: F.avg_pool2d(t, 2, 2)) if t is not None else None,
            rustconv.pool_output_shape(x.shape, 2, 2),
        ),
        (
            "lp_pool2d(2, 2, 2)",
            lambda: rustconv.lp_pool2d(x, 2, 2, 2),
            (lambda: F.lp_pool2d(t, 2, 2, 2)) if t is not None else None,
            rustconv.pool_output_shape(x.shape, 2, 2),
        ),
    ]

    rate = copy_rate(rounds)
    # Out of cache: about 200 MiB of input, far beyond the 32 MiB last-level
    # cache; one worker against all cores, interleaved.
    big = rng.standard_normal((16, 64, 224, 224), dtype=np.float32)
    big_cases: list[tuple[str, Callable[[int], Any], tuple[int, ...]]] = [
        (
            "max_pool2d(3, 2, 1)",
            lambda w: rustconv.max_pool2d(big, 3, 2, 1, workers=w),
            rustconv.pool_output_shape(big.shape, 3, 2, 1),
        ),
        (
            "avg_pool2d(2, 2)",
            lambda w: rustconv.avg_pool2d(big, 2, 2, workers=w),
            rustconv.pool_output_shape(big.shape, 2, 2),
        ),
        (
            "lp_pool2d(2, 2, 2)",
            lambda w: rustconv.lp_pool2d(big, 2, 2, 2, workers=w),
            rustconv.pool_output_shape(big.shape, 2, 2),
        ),
    ]
    print(
        f"input float32 {x.shape}, {cores} threads, SIMD {rustconv.show_config.__module__ and rustconv._rustconv._config()['simd']}"
    )
    print(
        f"numpy.copyto 64 MiB: {rate / 1e9:.1f} GB/s (read + write); load average {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| case | rustconv ms | torch ms | torch / rustconv | rustconv GB/s | fraction of copy rate "
        "| rustconv CPU ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, ours, theirs, out_shape in cases:
        fns = {"rustconv": ours}
        if theirs is not None:
            fns["torch"] = theirs
        times = interleaved(fns, rounds, per_round)
        moved = x.nbytes + int(np.prod(out_shape)) * 4
        ours_t = times["rustconv"]
        torch_t = times.get("torch")
        ratio = f"{torch_t / ours_t:.2f}x" if torch_t else "n/a"
        torch_ms = f"{torch_t * 1e3:.2f}" if torch_t else "n/a"
        gbps = moved / ours_t
        print(
            f"| {name} | {ours_t * 1e3:.2f} | {torch_ms} | {ratio} | {gbps / 1e9:.1f} | {gbps / rate:.2f} "
            f"| {CPU['rustconv'] * 1e3:.2f} |"
        )
    print(f"\nout of cache: float32 {big.shape} ({big.nbytes / 2**20:.0f} MiB), rustconv alone\n")
    print(
        f"| case | {cores} threads ms | 1 thread ms | scaling | {cores} threads GB/s | fraction of copy rate "
        f"| CPU ms {cores} threads / 1 thread |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, call, out_shape in big_cases:
        times = interleaved(
            {"all": lambda call=call: call(-1), "one": lambda call=call: call(1)}, max(rounds // 3, 3), 1
        )
        moved = big.nbytes + int(np.prod(out_shape)) * 4
        gbps = moved / times["all"]
        print(
            f"| {name} | {times['all'] * 1e3:.1f} | {times['one'] * 1e3:.1f} | {times['one'] / times['all']:.2f}x "
            f"| {gbps / 1e9:.1f} | {gbps / rate:.2f} | {CPU['all'] * 1e3:.1f} / {CPU['one'] * 1e3:.1f} |"
        )


if __name__ == "__main__":
    main()
