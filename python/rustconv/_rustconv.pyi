# Hand-written stub of the extension module, checked by mypy.stubtest.
# Each family keeps its section; the wrappers in _signal.py, _cnn.py and
# _pool.py are the public, documented face.

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

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
def _is_separable(kernel: npt.NDArray[Any]) -> bool: ...

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

def _conv(
    input: NDArray[Any],
    weight: NDArray[Any],
    bias: NDArray[Any] | None,
    stride: Sequence[int],
    padding: str | Sequence[int],
    dilation: Sequence[int],
    groups: int,
    padding_mode: str,
    rank: int,
    workers: int | None = None,
) -> NDArray[Any]: ...
def _conv_transpose(
    input: NDArray[Any],
    weight: NDArray[Any],
    bias: NDArray[Any] | None,
    stride: Sequence[int],
    padding: Sequence[int],
    output_padding: Sequence[int],
    groups: int,
    dilation: Sequence[int],
    rank: int,
    workers: int | None = None,
) -> NDArray[Any]: ...
def _conv_input(
    input_size: Sequence[int],
    weight: NDArray[Any],
    grad_output: NDArray[Any],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    rank: int,
    workers: int | None = None,
) -> NDArray[Any]: ...
def _conv_weight(
    input: NDArray[Any],
    weight_size: Sequence[int],
    grad_output: NDArray[Any],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    rank: int,
    workers: int | None = None,
) -> NDArray[Any]: ...
def _conv_backward(
    grad_output: NDArray[Any],
    input: NDArray[Any],
    weight: NDArray[Any],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    rank: int,
    workers: int | None = None,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]: ...
def _conv_output_shape(
    input_shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: str | Sequence[int],
    dilation: Sequence[int],
) -> list[int]: ...

# --- pad family ---

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
