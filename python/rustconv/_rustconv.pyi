# Hand-written stub of the extension module, checked by mypy.stubtest.
# Each family keeps its section; the wrappers in _signal.py, _cnn.py and
# _pool.py are the public, documented face.

from collections.abc import Sequence
from typing import Any

__version__: str

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def _config() -> dict[str, Any]: ...

# --- signal family ---

# --- fft family ---

# --- cnn family ---

# --- pad family ---

# --- pool family ---

def _max_pool(
    input: Any,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    ceil_mode: bool,
    return_indices: bool,
    workers: int | None = None,
) -> tuple[Any, Any | None]: ...
def _max_pool_backward(
    grad_output: Any,
    indices: Any,
    input_shape: Sequence[int],
    rank: int,
    func: str,
    workers: int | None = None,
) -> Any: ...
def _avg_pool(
    input: Any,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    workers: int | None = None,
) -> Any: ...
def _avg_pool_backward(
    grad_output: Any,
    input_shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    workers: int | None = None,
) -> Any: ...
def _lp_pool(
    input: Any,
    norm_type: float,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    ceil_mode: bool,
    workers: int | None = None,
) -> Any: ...
def _lp_pool_backward(
    grad_output: Any,
    input: Any,
    output: Any,
    norm_type: float,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    ceil_mode: bool,
    workers: int | None = None,
) -> Any: ...
def _adaptive_avg_pool(input: Any, output_size: Sequence[int | None], workers: int | None = None) -> Any: ...
def _adaptive_max_pool(
    input: Any, output_size: Sequence[int | None], return_indices: bool, workers: int | None = None
) -> tuple[Any, Any | None]: ...
def _adaptive_avg_pool_backward(
    grad_output: Any, input_shape: Sequence[int], rank: int, workers: int | None = None
) -> Any: ...
def _pool_output_shape(
    input_shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    ceil_mode: bool,
) -> list[int]: ...
