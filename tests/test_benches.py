"""The benchmark suite's smoke run: keeps ``benches/suite.py`` from rotting.

Runs ``python benches/suite.py --smoke`` (tiny sizes, seconds) into a
temporary directory and checks that the Markdown report has the ceilings,
every workload row of the performance targets and the thread-scaling table,
and that the plots are written when matplotlib is installed. No timing is
asserted: benchmarks are benchmarks.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parent.parent / "benches" / "suite.py"

# Every workload of the target table, as the report's first column starts.
WORKLOADS = [
    "conv2d deep 64ch 3x3 forward",
    "conv2d deep 64ch 3x3 fwd+bwd",
    "conv2d deep 256ch 3x3 forward",
    "conv2d deep 256ch 3x3 fwd+bwd",
    "conv2d deep 128ch 1x1 forward",
    "conv2d deep 128ch 1x1 fwd+bwd",
    "conv2d first layer 7x7/2 forward",
    "conv2d first layer 7x7/2 fwd+bwd",
    "conv2d few channels 5x5 forward",
    "conv2d few channels 5x5 fwd+bwd",
    *(f"correlate2d 'same' {k}x{k}" for k in (3, 7, 15, 31)),
    *(f"convolve2d 'same' {k}x{k}" for k in (3, 7, 15, 31)),
    "convolve auto 2-D 15x15",
    "convolve auto 2-D 31x31",
    "convolve auto 1-D x101",
    "convolve auto 1-D x4001",
    "max_pool2d(3, 2, 1)",
    "avg_pool2d(2, 2)",
    "lp_pool2d(2, 2, 2)",
    "max_pool2d(3, 2, 1) out of cache",
    "avg_pool2d(2, 2) out of cache",
    "lp_pool2d(2, 2, 2) out of cache",
    "pad reflect",
    "pad reflect out of cache",
]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("perf")
    done = subprocess.run(
        [sys.executable, str(SUITE), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    report = out / "results-smoke.md"
    text = report.read_text(encoding="utf-8")
    # The report is printed as well as written.
    assert text.strip() in done.stdout
    return out, text


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of the first Markdown table after `header`, without its header rows."""
    after = text.split(header, 1)[1].splitlines()
    start = next(i for i, line in enumerate(after) if line.startswith("|"))
    block = []
    for line in after[start:]:
        if not line.startswith("|"):
            break
        block.append(line)
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in block[2:]]


def test_header_names_the_machine_and_ceilings(smoke: tuple[Path, str]) -> None:
    _, text = smoke
    assert "# rustconv benchmark suite — smoke run" in text
    for needle in ("Machine:", "cores", "SIMD level", "Load average", "before:", "after:", "numpy "):
        assert needle in text
    ceilings = {row[0]: row for row in table_rows(text, "## Ceilings")}
    assert set(ceilings) == {"memory copy rate", "float32 matmul", "float32 peak"}
    for row in ceilings.values():
        assert float(row[1].split()[0]) > 0


def test_every_workload_has_a_row(smoke: tuple[Path, str]) -> None:
    _, text = smoke
    rows = table_rows(text, "## Workloads")
    names = {row[0] for row in rows}
    missing = [w for w in WORKLOADS if w not in names]
    assert not missing, missing
    for row in rows:
        assert len(row) == 12, row
        assert float(row[2]) > 0  # rustconv's time in ms
        if row[9]:  # a target: the verdict says met, missed or why it was skipped
            assert row[10] in ("met", "**missed**") or row[10].startswith("skipped ("), row


def test_other_libraries_appear_when_installed(smoke: tuple[Path, str]) -> None:
    _, text = smoke
    others = {row[5] for row in table_rows(text, "## Workloads")}
    for module, name in (("torch", "torch"), ("cv2", "cv2.filter2D"), ("scipy", "scipy.signal.convolve2d")):
        if importlib.util.find_spec(module) is not None:
            assert name in others


def test_thread_scaling_table(smoke: tuple[Path, str]) -> None:
    _, text = smoke
    rows = table_rows(text, "## Thread scaling")
    assert rows
    assert any(row[0].startswith("pad reflect") for row in rows) or rows[0][0].startswith("(one core")


def test_plots_are_written(smoke: tuple[Path, str]) -> None:
    out, text = smoke
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib is not installed" in text
        pytest.skip("matplotlib is not installed")
    for name in ("image_filters-smoke.png", "thread_scaling-smoke.png"):
        assert (out / name).stat().st_size > 1000
        assert f"]({name})" in text
