"""Thread-count control and build information."""

from __future__ import annotations

import operator

from . import _rustconv

__all__ = ["get_num_threads", "set_num_threads", "show_config"]


def set_num_threads(n: int) -> None:
    """Set the number of threads rustconv's kernels use by default.

    Parameters
    ----------
    n : int
        0 for all cores (the default), or a positive thread count. The
        ``RUSTCONV_NUM_THREADS`` environment variable sets the starting value.
        A per-call ``workers=`` argument overrides this setting.

    Raises
    ------
    ValueError
        If ``n`` is negative.
    TypeError
        If ``n`` is not an integer.

    Examples
    --------
    >>> import rustconv
    >>> rustconv.set_num_threads(1)
    >>> rustconv.get_num_threads()
    1
    >>> rustconv.set_num_threads(0)
    """
    if isinstance(n, bool):
        raise TypeError(f"n must be an int, got {n!r}")
    try:
        value = operator.index(n)
    except TypeError:
        raise TypeError(f"n must be an int, got {type(n).__name__}") from None
    _rustconv.set_num_threads(value)


def get_num_threads() -> int:
    """Return the default thread count as set (0 means all cores).

    Examples
    --------
    >>> import rustconv
    >>> rustconv.get_num_threads() >= 0
    True
    """
    return _rustconv.get_num_threads()


def show_config() -> None:
    """Print rustconv's version, thread settings, SIMD level, build profile and how much
    freed output memory it keeps for reuse (``RUSTCONV_RECYCLE_MIB``).

    Examples
    --------
    >>> import rustconv
    >>> rustconv.show_config()  # doctest: +ELLIPSIS
    rustconv ...
    """
    cfg = _rustconv._config()
    threads = cfg["num_threads"] or f"all ({cfg['available_cores']} cores)"
    print(f"rustconv {cfg['version']}")
    print(f"  threads:  {threads}")
    print(f"  cores:    {cfg['available_cores']}")
    print(f"  simd:     {cfg['simd']}")
    print(f"  profile:  {cfg['profile']}")
    print(f"  recycle:  up to {cfg['recycle_bytes'] >> 20} MiB of freed outputs of 32 MiB and more")
