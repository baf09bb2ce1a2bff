"""rustconv's benchmark suite: every workload of the performance targets, side by side.

Times rustconv (through its public Python API only) against scipy.signal,
scipy.ndimage, numpy, OpenCV and torch — each only when importable — in one
process, interleaved call by call, and reports medians. The machine's own
ceilings are measured in the same run (the large ``numpy.copyto`` rate, numpy's
float32 matrix multiply, the theoretical float32 peak), so every figure is
also given as a fraction of what the hardware can do here.

    python benches/suite.py              # full run (about 10 minutes), into docs/perf/
    python benches/suite.py --quick      # a few minutes: fewer repeats, slow references extrapolated
    python benches/suite.py --smoke      # seconds: tiny sizes, keeps the script from rotting
    python benches/suite.py --out DIR    # another output directory

Writes ``results[-quick|-smoke].md`` (also printed) and, when matplotlib is
installed, ``image_filters*.png`` and ``thread_scaling*.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import rustconv


def _optional(name: str) -> Any:
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        return None


scipy_signal = _optional("scipy.signal")
scipy_ndimage = _optional("scipy.ndimage")
cv2 = _optional("cv2")
torch = _optional("torch")
# Imported on its own rather than only when torch is: without torch it is
# None just the same, and it keeps the plain ``Any`` of the other optional
# modules (every use sits behind a ``torch is not None`` check).
F = _optional("torch.nn.functional")

Fn = Callable[[], object]


def with_workers(fn: Callable[..., object], *args: Any, **kwargs: Any) -> Callable[[int], object]:
    """``fn(*args, **kwargs, workers=n)`` as a function of n, its arguments fixed now.

    Like ``functools.partial`` for the thread-scaling calls, whose ``workers``
    is a keyword: binds the case's arrays, not the loop's last ones.
    """

    def call(workers: int) -> object:
        return fn(*args, workers=workers, **kwargs)

    return call


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ConvCase:
    label: str
    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int]
    stride: int
    padding: int
    forward_target: float
    both_target: float


FULL_CONV = (
    ConvCase("deep 64ch 3x3", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1.0, 1.0),
    ConvCase("deep 256ch 3x3", (8, 256, 14, 14), (256, 256, 3, 3), 1, 1, 1.0, 1.0),
    ConvCase("deep 128ch 1x1", (8, 128, 28, 28), (128, 128, 1, 1), 1, 0, 1.0, 1.0),
    ConvCase("first layer 7x7/2", (8, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1.0, 2.0),
    ConvCase("few channels 5x5", (32, 1, 28, 28), (32, 1, 5, 5), 1, 0, 2.0, 3.0),
)

SMOKE_CONV = (
    ConvCase("deep 64ch 3x3", (1, 8, 10, 10), (8, 8, 3, 3), 1, 1, 1.0, 1.0),
    ConvCase("deep 256ch 3x3", (1, 16, 6, 6), (16, 16, 3, 3), 1, 1, 1.0, 1.0),
    ConvCase("deep 128ch 1x1", (1, 8, 7, 7), (8, 8, 1, 1), 1, 0, 1.0, 1.0),
    ConvCase("first layer 7x7/2", (1, 3, 24, 24), (8, 3, 7, 7), 2, 3, 1.0, 2.0),
    ConvCase("few channels 5x5", (4, 1, 12, 12), (4, 1, 5, 5), 1, 0, 2.0, 3.0),
)


@dataclass(frozen=True)
class Config:
    name: str
    description: str
    max_repeats: int  # rounds for the fast contenders, at most
    min_repeats: int
    budget: float  # seconds of rounds per case, which sets the repeats between the two bounds
    copy_mib: int  # size of each numpy.copyto array
    matmul_n: int
    conv: tuple[ConvCase, ...]
    image_sizes: tuple[int, ...]
    kernels: tuple[int, ...]
    # Rows of the image that the slow single-threaded direct references
    # (scipy.signal.convolve2d, scipy.ndimage.correlate) are timed on, once;
    # None = the whole image. Their time is scaled by the row ratio.
    strip_rows: dict[int, int | None]
    auto_size: int
    auto_kernels: tuple[int, ...]
    signal_len: int
    signal_kernels: tuple[int, ...]
    pool_shape: tuple[int, int, int, int]
    big_shape: tuple[int, int, int, int]  # larger than the last-level cache
    pad: int = 3
    suffix: str = ""
    # Seconds of pause before each timed call, so that no library's worker
    # threads are still spinning from the previous call: torch's OpenMP
    # threads keep polling for several milliseconds after each operation, and
    # on 2 cores they took a core from whichever contender ran next (pad and
    # pooling against torch moved by 1.5-2x with and without the pause).
    settle: float = 0.02


FULL = Config(
    name="full",
    description="full sizes; scipy.signal.convolve2d and scipy.ndimage.correlate timed once, "
    "on the whole 2048² image and on a 512-row strip of the 8192² image (scaled x16)",
    max_repeats=15,
    min_repeats=3,
    budget=4.0,
    copy_mib=256,
    matmul_n=2048,
    conv=FULL_CONV,
    image_sizes=(2048, 8192),
    kernels=(3, 7, 15, 31),
    strip_rows={2048: None, 8192: 512},
    auto_size=2048,
    auto_kernels=(15, 31),
    signal_len=1_000_000,
    signal_kernels=(101, 4001),
    pool_shape=(8, 64, 112, 112),
    big_shape=(16, 64, 224, 224),
)

QUICK = Config(
    name="quick",
    description="QUICK: 4096² images instead of 8192², other sizes full, 3-5 repeats; "
    "scipy.signal.convolve2d and scipy.ndimage.correlate timed once on a strip of 128 rows "
    "(at least 4 kernel heights) and scaled to the whole image",
    max_repeats=5,
    min_repeats=3,
    budget=1.0,
    copy_mib=256,
    matmul_n=2048,
    conv=FULL_CONV,
    image_sizes=(2048, 4096),
    kernels=(3, 7, 15, 31),
    strip_rows={2048: 128, 4096: 128},
    auto_size=2048,
    auto_kernels=(15, 31),
    signal_len=1_000_000,
    signal_kernels=(101, 4001),
    pool_shape=(8, 64, 112, 112),
    big_shape=(16, 64, 224, 224),
    suffix="-quick",
)

SMOKE = Config(
    name="smoke",
    description="SMOKE TEST: tiny sizes that fit in cache, one or two repeats; the figures mean nothing",
    max_repeats=2,
    min_repeats=1,
    budget=0.02,
    copy_mib=8,
    matmul_n=256,
    conv=SMOKE_CONV,
    image_sizes=(64, 96),
    kernels=(3, 7, 15, 31),
    strip_rows={64: None, 96: 48},
    auto_size=64,
    auto_kernels=(15, 31),
    signal_len=20_000,
    signal_kernels=(101, 4001),
    pool_shape=(1, 4, 16, 16),
    big_shape=(2, 4, 32, 32),
    suffix="-smoke",
    settle=0.0,
)


# --------------------------------------------------------------------------- timing


def timed(fn: Fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(cfg: Config, fast: dict[str, Fn], slow: dict[str, Fn] | None = None) -> dict[str, float]:
    """Median seconds per call of each fast contender, taking turns round by round.

    Each fast contender is called once first (thread pools, page faults,
    caches); that call also sets how many rounds fit in the budget. The slow
    contenders (single-threaded direct loops taking seconds) are called once,
    in the middle of the rounds, without a warm-up.
    """
    per_round = sum(timed(fn) for fn in fast.values())
    # A round longer than the whole budget (an 8192² image with a 31x31
    # kernel, say) is timed once after its warm-up; the row says so.
    floor = 1 if per_round > cfg.budget else cfg.min_repeats
    rounds = max(floor, min(cfg.max_repeats, int(cfg.budget / max(per_round, 1e-9))))
    times: dict[str, list[float]] = {name: [] for name in fast}
    result: dict[str, float] = {}
    for r in range(rounds):
        for name, fn in fast.items():
            time.sleep(cfg.settle)
            times[name].append(timed(fn))
        if slow and r == rounds // 2:
            for name, fn in slow.items():
                result[name] = timed(fn)
    result.update({name: statistics.median(t) for name, t in times.items()})
    result["rounds"] = rounds
    return result


def rel_err(ours: Any, ref: Any) -> float:
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(b)), 1e-300))


# --------------------------------------------------------------------------- the machine


@dataclass
class Machine:
    cpu: str
    cores: int
    l3: str
    simd: str
    profile: str
    clock_ghz: float
    clock_source: str
    flop_per_cycle: int
    copy_rate: float = 0.0  # bytes read + written per second
    copy_how: str = ""
    matmul: float = 0.0  # FLOP/s
    matmul_how: str = ""

    @property
    def peak(self) -> float:
        return self.flop_per_cycle * self.clock_ghz * 1e9 * self.cores


# float32 FLOP per cycle per core: lanes x 2 (multiply-add) x FMA units. Zen 2-4
# and most Intel cores have two 256-bit FMA pipes; AVX-512 parts with two
# 512-bit FMA units give 64 (32 on single-FMA parts). Without SIMD the
# baseline SSE2 path has 4 lanes and separate multiply and add units.
FLOP_PER_CYCLE = {"avx512f": 64, "avx2+fma": 32, "scalar": 8}


def rustconv_config() -> dict[str, str]:
    """The fields ``rustconv.show_config()`` prints (its public report)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rustconv.show_config()
    out: dict[str, str] = {}
    for line in buf.getvalue().splitlines()[1:]:
        key, _, value = line.strip().partition(":")
        out[key.strip()] = value.strip()
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def clock() -> tuple[float, str]:
    """The core clock in GHz and where it came from."""
    cpufreq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    try:
        return int(cpufreq.read_text()) / 1e6, "cpufreq's cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    try:
        mhz = [
            float(line.split(":", 1)[1])
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("cpu MHz")
        ]
        if mhz:
            return max(mhz) / 1e3, "/proc/cpuinfo's 'cpu MHz' (the nominal clock under a hypervisor)"
    except (OSError, ValueError):
        pass
    return 3.0, "assumed (no clock information found)"


