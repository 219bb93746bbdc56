"""The examples in the package's docstrings run and print what they show.

A docstring's ``>>>`` lines are documentation a reader copies, so each one is a test:
every module of ``cnnlessons`` is imported and its examples are run by doctest.
"""
import doctest
import importlib
import pkgutil

import pytest

import cnnlessons

MODULES = sorted(info.name for info in pkgutil.walk_packages(cnnlessons.__path__, "cnnlessons.")
                 if info.name != "cnnlessons.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_package_has_examples_to_run():
    # Guard against a walk that finds nothing (and so checks nothing).
    attempted = sum(doctest.testmod(importlib.import_module(name)).attempted
                    for name in ("cnnlessons.shapes", "cnnlessons.receptive_field"))
    assert attempted >= 10 and len(MODULES) >= 30
