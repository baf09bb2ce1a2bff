"""Typed wrappers of the pool family."""

from __future__ import annotations

__all__: list[str] = []
