"""rustconv.dask against rustconv's in-memory functions.

Every comparison is bitwise (same dtype, same shape, same bytes): each chunk
runs the same in-memory kernel on the same data as the whole-array call, and
rustconv's kernels give the same bits for every thread count and array
shape. The one exception is ``method='fft'``, whose rounding depends on the
transform size and is compared with a tolerance. Chunkings are drawn from a
seeded generator: uneven chunks, chunks of size 1 and single chunks.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import rustconv  # noqa: E402
import rustconv.dask as rd  # noqa: E402


def random_chunks(rng: np.random.Generator, n: int, ones: bool = True) -> tuple[int, ...]:
    """A random split of ``n``: all ones, one chunk, or uneven pieces (which
    may hold ones too)."""
    if n == 0:
        return (0,)
    kind = rng.integers(4)
    if kind == 0 and ones:
        return (1,) * n
    if kind == 1:
        return (n,)
    sizes = []
    left = n
    while left:
        size = int(min(left, rng.integers(1, max(2, n // 2 + 2))))
        sizes.append(size)
        left -= size
    return tuple(sizes)


def chunked(rng: np.random.Generator, x: np.ndarray) -> Any:
    """``x`` in random chunks, at most about 300 of them (the scheduler's
    overhead per task dominates the tests' time)."""
    chunks = [random_chunks(rng, n) for n in x.shape]
    while np.prod([len(c) for c in chunks]) > 300:
        axis = int(np.argmax([len(c) for c in chunks]))
        chunks[axis] = random_chunks(rng, x.shape[axis], ones=False)
        if len(chunks[axis]) > 4:
            chunks[axis] = (x.shape[axis] // 2, x.shape[axis] - x.shape[axis] // 2)
    return da.from_array(x, chunks=tuple(chunks))


def assert_same_bits(out: Any, ref: np.ndarray) -> None:
    assert isinstance(out, da.Array)
    assert out.dtype == ref.dtype, (out.dtype, ref.dtype)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    got = np.asarray(out.compute())
    assert got.dtype == ref.dtype
    assert got.shape == ref.shape
    if got.tobytes() != np.ascontiguousarray(ref).tobytes():
        np.testing.assert_array_equal(got, ref)
        raise AssertionError("equal values but different bits (signed zeros or NaN payloads)")


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    return rng.integers(-50 if dtype.kind == "i" else 0, 50, shape).astype(dtype)


# --- import behaviour -------------------------------------------------------------


def test_import_rustconv_does_not_import_dask() -> None:
    code = "import sys, rustconv; sys.exit(any(m == 'dask' or m.startswith('dask.') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_missing_dask_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['dask'] = None\n"
        "sys.modules['dask.array'] = None\n"
        "try:\n"
        "    import rustconv.dask\n"
        "except ImportError as exc:\n"
        "    assert 'rustconv[dask]' in str(exc), str(exc)\n"
        "    import rustconv\n"
        "    assert rustconv.convolve([1, 2], [1]).tolist() == [1, 2]\n"
        "else:\n"
        "    raise SystemExit('imported without dask')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- the signal family -------------------------------------------------------------

DTYPE_PAIRS = [
    (np.float32, np.float32),
    (np.float64, np.float64),
    (np.int32, np.int32),
    (np.uint8, np.float32),
    (np.complex64, np.complex64),
]


@pytest.mark.parametrize("convolution", [False, True])
@pytest.mark.parametrize("mode", ["same", "valid", "full"])
def test_nd_matches_in_memory(convolution: bool, mode: str) -> None:
    rng = np.random.default_rng(10 + convolution + 2 * ["same", "valid", "full"].index(mode))
    dask_fn = rd.convolve if convolution else rd.correlate
    ref_fn = rustconv.convolve if convolution else rustconv.correlate
    for case in range(24):
        ndim = int(rng.integers(1, 4))
        kernel_shape = tuple(int(k) for k in rng.integers(1, 7, ndim))
        shape = tuple(int(k + rng.integers(0, 12)) for k in kernel_shape)
        dtype1, dtype2 = DTYPE_PAIRS[case % len(DTYPE_PAIRS)]
        x = random_array(rng, shape, dtype1)
        w = random_array(rng, kernel_shape, dtype2)
        out = dask_fn(chunked(rng, x), w, mode)
        assert_same_bits(out, ref_fn(x, w, mode, method="direct"))


@pytest.mark.parametrize("mode", ["same", "valid", "full"])
def test_nd_along_axes(mode: str) -> None:
    rng = np.random.default_rng(3)
    for _ in range(6):
        x = random_array(rng, (3, 13, 2, 9), np.float64)
        axes = tuple(int(a) for a in rng.choice(4, size=int(rng.integers(1, 3)), replace=False))
        kernel = random_array(rng, tuple(int(rng.integers(1, 5)) for _ in axes), np.float64)
        # The in-memory reference: the kernel with size-1 dimensions elsewhere.
        order = np.argsort(axes)
        shape = [1] * 4
        for i in order:
            shape[axes[i]] = kernel.shape[i]
        expanded = kernel.transpose(order).reshape(shape)
        for dask_fn, ref_fn in ((rd.correlate, rustconv.correlate), (rd.convolve, rustconv.convolve)):
            out = dask_fn(chunked(rng, x), kernel, mode, axes=axes)
            assert_same_bits(out, ref_fn(x, expanded, mode, method="direct"))


def test_nd_even_kernel_offsets() -> None:
    # The 'same' trap: correlate starts at k // 2, correlate2d at (k - 1) // 2.
    x = da.arange(1, 9, chunks=1)
    assert rd.correlate(x, [1, 2, 3, 4], "same").compute().tolist() == [11, 20, 30, 40, 50, 60, 70, 44]
    plane = x.reshape(1, 8)
    assert rd.correlate2d(plane, [[1, 2, 3, 4]], "same").compute().tolist() == [
        [20, 30, 40, 50, 60, 70, 44, 23]
    ]


def test_nd_fft_method_close() -> None:
    rng = np.random.default_rng(4)
    x = random_array(rng, (64, 50), np.float64)
    w = random_array(rng, (9, 8), np.float64)
    for mode in ("same", "valid", "full"):
        out = rd.convolve(chunked(rng, x), w, mode, method="fft").compute()
        np.testing.assert_allclose(out, rustconv.convolve(x, w, mode, method="direct"), atol=1e-10)


BOUNDARIES = ["fill", "pad", "wrap", "circular", "symm", "symmetric"]


@pytest.mark.parametrize("convolution", [False, True])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_2d_matches_in_memory(convolution: bool, boundary: str) -> None:
    rng = np.random.default_rng(20 + BOUNDARIES.index(boundary) + 10 * convolution)
    dask_fn = rd.convolve2d if convolution else rd.correlate2d
    ref_fn = rustconv.convolve2d if convolution else rustconv.correlate2d
    dtypes = [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.int64, np.int64),
        (np.uint8, np.float64),
    ]
    for case in range(24):
        mode = ["same", "valid", "full"][case % 3]
        kernel_shape = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        if mode == "valid":
            shape = tuple(int(k + rng.integers(0, 14)) for k in kernel_shape)
        else:
            # Planes shorter than the kernel too: the boundary pattern repeats.
            shape = (int(rng.integers(1, 20)), int(rng.integers(1, 20)))
        dtype1, dtype2 = dtypes[case % len(dtypes)]
        x = random_array(rng, shape, dtype1)
        w = random_array(rng, kernel_shape, dtype2)
        fill = [0, 2.5, -3][case % 3]
        out = dask_fn(chunked(rng, x), w, mode, boundary, fill)
        assert_same_bits(out, ref_fn(x, w, mode, boundary, fill))


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_2d_stack_along_axes(boundary: str) -> None:
    rng = np.random.default_rng(5)
    stack = random_array(rng, (11, 3, 17), np.float32)  # planes along axes 0 and 2
    w = random_array(rng, (4, 5), np.float32)
    for mode in ("same", "valid", "full"):
        out = rd.correlate2d(chunked(rng, stack), w, mode, boundary, 1.5, axes=(0, 2))
        ref = np.stack(
            [rustconv.correlate2d(stack[:, c, :], w, mode, boundary, 1.5) for c in range(3)], axis=1
        )
        assert_same_bits(out, ref)


def test_chunks_smaller_than_halo_are_merged() -> None:
    rng = np.random.default_rng(6)
    x = random_array(rng, (40, 37), np.float64)
    w = random_array(rng, (15, 14), np.float64)
    dx = da.from_array(x, chunks=(1, 3))
    for boundary in ("fill", "wrap", "symm"):
        out = rd.correlate2d(dx, w, "same", boundary)
        assert_same_bits(out, rustconv.correlate2d(x, w, "same", boundary))
        # Merged only as far as needed: every chunk holds the halo of 7 and the output keeps that grid.
        assert all(min(c) >= 7 for c in out.chunks)
        assert out.numblocks[0] > 1
        assert out.numblocks[1] > 1


def test_same_mode_output_keeps_the_chunks() -> None:
    dx = da.ones((30, 40), chunks=(10, (5, 15, 20)))
    out = rd.convolve2d(dx, np.ones((3, 3)), "same", "wrap")
    assert out.chunks == dx.chunks


def test_worker_counts_give_the_same_bits() -> None:
    rng = np.random.default_rng(7)
    x = random_array(rng, (64, 64), np.float32)
    w = random_array(rng, (7, 7), np.float32)
    dx = da.from_array(x, chunks=20)
    results = [rd.correlate2d(dx, w, "same", workers=n).compute() for n in (1, 2, None, -1)]
    for r in results[1:]:
        assert r.tobytes() == results[0].tobytes()


def test_signal_errors() -> None:
    dx = da.ones((8, 8), chunks=3)
    with pytest.raises(ValueError, match="mode must be"):
        rd.correlate2d(dx, np.ones((3, 3)), "middle")
    with pytest.raises(ValueError, match="boundary must be"):
        rd.correlate2d(dx, np.ones((3, 3)), "same", "mirror")
    with pytest.raises(ValueError, match="at least as large as the kernel"):
        rd.convolve(dx, np.ones((9, 2)), "valid")
    with pytest.raises(ValueError, match="same dimensionality"):
        rd.convolve(dx, np.ones(3), "same")
    with pytest.raises(ValueError, match="one dimension per entry of axes"):
        rd.convolve(dx, np.ones((3, 3)), "same", axes=0)
    with pytest.raises(ValueError, match="out of range"):
        rd.correlate(dx, np.ones(3), "same", axes=2)
    with pytest.raises(ValueError, match="must not repeat"):
        rd.correlate(dx, np.ones((3, 3)), "same", axes=(1, 1))
    with pytest.raises(ValueError, match="method must be"):
        rd.correlate(dx, np.ones((3, 3)), "same", "magic")
    with pytest.raises(ValueError, match="fillvalue"):
        rd.correlate2d(dx.astype(np.uint8), np.ones((3, 3), np.uint8), "same", fillvalue=1000)
    with pytest.raises(TypeError, match="workers"):
        rd.correlate(dx, np.ones((3, 3)), "same", workers=1.5)  # type: ignore[arg-type]
    # Still works afterwards.
    assert rd.correlate2d(dx, np.ones((3, 3)), "valid").compute().tolist() == [[9.0] * 6] * 6


def test_empty_arrays() -> None:
    w = np.ones((3, 2))
    empty = np.ones((0, 5))
    for mode in ("same", "full"):
        assert_same_bits(
            rd.correlate2d(da.from_array(empty, chunks=2), w, mode), rustconv.correlate2d(empty, w, mode)
        )
        assert_same_bits(
            rd.convolve(da.from_array(empty, chunks=2), w, mode),
            rustconv.convolve(empty, w, mode, method="direct"),
        )
    stack = np.ones((0, 6, 5))
    assert_same_bits(rd.max_pool2d(da.from_array(stack, chunks=2), 2), rustconv.max_pool2d(stack, 2))
    assert_same_bits(rd.pad(da.from_array(empty, chunks=2), 2), rustconv.pad(empty, 2))


# --- padding -----------------------------------------------------------------------

PAD_MODES = ["constant", "zeros", "edge", "replicate", "reflect", "symmetric", "wrap", "circular"]


@pytest.mark.parametrize("mode", PAD_MODES)
def test_pad_matches_in_memory(mode: str) -> None:
    rng = np.random.default_rng(30 + PAD_MODES.index(mode))
    for case in range(20):
        ndim = int(rng.integers(1, 4))
        shape = tuple(int(n) for n in rng.integers(1, 12, ndim))
        x = random_array(rng, shape, [np.float32, np.int16, np.complex128, bool][case % 4])
        widths = [(int(rng.integers(0, 15)), int(rng.integers(0, 15))) for _ in range(ndim)]
        constants: Any = 0
        if mode == "constant":
            constants = [(int(rng.integers(-5, 5)), int(rng.integers(-5, 5))) for _ in range(ndim)]
        out = rd.pad(chunked(rng, x), widths, mode, constant_values=constants)  # type: ignore[arg-type]
        assert_same_bits(out, rustconv.pad(x, widths, mode, constant_values=constants))  # type: ignore[arg-type]


def test_pad_forms_and_chunks() -> None:
    x = np.arange(24.0).reshape(4, 6)
    dx = da.from_array(x, chunks=(1, 2))
    assert_same_bits(rd.pad(dx, 1, "reflect"), rustconv.pad(x, 1, "reflect"))
    assert_same_bits(rd.pad(dx, (2, 0), "edge"), rustconv.pad(x, (2, 0), "edge"))
    assert_same_bits(rd.pad(dx, {1: 3}, "wrap"), rustconv.pad(x, {1: 3}, "wrap"))
    # Interior chunks pass through: only the edge chunks grow.
    out = rd.pad(dx, ((1, 2), (0, 0)), "constant", constant_values=7)
    assert out.chunks == ((2, 1, 1, 3), (2, 2, 2))


def test_pad_errors() -> None:
    dx = da.ones((4, 0), chunks=2)
    with pytest.raises(ValueError, match="not supported"):
        rd.pad(dx, 1, "median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        rd.pad(dx, -1)
    with pytest.raises(ValueError, match="cannot extend the empty axis"):
        rd.pad(dx, 1, "reflect")
    assert rd.pad(da.ones(3, chunks=1), 1).compute().tolist() == [0, 1, 1, 1, 0]


# --- pooling -------------------------------------------------------------------------


def random_window(rng: np.random.Generator, rank: int, dilate: bool) -> dict[str, Any]:
    kernel = tuple(int(k) for k in rng.integers(1, 5, rank))
    return {
        "kernel_size": kernel,
        "stride": tuple(int(s) for s in rng.integers(1, 5, rank)),
        "padding": tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel),
        "dilation": tuple(int(d) for d in rng.integers(1, 3 if dilate else 2, rank)),
        "ceil_mode": bool(rng.integers(2)),
    }


def pool_input(rng: np.random.Generator, rank: int, window: dict[str, Any], dtype: Any) -> np.ndarray:
    extent = [d * (k - 1) + 1 for k, d in zip(window["kernel_size"], window["dilation"])]
    spatial = [int(e + rng.integers(0, 14)) for e in extent]
    lead = [(2, 3), (3,)][int(rng.integers(2))]
    return random_array(rng, (*lead, *spatial), dtype)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("kind", ["max", "avg", "lp"])
def test_pool_matches_in_memory(rank: int, kind: str) -> None:
    rng = np.random.default_rng(40 + rank + 5 * ["max", "avg", "lp"].index(kind))
    dask_fn = getattr(rd, f"{kind}_pool{rank}d")
    ref_fn = getattr(rustconv, f"{kind}_pool{rank}d")
    for case in range(16 if rank < 3 else 8):
        window = random_window(rng, rank, dilate=kind == "max")
        x = pool_input(rng, rank, window, [np.float32, np.float64][case % 2])
        if kind == "max":
            if case % 4 == 0:
                x.reshape(-1)[rng.integers(x.size)] = np.nan  # NaN propagates in both
            args: tuple[Any, ...] = ()
            kwargs = window
        elif kind == "avg":
            args = ()
            kwargs = {k: v for k, v in window.items() if k != "dilation"}
            kwargs["count_include_pad"] = bool(rng.integers(2))
            kwargs["divisor_override"] = [None, 3][case % 2]
        else:
            args = (float(rng.choice([1.0, 2.0, 3.5])),)
            kwargs = {"kernel_size": window["kernel_size"], "stride": window["stride"]}
            kwargs["ceil_mode"] = window["ceil_mode"]
        try:
            ref = ref_fn(x, *args, **kwargs)
        except ValueError as exc:
            # An invalid geometry (a window larger than the padded input): the same error.
            with pytest.raises(ValueError, match=re.escape(str(exc).split(":")[0])):
                dask_fn(chunked(rng, x), *args, **kwargs)
            continue
        out = dask_fn(chunked(rng, x), *args, **kwargs)
        assert_same_bits(out, ref)


def test_pool_chunks_aligned_to_the_stride() -> None:
    x = np.random.default_rng(8).standard_normal((2, 1, 50, 47)).astype(np.float32)
    dx = da.from_array(x, chunks=(1, 1, 7, (1,) * 47))
    out = rd.max_pool2d(dx, 3, stride=2, padding=1)
    assert_same_bits(out, rustconv.max_pool2d(x, 3, stride=2, padding=1))
    assert out.numblocks[2] > 1
    assert out.numblocks[3] > 1
    # Average pooling with a stride larger than the kernel skips elements.
    out = rd.avg_pool2d(dx, 2, stride=5, ceil_mode=True)
    assert_same_bits(out, rustconv.avg_pool2d(x, 2, stride=5, ceil_mode=True))


def test_pool_more_leading_axes() -> None:
    x = np.random.default_rng(9).standard_normal((2, 3, 4, 20)).astype(np.float64)
    out = rd.max_pool1d(da.from_array(x, chunks=(1, 2, 3, 6)), 3, stride=2, padding=1)
    ref = rustconv.max_pool1d(x.reshape(24, 20), 3, stride=2, padding=1).reshape(2, 3, 4, -1)
    assert_same_bits(out, ref)


def test_pool_errors() -> None:
    dx = da.ones((1, 8, 8), chunks=3)
    with pytest.raises(TypeError, match="float32, float64"):
        rd.max_pool2d(dx.astype(np.int32), 2)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        rd.max_pool2d(da.ones((8, 8)), 2)
    with pytest.raises(ValueError, match="at most half the kernel size"):
        rd.max_pool2d(dx, 3, padding=2)
    with pytest.raises(ValueError, match="stride must be positive"):
        rd.avg_pool2d(dx, 2, stride=0)
    with pytest.raises(ValueError, match="larger than the padded input"):
        rd.lp_pool2d(dx, 2, 9)
    assert rd.avg_pool2d(dx, 2).compute().tolist() == [[[1.0] * 4] * 4]


# --- a cluster of worker processes ------------------------------------------------------------


@pytest.mark.timeout(60)
def test_distributed_local_cluster() -> None:
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(11)
    image = random_array(rng, (300, 257), np.float32)
    stack = random_array(rng, (3, 64, 70), np.float64)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        w = random_array(rng, (7, 6), np.float32)
        dimage = da.from_array(image, chunks=(70, 90))
        out = client.compute(rd.correlate2d(dimage, w, "same", "symm")).result()
        assert out.tobytes() == rustconv.correlate2d(image, w, "same", "symm").tobytes()
        pooled = client.compute(rd.max_pool2d(da.from_array(stack, chunks=(1, 20, 25)), 3, 2, 1)).result()
        assert pooled.tobytes() == rustconv.max_pool2d(stack, 3, 2, 1).tobytes()
        padded = client.compute(rd.pad(dimage, 5, "wrap")).result()
        assert padded.tobytes() == rustconv.pad(image, 5, "wrap").tobytes()
        # The tasks ran in both worker processes.
        assert len(client.scheduler_info()["workers"]) == 2
