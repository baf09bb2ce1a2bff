"""Typed wrappers of the signal family."""

from __future__ import annotations

__all__: list[str] = []
