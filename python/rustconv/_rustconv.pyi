# Hand-written stub of the extension module, checked by mypy.stubtest.
# Each family keeps its section; the wrappers in _signal.py, _cnn.py and
# _pool.py are the public, documented face.

from typing import Any

import numpy.typing as npt

__version__: str

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def _config() -> dict[str, Any]: ...

# --- signal family ---

def _correlate(
    in1: npt.NDArray[Any], in2: npt.NDArray[Any], mode: str, flip: bool, workers: int | None = None
) -> npt.NDArray[Any]: ...
def _correlate2d(
    in1: npt.NDArray[Any],
    in2: npt.NDArray[Any],
    mode: str,
    flip: bool,
    boundary: str,
    fillvalue: npt.NDArray[Any],
    workers: int | None = None,
) -> npt.NDArray[Any]: ...

# --- fft family ---
def _fftconvolve(
    in1: Any,
    in2: Any,
    mode: str,
    axes: list[int] | None,
    blocking: str,
    workers: int | None = None,
) -> Any: ...

# --- cnn family ---

# --- pad family ---

# --- pool family ---
