"""Typed wrappers of the cnn family."""

from __future__ import annotations

__all__: list[str] = []
