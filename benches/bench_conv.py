"""rustconv's CNN convolution against torch's CPU convolution (oneDNN), side by side.

Run ``python benches/bench_conv.py`` (``--quick`` for fewer repetitions,
``--threads 2`` for one thread count, ``--cases MNIST`` for the cases whose
name contains a word). Both libraries run in this one
process, interleaved call by call (each after a 20 ms pause, as in the
suite), at each thread count in turn (rustconv's
``workers`` and ``torch.set_num_threads`` set alike); the table gives
medians, GFLOP/s, the fraction of this machine's float32 peak and of
NumPy's float32 2048³ matrix-multiply rate measured in the same run, and
ratios (torch time / rustconv time, so above 1 means rustconv is faster),
plus the ratio of median process CPU times (the work each library does,
apart from waiting for a core on a loaded machine; torch's OpenMP threads
spin, so at several threads it also counts their spinning). A second table gives rustconv's 1 → 2 thread scaling. Without torch only
rustconv's columns are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

# The suite's definitions (this script lives next to it).
from suite import FLOP_PER_CYCLE as FLOP_PER_CYCLE_BY_LEVEL
from suite import rustconv_config

import rustconv

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - torch is optional
    torch = None

# (name, input shape, weight shape, stride, padding, forward target, fwd+bwd target): issue 5's
# targets; the batch-1 (inference-sized) layers have none and show where the tiles of one sample
# are the threads' tasks.
SHAPES: list[tuple[str, tuple[int, ...], tuple[int, ...], int, int, float | None, float | None]] = [
    ("deep 64ch 3x3", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1.0, 1.0),
    ("deep 256ch 3x3", (8, 256, 14, 14), (256, 256, 3, 3), 1, 1, 1.0, 1.0),
    ("deep 128ch 1x1", (8, 128, 28, 28), (128, 128, 1, 1), 1, 0, 1.0, 1.0),
    ("first 7x7/2", (8, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1.0, 2.0),
    ("MNIST 5x5", (32, 1, 28, 28), (32, 1, 5, 5), 1, 0, 2.0, 3.0),
    ("batch-1 deep 64ch 3x3", (1, 64, 56, 56), (64, 64, 3, 3), 1, 1, None, None),
    ("batch-1 16ch 3x3", (1, 16, 112, 112), (16, 16, 3, 3), 1, 1, None, None),
    ("batch-1 64ch 3x3/2", (1, 64, 56, 56), (128, 64, 3, 3), 2, 1, None, None),
    ("batch-1 first 7x7/2", (1, 3, 224, 224), (64, 3, 7, 7), 2, 3, None, None),
]

# Float32 FLOP per cycle per core of the SIMD level rustconv reports, as
# the suite counts them (two FMA units of 16, 8 or 1 lanes).
FLOP_PER_CYCLE = FLOP_PER_CYCLE_BY_LEVEL.get(rustconv_config().get("simd", ""), 8)
# Pause before each timed call, as in the suite: without it a library's
# thread pool may still be spinning from its previous call (torch's OpenMP
# threads do) and take the cores from the next one.
SETTLE_S = 0.02
SCALING_TARGET = 1.7


def forward_flops(x_shape: tuple[int, ...], w_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> float:
    n, c_out, oh, ow = out_shape
    return 2.0 * n * c_out * oh * ow * w_shape[1] * w_shape[2] * w_shape[3]


def interleaved(fns: list[Callable[[], Any]], repeats: int) -> list[tuple[float, float]]:
    """(median wall time, median process CPU time) of each function, calling them in turn so
    load changes hit all alike, each after a pause of ``SETTLE_S``. CPU time counts every thread of the process, so it shows the
    work done apart from time spent waiting for a core on a loaded machine."""
    for fn in fns:
        fn()
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            time.sleep(SETTLE_S)
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn()
            wall[i].append(time.perf_counter() - t0)
            cpu[i].append(time.process_time() - c0)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(wall, cpu)]


def core_ghz() -> float:
    """The cores' clock in GHz from /proc/cpuinfo ("cpu MHz"); 2.45 (this machine's) if unknown."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1000
    except (OSError, ValueError, IndexError):
        pass
    return 2.45


