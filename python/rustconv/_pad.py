"""Typed wrappers of the pad family."""

from __future__ import annotations

__all__: list[str] = []
