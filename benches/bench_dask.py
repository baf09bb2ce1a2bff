"""rustconv.dask on an image larger than the chunk budget, against the in-memory function.

Cases (float32): ``correlate2d(image, k, 'same', 'symm')`` with a 7×7 and a
31×31 kernel on an N×N image (N = 16384, 1 GiB; ``--quick``: 4096), and
``max_pool2d(stack, 3, 2, 1)`` on a (16, N/4, N/4) stack (the same bytes).

Each case runs in fresh subprocesses, so that each reports its own peak memory:

* **compare** — the in-memory function on the whole array (``workers=-1``,
  all cores) and ``rustconv.dask`` on the same array (``da.from_array``,
  dask's threaded scheduler, one thread per core, ``workers=1`` per task),
  storing into a preallocated array, interleaved ``--rounds`` times
  (medians); the two results are checked bit for bit.
* **in-memory peak** — the in-memory function on a freshly generated
  array: peak resident memory minus the resident memory before the input
  existed (input, output and the function's temporaries).
* **peak** — ``rustconv.dask`` on a lazily generated input
  (``da.random``), each output chunk reduced to its sum, so nothing of the
  array's size is ever held: the process's peak resident memory (``VmHWM``
  from /proc/self/status, minus the resident memory after imports) is the
  memory the threaded scheduler needs — the figure per dask worker.
  The time of generating the input alone is measured and subtracted.

Throughput is input megapixels (float32 elements) per second.

    python benches/bench_dask.py            # 16384² (needs about 4 GiB of memory)
    python benches/bench_dask.py --quick    # 4096²
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np


def rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def operation(case: str, module: Any) -> Any:
    """The case as a function of the input, from ``rustconv`` or ``rustconv.dask``."""
    workers = -1 if module.__name__ == "rustconv" else 1
    if case.startswith("correlate2d"):
        size = int(case.split("_")[1])
        kernel = np.random.default_rng(1).standard_normal((size, size)).astype(np.float32)
        return lambda x: module.correlate2d(x, kernel, "same", "symm", workers=workers)
    return lambda x: module.max_pool2d(x, 3, 2, 1, workers=workers)


def input_shape(case: str, n: int) -> tuple[int, ...]:
    return (n, n) if case.startswith("correlate2d") else (16, n // 4, n // 4)


def chunks_for(shape: tuple[int, ...], chunk: int) -> tuple[int, ...]:
    return (chunk, chunk) if len(shape) == 2 else (1, chunk, chunk)


def run_compare(case: str, n: int, chunk: int, rounds: int) -> dict[str, Any]:
    import dask
    import dask.array as da

    import rustconv
    import rustconv.dask

    shape = input_shape(case, n)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    in_memory = operation(case, rustconv)
    chunked = operation(case, rustconv.dask)
    dx = da.from_array(x, chunks=chunks_for(shape, chunk))
    graph = chunked(dx)
    target = np.empty(graph.shape, dtype=graph.dtype)
    reference: list[np.ndarray] = []

    def run_in_memory() -> None:
        reference[:] = [in_memory(x)]

    def run_dask() -> None:
        da.store(chunked(dx), target, lock=False)

    times: dict[str, list[float]] = {"in-memory": [], "dask": []}
    with dask.config.set(scheduler="threads", num_workers=os.cpu_count()):
        # Warm-up on a corner: thread pools, imports, first-touch of the target.
        corner = (slice(None),) * (len(shape) - 2) + (slice(0, 2 * chunk),) * 2
        in_memory(x[corner])
        chunked(dx[corner]).compute()
        target.fill(0)
        for _ in range(rounds):
            for name, fn in (("in-memory", run_in_memory), ("dask", run_dask)):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    same_bits = reference[0].tobytes() == target.tobytes()
    return {
        "in-memory": statistics.median(times["in-memory"]),
        "dask": statistics.median(times["dask"]),
        "same_bits": same_bits,
        "chunks": len(graph.chunks[-1]) * len(graph.chunks[-2]) * len(graph.chunks[0]) ** (len(shape) == 3),
    }


def run_in_memory_peak(case: str, n: int) -> dict[str, Any]:
    import rustconv

    shape = input_shape(case, n)
    in_memory = operation(case, rustconv)
    in_memory(np.zeros((*shape[:-2], 64, 64), dtype=np.float32))
    baseline = rss_kib("VmRSS")
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    in_memory(x)
    return {"peak_mib": (rss_kib("VmHWM") - baseline) / 1024}


def run_peak(case: str, n: int, chunk: int) -> dict[str, Any]:
    import dask
    import dask.array as da

    import rustconv.dask

    shape = input_shape(case, n)
    chunked = operation(case, rustconv.dask)

    def lazy_input() -> Any:
        return da.random.default_rng(0).random(shape, dtype=np.float32, chunks=chunks_for(shape, chunk))

    with dask.config.set(scheduler="threads", num_workers=os.cpu_count()):
        # Warm the imports and the thread pool on a small problem.
        lazy_input()[: 2 * chunk, : 2 * chunk].sum().compute()
        baseline = rss_kib("VmRSS")
        start = time.perf_counter()
        float(lazy_input().sum().compute())
        generate = time.perf_counter() - start
        start = time.perf_counter()
        float(chunked(lazy_input()).sum().compute())
        total = time.perf_counter() - start
    return {
        "generate": generate,
        "total": total,
        "peak_mib": (rss_kib("VmHWM") - baseline) / 1024,
        "chunk_mib": 4 * chunk * chunk / 2**20,
    }


def subprocess_json(args: list[str]) -> dict[str, Any]:
    result = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a 4096² image instead of 16384²")
    parser.add_argument("--size", type=int, help="image side (overrides --quick)")
    parser.add_argument("--chunk", type=int, default=2048, help="chunk side (default 2048: 16 MiB)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--cases", default="correlate2d_7,correlate2d_31,max_pool2d")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.size or (4096 if args.quick else 16384)
    if args.worker:
        kind, case = args.worker
        if kind == "compare":
            out = run_compare(case, n, args.chunk, args.rounds)
        elif kind == "in-memory-peak":
            out = run_in_memory_peak(case, n)
        else:
            out = run_peak(case, n, args.chunk)
        print(json.dumps(out))
        return

    load = os.getloadavg()[0]
    print(
        f"image {n}x{n} float32 ({4 * n * n / 2**30:.2f} GiB), chunks {args.chunk}², {os.cpu_count()} cores, "
        f"dask threaded scheduler with {os.cpu_count()} threads, workers=1 per task; load average {load:.1f}"
    )
    print()
    header = (
        "| case | in-memory s | dask s | in-memory MPix/s | dask MPix/s | dask / in-memory time | same bits "
        "| in-memory peak MiB | dask peak MiB (lazy input) | dask MPix/s (lazy, generation subtracted) |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for case in args.cases.split(","):
        common = ["--size", str(n), "--chunk", str(args.chunk), "--rounds", str(args.rounds)]
        compare = subprocess_json([*common, "--worker", "compare", case])
        peak = subprocess_json([*common, "--worker", "peak", case])
        in_memory_peak = subprocess_json([*common, "--worker", "in-memory-peak", case])
        pixels = float(np.prod(input_shape(case, n)))
        compute = max(peak["total"] - peak["generate"], 1e-9)
        print(
            f"| {case} | {compare['in-memory']:.2f} | {compare['dask']:.2f} "
            f"| {pixels / compare['in-memory'] / 1e6:.0f} | {pixels / compare['dask'] / 1e6:.0f} "
            f"| {compare['dask'] / compare['in-memory']:.2f} | {compare['same_bits']} "
            f"| {in_memory_peak['peak_mib']:.0f} | {peak['peak_mib']:.0f} | {pixels / compute / 1e6:.0f} |"
        )
    print()
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
