"""Typed wrappers of the fft family."""

from __future__ import annotations

__all__: list[str] = []