def l3_size() -> str:
    try:
        return Path("/sys/devices/system/cpu/cpu0/cache/index3/size").read_text().strip()
    except OSError:
        return "unknown"


def machine(cfg: Config) -> Machine:
    config = rustconv_config()
    simd = config.get("simd", "scalar")
    ghz, source = clock()
    m = Machine(
        cpu=cpu_model(),
        cores=os.cpu_count() or 1,
        l3=l3_size(),
        simd=simd,
        profile=config.get("profile", "unknown"),
        clock_ghz=ghz,
        clock_source=source,
        flop_per_cycle=FLOP_PER_CYCLE.get(simd, 8),
    )
    src = np.ones(cfg.copy_mib * 2**20 // 8)
    dst = np.empty_like(src)
    t = measure(cfg, {"copy": lambda: np.copyto(dst, src)})["copy"]
    m.copy_rate = 2 * src.nbytes / t
    m.copy_how = f"numpy.copyto between two {cfg.copy_mib} MiB float64 arrays, bytes read + written"
    n = cfg.matmul_n
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    t = measure(cfg, {"matmul": lambda: a @ b})["matmul"]
    m.matmul = 2.0 * n**3 / t
    m.matmul_how = f"numpy float32 {n}x{n} @ {n}x{n}, all cores"
    return m


def versions() -> str:
    parts = [
        f"Python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"rustconv {rustconv.__version__}",
    ]
    scipy = _optional("scipy")
    for name, mod in (
        ("scipy", scipy),
        ("opencv", cv2),
        ("torch", torch),
        ("matplotlib", _optional("matplotlib")),
    ):
        parts.append(f"{name} {mod.__version__}" if mod is not None else f"{name} not installed")
    return ", ".join(parts)


# --------------------------------------------------------------------------- rows


@dataclass
class Row:
    workload: str
    size: str
    ours: float  # seconds
    work: float  # FLOP or bytes
    unit: str  # "GFLOP/s" or "GB/s"
    other: str  # the other library (or "—")
    theirs: float | None = None
    target: str = ""
    # "ratio": met when theirs / ours >= threshold; "copy": when the rate is
    # at least threshold x the copy rate; "": no target.
    kind: str = ""
    threshold: float = 0.0
    note: str = ""
    # The work is counted as a direct method's (2·k² FLOP per pixel) while
    # rustconv may run an FFT: the rate is then no fraction of a ceiling.
    equivalent: bool = False

    def rate(self, seconds: float) -> float:
        return self.work / seconds / 1e9

    def ratio(self) -> float | None:
        return None if self.theirs is None else self.theirs / self.ours

    def verdict(self, m: Machine) -> str:
        if self.kind == "ratio":
            r = self.ratio()
            if r is None:
                return f"skipped ({self.other} not installed)"
            return "met" if r >= self.threshold else "**missed**"
        if self.kind == "copy":
            return "met" if self.work / self.ours >= self.threshold * m.copy_rate else "**missed**"
        return ""


@dataclass
class Scaling:
    case: str
    one: float
    many: float
    threads: int

    @property
    def speedup(self) -> float:
        return self.one / self.many


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    scaling: list[Scaling] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # (size, kernel) -> library -> GFLOP/s, for the image-filter plot.
    filters: dict[tuple[int, int], dict[str, float]] = field(default_factory=dict)

    def check(self, what: str, err: float, tol: float) -> None:
        if not err <= tol:
            self.notes.append(f"MISMATCH: {what}: relative error {err:.1e} > {tol:.0e}")


def ms(seconds: float) -> str:
    """Milliseconds for the tables: two decimals, or three significant
    digits below 0.1 ms (a tiny --smoke call must not print as 0.00)."""
    value = seconds * 1e3
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3g}"


