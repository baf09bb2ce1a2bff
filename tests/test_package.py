"""The package itself: names, version, thread control and configuration."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rustconv


def test_version_matches_extension() -> None:
    from rustconv import _rustconv

    assert rustconv.__version__ == _rustconv.__version__
    assert rustconv.__version__.count(".") == 2


def test_every_public_name_exists() -> None:
    for name in rustconv.__all__:
        assert hasattr(rustconv, name), name
    assert len(set(rustconv.__all__)) == len(rustconv.__all__)


def test_set_and_get_num_threads() -> None:
    old = rustconv.get_num_threads()
    try:
        rustconv.set_num_threads(3)
        assert rustconv.get_num_threads() == 3
        rustconv.set_num_threads(0)
        assert rustconv.get_num_threads() == 0
    finally:
        rustconv.set_num_threads(old)


@pytest.mark.parametrize("bad", [-1, -100])
def test_set_num_threads_rejects_negative(bad: int) -> None:
    with pytest.raises(ValueError, match="n must be 0"):
        rustconv.set_num_threads(bad)
    assert rustconv.get_num_threads() >= 0


@pytest.mark.parametrize("bad", [1.5, "2", None, True])
def test_set_num_threads_rejects_non_int(bad: object) -> None:
    with pytest.raises(TypeError, match="n must be an int"):
        rustconv.set_num_threads(bad)  # type: ignore[arg-type]


def test_environment_variable_sets_start_value() -> None:
    code = "import rustconv; print(rustconv.get_num_threads())"
    env = {"RUSTCONV_NUM_THREADS": "5", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "5"


def test_show_config(capsys: pytest.CaptureFixture[str]) -> None:
    rustconv.show_config()
    out = capsys.readouterr().out
    assert rustconv.__version__ in out
    assert "simd" in out
    assert "profile" in out


def test_main_module_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "rustconv"], capture_output=True, text=True, check=True, timeout=300
    )
    assert "rustconv" in out.stdout
    assert "O = H - K + 1 = 5 - 3 + 1 = 3  shape=(3, 3)" in out.stdout
    assert "Sobel edge magnitude" in out.stdout
