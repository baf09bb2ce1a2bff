"""Concurrency: many Python threads at once, the interpreter lock released
during kernels, and rustconv used again in a forked child."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np
import pytest

import rustconv


def family_calls(seed: int) -> list[tuple[str, Callable[[int | None], Any]]]:
    """One call per family on inputs of its own, each taking ``workers``."""
    rng = np.random.default_rng(seed)
    s1, s2 = rng.standard_normal(3000), rng.standard_normal(31)
    i2, k2 = rng.standard_normal((90, 80)).astype(np.float32), rng.standard_normal((5, 5)).astype(np.float32)
    x = rng.standard_normal((2, 4, 24, 20))
    w = rng.standard_normal((6, 4, 3, 3))
    dy = rng.standard_normal((2, 6, 22, 18))
    wt = rng.standard_normal((4, 3, 3, 3))
    p, idx = rustconv.max_pool2d(x, 2, return_indices=True)
    g = rng.standard_normal(p.shape)
    return [
        ("convolve", lambda n: rustconv.convolve(s1, s2, method="direct", workers=n)),
        ("correlate2d", lambda n: rustconv.correlate2d(i2, k2, "same", "symm", workers=n)),
        ("fftconvolve", lambda n: rustconv.fftconvolve(i2, k2, workers=n)),
        ("oaconvolve", lambda n: rustconv.oaconvolve(s1, s2, workers=n)),
        ("conv2d", lambda n: rustconv.conv2d(x, w, padding=1, workers=n)),
        ("conv2d_backward", lambda n: rustconv.conv2d_backward(dy, x, w, workers=n)),
        ("conv_transpose2d", lambda n: rustconv.conv_transpose2d(x, wt, stride=2, workers=n)),
        ("pad", lambda n: rustconv.pad(x, 3, "reflect", workers=n)),
        (
            "pad_backward",
            lambda n: rustconv.pad_backward(x, [(0, 0), (0, 0), (2, 3), (1, 1)], "wrap", workers=n),
        ),
        ("max_pool2d", lambda n: rustconv.max_pool2d(x, 3, 2, 1, return_indices=True, workers=n)),
        ("max_pool2d_backward", lambda n: rustconv.max_pool2d_backward(g, idx, x.shape, workers=n)),
        ("avg_pool2d", lambda n: rustconv.avg_pool2d(x, 3, 2, 1, workers=n)),
        ("lp_pool2d", lambda n: rustconv.lp_pool2d(x, 2.0, 2, workers=n)),
        ("adaptive_avg_pool2d", lambda n: rustconv.adaptive_avg_pool2d(x, (5, 7), workers=n)),
        ("adaptive_max_pool2d", lambda n: rustconv.adaptive_max_pool2d(x, (5, 7), workers=n)),
    ]


def as_arrays(result: Any) -> list[np.ndarray]:
    return list(result) if isinstance(result, tuple) else [result]


def test_many_threads_at_once_get_correct_results() -> None:
    seeds = range(4)
    calls = {seed: family_calls(seed) for seed in seeds}
    # Expected results, computed one at a time on one thread; results do
    # not depend on the thread count, so every concurrent call must match
    # them bit for bit.
    expected = {(seed, name): as_arrays(call(1)) for seed in seeds for name, call in calls[seed]}
    jobs = [
        (seed, name, call, workers)
        for _ in range(3)
        for seed in seeds
        for name, call in calls[seed]
        for workers in (None, 1, 2, 3)
    ]
    np.random.default_rng(0).shuffle(jobs)  # type: ignore[arg-type]

    def run(job: tuple[int, str, Any, int | None]) -> tuple[int, str, int | None, list[np.ndarray]]:
        seed, name, call, workers = job
        return seed, name, workers, as_arrays(call(workers))

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(run, jobs))
    assert len(results) == len(jobs)
    for seed, name, workers, got in results:
        for a, b in zip(got, expected[(seed, name)]):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} (seed {seed}, workers={workers})")


def test_set_num_threads_while_other_threads_compute() -> None:
    calls = family_calls(9)
    expected = {name: as_arrays(call(1)) for name, call in calls}
    stop = threading.Event()

    def toggle() -> None:
        n = 0
        while not stop.is_set():
            rustconv.set_num_threads(n % 4)
            n += 1

    toggler = threading.Thread(target=toggle)
    toggler.start()
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda c: (c[0], as_arrays(c[1](None))), calls * 3))
    finally:
        stop.set()
        toggler.join()
        rustconv.set_num_threads(0)
    for name, got in results:
        for a, b in zip(got, expected[name]):
            np.testing.assert_array_equal(a, b, err_msg=name)


# ---------------------------------------------------------------- the interpreter lock


def long_kernels() -> list[tuple[str, Callable[[int], Callable[[], Any]]]]:
    """Kernels of a growing size factor s, one per family; the inputs are
    built outside the returned call, which is the kernel alone."""
    rng = np.random.default_rng(1)
    k15 = rng.standard_normal((15, 15)).astype(np.float32)
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)

    def bind(fn: Callable[..., Any], *args: Any, **kw: Any) -> Callable[[], Any]:
        return lambda: fn(*args, workers=1, **kw)

    return [
        ("convolve2d", lambda s: bind(rustconv.convolve2d, np.ones((128 * s, 256), np.float32), k15)),
        ("fftconvolve", lambda s: bind(rustconv.fftconvolve, np.ones((256 * s, 512)), np.ones((31, 31)))),
        ("conv2d", lambda s: bind(rustconv.conv2d, np.ones((s, 32, 64, 64), np.float32), w)),
        ("max_pool2d", lambda s: bind(rustconv.max_pool2d, np.ones((s, 32, 128, 128), np.float32), 5, 1)),
        (
            # 6 MiB of gradient per step of s: pad_backward runs near memory
            # speed, and (s, 512, 512) gave only 20 ms at the largest s.
            "pad",
            lambda s: bind(
                rustconv.pad_backward,
                np.ones((s, 1224, 1224), np.float32),
                [(0, 0), (100, 100), (100, 100)],
                "reflect",
            ),
        ),
    ]


@pytest.mark.parametrize(("name", "make"), long_kernels(), ids=[k[0] for k in long_kernels()])
def test_interpreter_lock_is_released_during_kernels(
    name: str, make: Callable[[int], Callable[[], Any]]
) -> None:
    # Grow the problem until one call takes about 0.3 s.
    scale, elapsed = 1, 0.0
    while scale < 128:  # memory-bound kernels stop at ~128 MiB inputs
        call = make(scale)
        start = time.perf_counter()
        call()
        elapsed = time.perf_counter() - start
        if elapsed >= 0.3:
            break
        scale *= 2 if elapsed > 0.08 else 4
    count = 0
    stop = False

    def spin() -> None:
        nonlocal count
        while not stop:
            count += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        time.sleep(0.02)
        before = count
        start = time.perf_counter()
        call()
        during = time.perf_counter() - start
        progressed = count - before
    finally:
        stop = True
        spinner.join()
    # Holding the lock, the spinning thread would be frozen for the whole
    # call (at most one switch interval, 5 ms, of progress); released, it
    # runs freely: tens of thousands of iterations per 20 ms even on a
    # loaded machine. (Memory-bound kernels stop growing at ~128 MiB inputs,
    # so on a fast machine they may take only a few tens of ms.)
    assert during > 0.02, f"{name}: the kernel was too short to tell ({during:.3f} s)"
    assert progressed > 2000, f"{name}: another thread made {progressed} iterations in {during:.3f} s"


# ---------------------------------------------------------------- fork

FORK_SCRIPT = textwrap.dedent(
    """
    import multiprocessing, os, sys, time
    import numpy as np
    import rustconv

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 40, 40)).astype(np.float32)
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    s = rng.standard_normal(5000)

    def work(workers):
        return (
            rustconv.conv2d(x, w, padding=1, workers=workers),
            rustconv.fftconvolve(s, s[:300], workers=workers),
            rustconv.max_pool2d(x, 2, workers=workers),
            rustconv.pad(x, 2, "wrap", workers=workers),
        )

    # Start pools of several sizes in the parent.
    want = [work(n) for n in (None, 1, 2, 3)][0]

    def same(got):
        return all(np.array_equal(a, b) for a, b in zip(got, want))

    pid = os.fork()
    if pid == 0:
        ok = all(same(work(n)) for n in (None, 1, 2, 3))
        os._exit(0 if ok else 3)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, 9)
        print("os.fork child deadlocked", flush=True)
        sys.exit(1)
    if os.waitstatus_to_exitcode(status) != 0:
        print("os.fork child failed", os.waitstatus_to_exitcode(status), flush=True)
        sys.exit(1)

    # multiprocessing's fork context, several children at once.
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(3) as pool:
        result = pool.map_async(work, [None, 1, 2, 2, 3, None])
        got = result.get(timeout=60)
    if not all(same(g) for g in got):
        print("fork pool results differ", flush=True)
        sys.exit(1)
    # And the parent still works.
    assert same(work(2))
    print("ok", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_fork_after_use_does_not_deadlock() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=240, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok"), proc.stdout


# A fork taken while another thread holds the pool cache's lock (it is held
# while a pool of a new size starts its threads): the child must not wait on
# a lock whose owner does not exist in it. Before rustconv gave each process
# its own cache, two of three runs of this script left a child hanging.
FORK_RACE_SCRIPT = textwrap.dedent(
    """
    import os, sys, threading, time
    import numpy as np
    import rustconv

    x = np.ones((1, 2, 6, 6), np.float32)
    w = np.ones((2, 2, 3, 3), np.float32)
    want = rustconv.conv2d(x, w)
    stop = False

    def build_pools():
        # Each new worker count starts a pool while holding the pool cache's lock.
        for k in range(2, 26):
            if stop:
                break
            rustconv.conv2d(x, w, workers=k)

    t = threading.Thread(target=build_pools)
    t.start()
    hung = failed = forks = 0
    while t.is_alive() and forks < 200:
        pid = os.fork()
        if pid == 0:
            ok = np.array_equal(rustconv.conv2d(x, w, workers=2), want)
            os._exit(0 if ok else 3)
        forks += 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                failed += os.waitstatus_to_exitcode(status) != 0
                break
            time.sleep(0.001)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            hung += 1
    stop = True
    t.join()
    print(f"forks {forks} hung {hung} failed {failed}", flush=True)
    sys.exit(1 if hung or failed else 0)
    """
)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_fork_while_another_thread_starts_a_pool() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", FORK_RACE_SCRIPT], capture_output=True, text=True, timeout=240, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "hung 0 failed 0" in proc.stdout, proc.stdout


# Which CPUs each worker thread may run on, after one call that splits.
AFFINITY_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np
    import rustconv

    x = np.ones((4, 32, 40, 40), np.float32)
    w = np.ones((32, 32, 3, 3), np.float32)
    workers = int(sys.argv[1])
    cores = rustconv._rustconv._config()["available_cores"]
    rustconv.conv2d(x, w, padding=1, workers=workers)

    def masks():
        found = []
        for t in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{t}/comm") as f:
                if f.read().startswith("rustconv-"):
                    found.append(sorted(os.sched_getaffinity(int(t))))
        return sorted(found)

    # A worker takes its name, then its CPU, when it starts, which may be
    # after the call that started the pool has returned.
    expected = cores if workers == -1 else workers
    deadline = time.monotonic() + 30
    while len(masks()) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    print(json.dumps({"workers": masks(), "allowed": sorted(os.sched_getaffinity(0)), "cores": cores}))
    """
)


def worker_masks(workers: int, bind: str | None) -> dict[str, Any]:
    """The CPU masks of the worker threads of a fresh process after one call."""
    import json
    import os

    env = {k: v for k, v in os.environ.items() if k != "RUSTCONV_BIND_THREADS"}
    if bind is not None:
        env["RUSTCONV_BIND_THREADS"] = bind
    proc = subprocess.run(
        [sys.executable, "-c", AFFINITY_SCRIPT, str(workers)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(__import__("os").sched_getaffinity(0)) < 2,
    reason="binds threads on Linux with two or more CPUs",
)
def test_all_core_pool_binds_one_worker_per_cpu() -> None:
    full = worker_masks(-1, None)
    if full["cores"] != len(full["allowed"]):
        pytest.skip("a CPU quota below the affinity mask: the pool is not one worker per CPU")
    # One worker per allowed CPU, each bound to its own.
    assert full["workers"] == [[cpu] for cpu in full["allowed"]]
    # Turned off, and a pool larger than the CPUs: every worker may run anywhere.
    assert worker_masks(-1, "0")["workers"] == [full["allowed"]] * full["cores"]
    more = worker_masks(full["cores"] + 1, None)
    assert more["workers"] == [full["allowed"]] * (full["cores"] + 1)