def shape_str(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:.0f} MiB"


# --------------------------------------------------------------------------- workloads


def conv_rows(cfg: Config, res: Results) -> None:
    rng = np.random.default_rng(1)
    for case in cfg.conv:
        x = rng.standard_normal(case.x_shape, dtype=np.float32)
        w = (rng.standard_normal(case.w_shape, dtype=np.float32) * 0.1).astype(np.float32)
        b = rng.standard_normal(case.w_shape[0], dtype=np.float32)
        s, p = case.stride, case.padding
        y = rustconv.conv2d(x, w, b, s, p)
        g = rng.standard_normal(y.shape, dtype=np.float32)
        n, c_out, oh, ow = y.shape
        flops = 2.0 * n * c_out * oh * ow * case.w_shape[1] * case.w_shape[2] * case.w_shape[3]

        def ours_fwd(x: Any = x, w: Any = w, b: Any = b, s: int = s, p: int = p) -> object:
            return rustconv.conv2d(x, w, b, s, p)

        def ours_both(x: Any = x, w: Any = w, b: Any = b, g: Any = g, s: int = s, p: int = p) -> object:
            rustconv.conv2d(x, w, b, s, p)
            return rustconv.conv2d_backward(g, x, w, s, p)

        fwd: dict[str, Fn] = {"rustconv": ours_fwd}
        both: dict[str, Fn] = {"rustconv": ours_both}
        if torch is not None:
            tx, tw, tb, tg = (torch.from_numpy(a) for a in (x, w, b, g))

            def torch_fwd(tx: Any = tx, tw: Any = tw, tb: Any = tb, s: int = s, p: int = p) -> object:
                with torch.no_grad():
                    return F.conv2d(tx, tw, tb, s, p)

            def torch_both(
                tx: Any = tx, tw: Any = tw, tb: Any = tb, tg: Any = tg, s: int = s, p: int = p
            ) -> object:
                xr, wr, br = (t.detach().requires_grad_(True) for t in (tx, tw, tb))
                F.conv2d(xr, wr, br, s, p).backward(tg)
                return xr.grad, wr.grad, br.grad

            fwd["torch"] = torch_fwd
            both["torch"] = torch_both
            res.check(f"conv2d {case.label} vs torch", rel_err(y, torch_fwd()), 1e-4)
        size = f"{shape_str(case.x_shape)}→{case.w_shape[0]}"
        # Winograd does fewer multiplications than the direct sum the rate
        # counts, so these rates may exceed the peak.
        winograd_note = (
            "rustconv runs 3x3 stride 1 as Winograd F(2x2, 3x3): rates are direct-equivalent"
            if case.w_shape[2:] == (3, 3) and s == 1
            else ""
        )
        for label, contenders, work, target in (
            ("forward", fwd, flops, case.forward_target),
            ("fwd+bwd", both, 3 * flops, case.both_target),
        ):
            t = measure(cfg, contenders)
            res.rows.append(
                Row(
                    f"conv2d {case.label} {label}",
                    size,
                    t["rustconv"],
                    work,
                    "GFLOP/s",
                    "torch",
                    t.get("torch"),
                    f"≥ {target:g}x torch",
                    "ratio",
                    target,
                    note=winograd_note,
                )
            )
        if case is cfg.conv[0]:
            scale(
                cfg,
                res,
                f"conv2d {case.label} forward {size}",
                with_workers(rustconv.conv2d, x, w, b, s, p),
            )

            def ours_both_on(
                workers: int, x: Any = x, w: Any = w, b: Any = b, g: Any = g, s: int = s, p: int = p
            ) -> object:
                return (
                    rustconv.conv2d(x, w, b, s, p, workers=workers),
                    rustconv.conv2d_backward(g, x, w, s, p, workers=workers),
                )

            scale(cfg, res, f"conv2d {case.label} fwd+bwd {size}", ours_both_on)


