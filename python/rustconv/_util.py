"""Argument normalisation shared by every family's wrappers.

The Rust core validates geometry; these helpers only turn Python's flexible
argument forms (an int or a tuple, anything ``numpy.asarray`` takes) into the
fixed forms the bindings take.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


def as_native_array(value: Any, name: str, dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """``numpy.asarray`` that also guarantees native byte order.

    Strides are kept (the kernels read any strides); only a non-native byte
    order or a different ``dtype`` costs a copy. The input is never modified.
    """
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}: {exc}") from None
    if arr.dtype.byteorder not in ("=", "|"):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def as_tuple(value: int | Sequence[int], n: int, name: str) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints, as a tuple of ``n`` ints."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    try:
        single = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        pass
    else:
        return _fit64((single,), name, value) * n
    try:
        items = tuple(operator.index(v) for v in value)  # type: ignore[union-attr]
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}") from None
    _fit64(items, name, value)
    if len(items) != n:
        raise ValueError(
            f"{name} must have {n} entries (one per spatial dimension), got {len(items)}: {value!r}"
        )
    return items


def _fit64(items: tuple[int, ...], name: str, given: Any) -> tuple[int, ...]:
    """``items`` unchanged, or a ValueError naming ``name`` when one does
    not fit the core's 64-bit integers (the conversion error would not say
    which argument it was)."""
    if any(not -(2**63) <= v < 2**63 for v in items):
        raise ValueError(f"{name} must hold integers that fit in 64 bits, got {given!r}")
    return items


def as_workers(workers: int | None) -> int | None:
    """Validates the type of a ``workers=`` argument (the core checks the value)."""
    if workers is None:
        return None
    if isinstance(workers, (bool, np.bool_)):
        raise TypeError(f"workers must be None or an int, got {workers!r}")
    try:
        value = operator.index(workers)
    except TypeError:
        raise TypeError(f"workers must be None or an int, got {type(workers).__name__}") from None
    return _fit64((value,), "workers", workers)[0]