def numpy_matmul_rate(repeats: int) -> float:
    """NumPy's float32 2048³ matrix multiply rate (GFLOP/s, best of `repeats`, all its threads),
    measured in a child process: BLAS threads keep spinning after a call and would steal the
    cores from the timings that follow."""
    code = (
        "import time, numpy as np\n"
        "a = np.random.default_rng(1).standard_normal((2048, 2048), dtype=np.float32)\n"
        "b = a.T.copy()\n"
        "best = float('inf')\n"
        f"for _ in range({repeats}):\n"
        "    t0 = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t0)\n"
        "print(2 * 2048**3 / best / 1e9)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def call_overhead_ms() -> float:
    """Median time of a conv2d call on a tiny input: the fixed cost of every call
    (argument handling, the hand-off to the thread pool and back)."""
    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    return 1e3 * statistics.median(_timed(lambda: rustconv.conv2d(x, w)) for _ in range(201))


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--threads",
        type=int,
        nargs="*",
        default=None,
        help="thread counts to run, each for both libraries (default: 1 and all cores)",
    )
    parser.add_argument(
        "--repeats", type=int, default=0, help="calls per median (default 21, 5 with --quick)"
    )
    parser.add_argument(
        "--cases",
        nargs="*",
        default=None,
        help="run only the cases whose name contains one of these words (e.g. MNIST deep)",
    )
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else 21)
    shapes = [s for s in SHAPES if not args.cases or any(word in s[0] for word in args.cases)]
    cores = os.cpu_count() or 1
    thread_counts = args.threads or sorted({1, cores})
    rng = np.random.default_rng(0)
    ghz = core_ghz()
    load = os.getloadavg()[0]
    numpy_rate = numpy_matmul_rate(5)
    print(
        f"rustconv {rustconv.__version__}; torch {torch.__version__ if torch else 'absent'}; "
        f"{cores} cores at {ghz:.2f} GHz: float32 peak {FLOP_PER_CYCLE * ghz:.0f} GFLOP/s per core; "
        f"load average {load:.1f}; medians of {repeats}; "
        f"numpy float32 2048³ matmul {numpy_rate:.0f} GFLOP/s (all cores, same run)"
    )
    print(
        "\n| case | pass | threads | rustconv ms | GFLOP/s | % peak | % numpy | torch ms | GFLOP/s "
        "| ratio (torch/rustconv) | target | CPU-time ratio |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rust_times: dict[tuple[str, str, int], float] = {}
    for threads in thread_counts:
        rustconv.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        peak = FLOP_PER_CYCLE * ghz * threads
        for name, x_shape, w_shape, stride, padding, fwd_target, bwd_target in shapes:
            x = rng.standard_normal(x_shape, dtype=np.float32)
            w = (rng.standard_normal(w_shape, dtype=np.float32) * 0.1).astype(np.float32)
            b = rng.standard_normal(w_shape[0], dtype=np.float32)
            y = rustconv.conv2d(x, w, b, stride, padding)
            g = rng.standard_normal(y.shape, dtype=np.float32)
            flops = forward_flops(x_shape, w_shape, y.shape)

            def r_fwd(
                x: np.ndarray = x, w: np.ndarray = w, b: np.ndarray = b, s: int = stride, p: int = padding
            ) -> Any:
                return rustconv.conv2d(x, w, b, s, p)

            def r_both(
                x: np.ndarray = x,
                w: np.ndarray = w,
                b: np.ndarray = b,
                g: np.ndarray = g,
                s: int = stride,
                p: int = padding,
            ) -> Any:
                rustconv.conv2d(x, w, b, s, p)
                return rustconv.conv2d_backward(g, x, w, s, p)

            fns_fwd: list[Callable[[], Any]] = [r_fwd]
            fns_both: list[Callable[[], Any]] = [r_both]
            if torch is not None:
                tx, tw, tb, tg = (torch.from_numpy(a) for a in (x, w, b, g))

                def t_fwd(tx: Any = tx, tw: Any = tw, tb: Any = tb, s: int = stride, p: int = padding) -> Any:
                    with torch.no_grad():
                        return F.conv2d(tx, tw, tb, s, p)

                def t_both(
                    tx: Any = tx, tw: Any = tw, tb: Any = tb, tg: Any = tg, s: int = stride, p: int = padding
                ) -> Any:
                    xr = tx.detach().requires_grad_(True)
                    wr = tw.detach().requires_grad_(True)
                    br = tb.detach().requires_grad_(True)
                    F.conv2d(xr, wr, br, s, p).backward(tg)
                    return xr.grad, wr.grad, br.grad

                fns_fwd.append(t_fwd)
                fns_both.append(t_both)
                ref = t_fwd().numpy()
                err = float(np.linalg.norm(r_fwd() - ref) / np.linalg.norm(ref))
                assert err < 1e-4, f"{name}: rustconv and torch disagree (relative error {err:.2e})"
            for label, fns, work, target in (
                ("forward", fns_fwd, flops, fwd_target),
                ("fwd+bwd", fns_both, 3 * flops, bwd_target),
            ):
                timed = interleaved(fns, repeats)
                times = [t for t, _ in timed]
                cpu = [c for _, c in timed]
                rust_times[(name, label, threads)] = times[0]
                rate = work / times[0] / 1e9
                row = (
                    f"| {name} | {label} | {threads} | {times[0] * 1e3:.2f} | {rate:.0f} "
                    f"| {100 * rate / peak:.0f} | {100 * rate / numpy_rate:.0f} |"
                )
                if len(times) > 1:
                    ratio = times[1] / times[0]
                    verdict = "met" if target is not None and ratio >= target else "MISSED"
                    goal = "-" if target is None else f">= {target}x {verdict}"
                    row += (
                        f" {times[1] * 1e3:.2f} | {work / times[1] / 1e9:.0f} | {ratio:.2f}x "
                        f"| {goal} | {cpu[1] / cpu[0]:.2f}x |"
                    )
                else:
                    row += " - | - | - | - | - |"
                print(row, flush=True)
    # Measured again: the machine's load drifts over a run.
    print(f"\nnumpy float32 2048³ matmul again at the end: {numpy_matmul_rate(5):.0f} GFLOP/s")
    print(
        f"rustconv call overhead, (1, 1, 4, 4) input, {thread_counts[-1]} threads: {call_overhead_ms():.3f} ms"
    )
    if len(thread_counts) > 1:
        low, high = min(thread_counts), max(thread_counts)
        print(
            f"\nrustconv thread scaling {low} -> {high} (target >= {SCALING_TARGET}x on the large cases)\n\n"
            "| case | pass | speedup |\n|---|---|---|"
        )
        for name, *_ in shapes:
            for label in ("forward", "fwd+bwd"):
                speedup = rust_times[(name, label, low)] / rust_times[(name, label, high)]
                print(f"| {name} | {label} | {speedup:.2f}x |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
