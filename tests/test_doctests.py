"""Every Examples section in the installed package runs as a doctest."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rustconv

MODULES = sorted(
    m.name for m in pkgutil.iter_modules(rustconv.__path__, "rustconv.") if not m.name.endswith("_rustconv")
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        # An optional extra's module (rustconv.dask) without the extra installed.
        if "pip install 'rustconv[" not in str(exc):
            raise
        pytest.skip(str(exc))
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