def rounds_note(t: dict[str, float]) -> str:
    n = int(t["rounds"])
    return "" if n >= 3 else f"{n} timed call{'s' if n > 1 else ''} after the warm-up"


def joined(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def strip_of(image: np.ndarray, rows: int | None, k: int) -> tuple[np.ndarray, float, str]:
    """The sub-image a slow reference is timed on, the factor to the whole image and a label."""
    if rows is None or rows >= image.shape[0]:
        return image, 1.0, "timed once"
    rows = min(image.shape[0], max(rows, 4 * k))
    factor = image.shape[0] / rows
    return image[:rows], factor, f"timed once on {rows} rows, x{factor:.1f}"


def image_rows(cfg: Config, res: Results) -> None:
    rng = np.random.default_rng(2)
    for size in cfg.image_sizes:
        image = rng.standard_normal((size, size), dtype=np.float32)
        for k in cfg.kernels:
            kernel = rng.standard_normal((k, k), dtype=np.float32)
            flops = 2.0 * size * size * k * k
            label = f"{size}² float32"
            strip, factor, how = strip_of(image, cfg.strip_rows.get(size), k)
            # Cross-checks on a corner, so they cost little at any size.
            crop = image[: min(size, 200), : min(size, 211)]
            ours_crop = rustconv.correlate2d(crop, kernel, "same")

            fast: dict[str, Fn] = {
                "rustconv": partial(rustconv.correlate2d, image, kernel, "same"),
            }
            if cv2 is not None:
                fast["cv2"] = partial(cv2.filter2D, image, -1, kernel, borderType=cv2.BORDER_CONSTANT)
                ref = cv2.filter2D(crop, -1, kernel, borderType=cv2.BORDER_CONSTANT)
                res.check(f"correlate2d {k}x{k} vs cv2.filter2D", rel_err(ours_crop, ref), 1e-4)
            slow: dict[str, Fn] = {}
            if scipy_ndimage is not None:
                slow["ndimage"] = partial(scipy_ndimage.correlate, strip, kernel, mode="constant")
                ref = scipy_ndimage.correlate(crop, kernel, mode="constant")
                res.check(f"correlate2d {k}x{k} vs scipy.ndimage.correlate", rel_err(ours_crop, ref), 1e-4)
            t = measure(cfg, fast, slow)
            res.rows.append(
                Row(
                    f"correlate2d 'same' {k}x{k}",
                    label,
                    t["rustconv"],
                    flops,
                    "GFLOP/s",
                    "cv2.filter2D",
                    t.get("cv2"),
                    f"≥ {1.0 if k <= 3 else 1.5:g}x cv2",
                    "ratio",
                    1.0 if k <= 3 else 1.5,
                    note=joined(
                        rounds_note(t),
                        "cv2 uses a DFT from 11x11: its rate is direct-equivalent" if k >= 11 else "",
                    ),
                )
            )
            if "ndimage" in t:
                res.rows.append(
                    Row(
                        f"correlate2d 'same' {k}x{k}",
                        label,
                        t["rustconv"],
                        flops,
                        "GFLOP/s",
                        "scipy.ndimage.correlate",
                        t["ndimage"] * factor,
                        note=f"scipy.ndimage {how}",
                    )
                )
            plot = res.filters.setdefault((size, k), {})
            plot["rustconv correlate2d"] = flops / t["rustconv"] / 1e9
            if "cv2" in t:
                plot["cv2.filter2D"] = flops / t["cv2"] / 1e9
            if "ndimage" in t:
                plot["scipy.ndimage.correlate"] = flops / (t["ndimage"] * factor) / 1e9

            fast = {"rustconv": partial(rustconv.convolve2d, image, kernel, "same")}
            slow = {}
            if scipy_signal is not None:
                slow["scipy"] = partial(scipy_signal.convolve2d, strip, kernel, "same")
                ref = scipy_signal.convolve2d(crop, kernel, "same")
                res.check(
                    f"convolve2d {k}x{k} vs scipy.signal",
                    rel_err(rustconv.convolve2d(crop, kernel, "same"), ref),
                    2e-5,
                )
            t = measure(cfg, fast, slow)
            res.rows.append(
                Row(
                    f"convolve2d 'same' {k}x{k}",
                    label,
                    t["rustconv"],
                    flops,
                    "GFLOP/s",
                    "scipy.signal.convolve2d",
                    None if "scipy" not in t else t["scipy"] * factor,
                    "≥ 50x scipy",
                    "ratio",
                    50.0,
                    note=joined(rounds_note(t), f"scipy {how}" if "scipy" in t else ""),
                )
            )
            if "scipy" in t:
                plot["scipy.signal.convolve2d"] = flops / (t["scipy"] * factor) / 1e9
            if size == cfg.image_sizes[-1] and k in (7, 15):
                scale(
                    cfg,
                    res,
                    f"correlate2d 'same' {k}x{k} {label}",
                    with_workers(rustconv.correlate2d, image, kernel, "same"),
                )


def auto_rows(cfg: Config, res: Results) -> None:
    rng = np.random.default_rng(3)
    size = cfg.auto_size
    image = rng.standard_normal((size, size), dtype=np.float32)
    for k in cfg.auto_kernels:
        kernel = rng.standard_normal((k, k), dtype=np.float32)
        fast: dict[str, Fn] = {"rustconv": partial(rustconv.convolve, image, kernel, "same")}
        if scipy_signal is not None:
            fast["scipy"] = partial(scipy_signal.convolve, image, kernel, "same")
            res.check(
                f"convolve auto 2-D {k}x{k} vs scipy.signal",
                rel_err(fast["rustconv"](), fast["scipy"]()),
                2e-5,
            )
        t = measure(cfg, fast)
        res.rows.append(
            Row(
                f"convolve auto 2-D {k}x{k}",
                f"{size}² float32 'same'",
                t["rustconv"],
                2.0 * size * size * k * k,
                "GFLOP/s",
                "scipy.signal.convolve",
                t.get("scipy"),
                "≥ 3x scipy",
                "ratio",
                3.0,
                note="rates are direct-equivalent (2·k² FLOP per pixel)",
                equivalent=True,
            )
        )
        if k == cfg.auto_kernels[-1]:
            scale(
                cfg,
                res,
                f"convolve auto 2-D {k}x{k} {size}²",
                with_workers(rustconv.convolve, image, kernel, "same"),
            )
    n = cfg.signal_len
    signal = rng.standard_normal(n, dtype=np.float32)
    for k in cfg.signal_kernels:
        taps = rng.standard_normal(k, dtype=np.float32)
        fast = {"rustconv": partial(rustconv.convolve, signal, taps)}
        slow: dict[str, Fn] = {"numpy": partial(np.convolve, signal, taps)}
        if scipy_signal is not None:
            fast["scipy"] = partial(scipy_signal.convolve, signal, taps)
        head = signal[: 4 * k + 1000].astype(np.float64)
        res.check(
            f"convolve auto 1-D x{k} vs numpy.convolve",
            rel_err(rustconv.convolve(signal[: head.size], taps), np.convolve(head, taps.astype(np.float64))),
            2e-5,
        )
        t = measure(cfg, fast, slow)
        flops = 2.0 * n * k
        res.rows.append(
            Row(
                f"convolve auto 1-D x{k}",
                f"{n:,} float32 'full'",
                t["rustconv"],
                flops,
                "GFLOP/s",
                "scipy.signal.convolve",
                t.get("scipy"),
                "≥ 4x scipy",
                "ratio",
                4.0,
                note="rates are direct-equivalent",
                equivalent=True,
            )
        )
        res.rows.append(
            Row(
                f"convolve auto 1-D x{k}",
                f"{n:,} float32 'full'",
                t["rustconv"],
                flops,
                "GFLOP/s",
                "numpy.convolve",
                t["numpy"],
                note="numpy timed once",
                equivalent=True,
            )
        )
        if k == cfg.signal_kernels[-1]:
            scale(
                cfg,
                res,
                f"convolve auto 1-D {n:,} x{k}",
                with_workers(rustconv.convolve, signal, taps),
            )


# (label, rustconv call, torch call, target ratio)
POOLS: tuple[tuple[str, Callable[..., Any], Callable[[Any], Any], float], ...] = (
    (
        "max_pool2d(3, 2, 1)",
        lambda x, **kw: rustconv.max_pool2d(x, 3, 2, 1, **kw),
        lambda t: F.max_pool2d(t, 3, 2, 1),
        10.0,
    ),
    (
        "avg_pool2d(2, 2)",
        lambda x, **kw: rustconv.avg_pool2d(x, 2, 2, **kw),
        lambda t: F.avg_pool2d(t, 2, 2),
        4.0,
    ),
    (
        "lp_pool2d(2, 2, 2)",
        lambda x, **kw: rustconv.lp_pool2d(x, 2, 2, 2, **kw),
        lambda t: F.lp_pool2d(t, 2, 2, 2),
        4.0,
    ),
)


def pool_rows(cfg: Config, res: Results) -> None:
    rng = np.random.default_rng(4)
    for shape, big in ((cfg.pool_shape, False), (cfg.big_shape, True)):
        # Non-negative, where torch's lp_pool2d is the plain Lp norm.
        x = rng.random(shape, dtype=np.float32)
        tx = torch.from_numpy(x) if torch is not None else None
        for label, ours, theirs, target in POOLS:
            out = ours(x)
            fast: dict[str, Fn] = {"rustconv": partial(ours, x)}
            if tx is not None:
                fast["torch"] = partial(theirs, tx)
                res.check(f"{label} vs torch", rel_err(out, theirs(tx).numpy()), 1e-5)
            t = measure(cfg, fast)
            moved = x.nbytes + out.nbytes
            size = f"{shape_str(shape)} float32, {mib(moved)} moved"
            if big:
                res.rows.append(
                    Row(
                        f"{label} out of cache",
                        size,
                        t["rustconv"],
                        moved,
                        "GB/s",
                        "torch",
                        t.get("torch"),
                        "≥ 70% of copy",
                        "copy",
                        0.7,
                    )
                )
                scale(
                    cfg,
                    res,
                    f"{label} {shape_str(shape)}",
                    with_workers(ours, x),
                )
            else:
                res.rows.append(
                    Row(
                        label,
                        size,
                        t["rustconv"],
                        moved,
                        "GB/s",
                        "torch",
                        t.get("torch"),
                        f"≥ {target:g}x torch",
                        "ratio",
                        target,
                    )
                )


def pad_rows(cfg: Config, res: Results) -> None:
    rng = np.random.default_rng(5)
    for shape, big in ((cfg.pool_shape, False), (cfg.big_shape, True)):
        pad_case(cfg, res, rng.standard_normal(shape, dtype=np.float32), big)


def pad_case(cfg: Config, res: Results, x: np.ndarray, big: bool) -> None:
    p = cfg.pad
    width = ((0, 0), (0, 0), (p, p), (p, p))
    out = rustconv.pad(x, width, mode="reflect")
    res.check("pad reflect vs numpy.pad", rel_err(out, np.pad(x, width, mode="reflect")), 0.0)
    fast: dict[str, Fn] = {"rustconv": lambda: rustconv.pad(x, width, mode="reflect")}
    if torch is not None:
        tx = torch.from_numpy(x)
        fast["torch"] = lambda: F.pad(tx, (p, p, p, p), mode="reflect")
    fast["numpy"] = lambda: np.pad(x, width, mode="reflect")
    t = measure(cfg, fast)
    moved = x.nbytes + out.nbytes
    size = f"{shape_str(x.shape)} float32 by {p}, {mib(moved)} moved"
    name = "pad reflect out of cache" if big else "pad reflect"
    if big:
        row = Row(
            name, size, t["rustconv"], moved, "GB/s", "torch", t.get("torch"), "≥ 70% of copy", "copy", 0.7
        )
        scale(
            cfg,
            res,
            f"pad reflect {shape_str(x.shape)}",
            lambda workers: rustconv.pad(x, width, mode="reflect", workers=workers),
        )
    else:
        row = Row(
            name, size, t["rustconv"], moved, "GB/s", "torch", t.get("torch"), "≥ 1.2x torch", "ratio", 1.2
        )
    res.rows.append(row)
    res.rows.append(Row(name, size, t["rustconv"], moved, "GB/s", "numpy.pad", t["numpy"]))


def scale(cfg: Config, res: Results, case: str, fn: Callable[[int], object]) -> None:
    """rustconv on one thread against all cores, interleaved."""
    cores = os.cpu_count() or 1
    if cores < 2:
        return
    t = measure(cfg, {"one": lambda: fn(1), "all": lambda: fn(cores)})
    res.scaling.append(Scaling(case, t["one"], t["all"], cores))


# --------------------------------------------------------------------------- report


def ceiling_text(row: Row, seconds: float, m: Machine) -> str:
    rate = row.work / seconds
    if row.equivalent:
        return "— (direct-equivalent rate)"
    if row.unit == "GB/s":
        return f"{rate / m.copy_rate:.0%} of copy"
    return f"{rate / m.peak:.0%} of peak, {rate / m.matmul:.0%} of matmul"


def report(cfg: Config, m: Machine, res: Results, load_before: tuple[float, ...], elapsed: float) -> str:
    load_after = os.getloadavg()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# rustconv benchmark suite — {cfg.name} run",
        "",
        f"- Date: {now}; run time {elapsed / 60:.1f} min; mode: **{cfg.name}** ({cfg.description}).",
        f"- Machine: {m.cpu}, {m.cores} cores, L3 {m.l3}; SIMD level {m.simd} (rustconv.show_config()), "
        f"rustconv build profile {m.profile}.",
        f"- Load average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in load_before)}; "
        f"after: {', '.join(f'{v:.2f}' for v in load_after)}.",
        f"- Versions: {versions()}.",
        f"- Threads: rustconv, torch and OpenCV on all {m.cores} cores; scipy.signal, scipy.ndimage and "
        "numpy.convolve single-threaded (as they are); numpy matmul on its BLAS threads.",
        "- Method: every contender called once to warm up, then the fast ones take turns call by call, "
        f"each timed call after a {cfg.settle * 1000:.0f} ms pause (so no library's threads are still "
        "spinning from the previous call); medians. Ratio = the other library's time / rustconv's (above 1: rustconv is faster).",
        *(
            [
                f"- **The machine was busy** (load average {load_before[0]:.1f} on {m.cores} cores before "
                "the run): other processes took CPU time, so absolute rates are low, the ratios move "
                "between runs and thread scaling cannot show.",
            ]
            if max(load_before[0], load_after[0]) > 0.75 * m.cores
            else []
        ),
        "",
        "## Ceilings, measured in this run",
        "",
        "| ceiling | value | how |",
        "|---|---:|---|",
        f"| memory copy rate | {m.copy_rate / 1e9:.3g} GB/s | {m.copy_how} |",
        f"| float32 matmul | {m.matmul / 1e9:.3g} GFLOP/s | {m.matmul_how} |",
        f"| float32 peak | {m.peak / 1e9:.3g} GFLOP/s | {m.flop_per_cycle} FLOP/cycle/core for {m.simd} "
        f"x {m.clock_ghz:.2f} GHz ({m.clock_source}) x {m.cores} cores |",
        "",
        "## Workloads (float32, all cores)",
        "",
        "| workload | size | rustconv ms | rustconv rate | of ceiling | other library | other ms | other rate "
        "| ratio | target | result | note |",
        "|---|---|---:|---:|---|---|---:|---:|---:|---|---|---|",
    ]
    met = missed = 0
    missed_names: list[str] = []
    for row in res.rows:
        verdict = row.verdict(m)
        if verdict == "met":
            met += 1
        elif "missed" in verdict:
            missed += 1
            missed_names.append(f"{row.workload} ({row.size}) vs {row.other}")
        ratio = row.ratio()
        theirs = "—" if row.theirs is None else ms(row.theirs)
        their_rate = "—" if row.theirs is None else f"{row.rate(row.theirs):.1f} {row.unit}"
        other = row.other if row.theirs is not None or row.kind else f"{row.other} (absent)"
        lines.append(
            f"| {row.workload} | {row.size} | {ms(row.ours)} | {row.rate(row.ours):.1f} {row.unit} "
            f"| {ceiling_text(row, row.ours, m)} | {other} | {theirs} | {their_rate} "
            f"| {'—' if ratio is None else f'{ratio:.2f}x'} | {row.target} | {verdict} | {row.note} |"
        )
    lines += [
        "",
        "## Thread scaling (rustconv, 1 thread → all cores, interleaved)",
        "",
        "| case | 1 thread ms | all cores ms | speedup | target | result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for s in res.scaling:
        ok = s.speedup >= 1.7
        met, missed = met + ok, missed + (not ok)
        if not ok:
            missed_names.append(f"thread scaling of {s.case}")
        lines.append(
            f"| {s.case} | {ms(s.one)} | {ms(s.many)} | {s.speedup:.2f}x | ≥ 1.7x "
            f"| {'met' if ok else '**missed**'} |"
        )
    if not res.scaling:
        lines.append("| (one core only: no scaling measured) | | | | | |")
    lines += ["", "## Summary", "", f"{met} targets met, {missed} missed."]
    if missed_names:
        lines.append("Missed: " + "; ".join(missed_names) + ".")
    if res.notes:
        lines += ["", "Cross-checks that failed:", *[f"- {n}" for n in res.notes]]
    else:
        lines += ["", "Every cross-check against the other libraries' results passed."]
    return "\n".join(lines) + "\n"


def plots(cfg: Config, m: Machine, res: Results, out: Path) -> list[str]:
    """The two figures; an empty list when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    names = []
    sizes = sorted({size for size, _ in res.filters})
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        kernels = sorted(k for s, k in res.filters if s == size)
        libraries = sorted({lib for (s, _), libs in res.filters.items() if s == size for lib in libs})
        for lib in libraries:
            ys = [res.filters[(size, k)].get(lib, np.nan) for k in kernels]
            ax.plot(kernels, ys, marker="o", label=lib)
        ax.axhline(m.peak / 1e9, color="k", linestyle="--", label=f"float32 peak ({m.simd})")
        ax.axhline(m.matmul / 1e9, color="gray", linestyle=":", label="numpy matmul")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(kernels, [f"{k}x{k}" for k in kernels])
        ax.set_xlabel("kernel size")
        ax.set_ylabel("GFLOP/s (direct-equivalent)")
        ax.set_title(f"'same' filter on a {size}² float32 image")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"rustconv {cfg.name} run — {m.cpu}, {m.cores} cores")
    fig.tight_layout()
    name = f"image_filters{cfg.suffix}.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    names.append(name)

    if res.scaling:
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(res.scaling) + 1.5))
        cases = [s.case for s in res.scaling]
        ax.barh(cases, [s.speedup for s in res.scaling], color="tab:blue")
        ax.axvline(1.7, color="tab:red", linestyle="--", label="target 1.7x")
        ax.axvline(res.scaling[0].threads, color="k", linestyle=":", label="ideal")
        ax.invert_yaxis()
        ax.set_xlabel(f"speedup, 1 → {res.scaling[0].threads} threads")
        ax.legend(fontsize=8)
        ax.set_title(f"rustconv thread scaling ({cfg.name} run)")
        fig.tight_layout()
        name = f"thread_scaling{cfg.suffix}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        names.append(name)
    return names


# The suite's groups of rows, in the order they run (``--only`` picks some).
GROUPS: dict[str, Callable[[Config, Results], None]] = {
    "conv": conv_rows,
    "image": image_rows,
    "auto": auto_rows,
    "pool": pool_rows,
    "pad": pad_rows,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--quick", action="store_true", help="a few minutes: fewer repeats, extrapolated references"
    )
    group.add_argument(
        "--smoke", action="store_true", help="seconds: tiny sizes, checks that the script runs"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "perf")
    parser.add_argument("--no-plots", action="store_true", help="write the table only")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated groups to run, of " + ", ".join(GROUPS) + " (default: all); "
        "a partial run writes results<suffix>-<groups>.md and no plots",
    )
    args = parser.parse_args(argv)
    cfg = SMOKE if args.smoke else QUICK if args.quick else FULL
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in only if name not in GROUPS]
    if unknown:
        parser.error(f"--only: unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    steps = [GROUPS[name] for name in GROUPS if not only or name in only]
    args.out.mkdir(parents=True, exist_ok=True)

    load_before = os.getloadavg()
    start = time.perf_counter()
    cores = os.cpu_count() or 1
    rustconv.set_num_threads(0)
    if torch is not None:
        torch.set_num_threads(cores)
    if cv2 is not None:
        cv2.setNumThreads(cores)
    m = machine(cfg)
    res = Results()
    for step in steps:
        print(f"[{time.perf_counter() - start:6.1f} s] {step.__name__}", file=sys.stderr, flush=True)
        step(cfg, res)
    text = report(cfg, m, res, load_before, time.perf_counter() - start)
    if not args.no_plots and not only:
        figures = plots(cfg, m, res, args.out)
        if figures:
            text += "\n" + "\n".join(f"![{name}]({name})" for name in figures) + "\n"
        else:
            text += "\n(matplotlib is not installed: no plots.)\n"
    partial = "-" + "-".join(name for name in GROUPS if name in only) if only else ""
    path = args.out / f"results{cfg.suffix}{partial}.md"
    path.write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
