# Hand-written stub of the extension module, checked by mypy.stubtest.
# Each family keeps its section; the wrappers in _signal.py, _cnn.py and
# _pool.py are the public, documented face.

from typing import Any

__version__: str

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def _config() -> dict[str, Any]: ...

# --- signal family ---

# --- fft family ---

# --- cnn family ---

# --- pad family ---

import numpy as np  # noqa: E402  (kept in this section so family sections merge cleanly)

def _pad(
    array: np.ndarray[Any, Any],
    pad_width: list[tuple[int, int]],
    mode: str,
    constant_values: np.ndarray[Any, Any] | None = None,
    workers: int | None = None,
) -> np.ndarray[Any, Any]: ...
def _pad_backward(
    grad: np.ndarray[Any, Any],
    pad_width: list[tuple[int, int]],
    mode: str,
    workers: int | None = None,
) -> np.ndarray[Any, Any]: ...

# --- pool family ---
