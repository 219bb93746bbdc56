"""Docstring fragments shared by twin classes (Conv1d/Conv2d, BatchNorm1d/2d, NLL/CE).

Arguments two classes share are written once and filled into both docstrings, so that
``help()`` shows each class in full and the two texts cannot drift apart.
"""
from __future__ import annotations

from collections.abc import Callable


def fill_docstring(**fragments: str) -> Callable:
    """Decorator: put each fragment into the ``{name}`` field of the object's docstring.

    ``str.replace``, not ``str.format``: the ``:math:`` of the Shape sections is full of
    braces.

    >>> @fill_docstring(args="x: the input.")
    ... def f(x):
    ...     '''Args: {args}'''
    >>> f.__doc__
    'Args: x: the input.'
    """
    def fill(obj):
        if obj.__doc__:  # python -OO strips docstrings
            for name, text in fragments.items():
                obj.__doc__ = obj.__doc__.replace("{" + name + "}", text)
        return obj
    return fill
