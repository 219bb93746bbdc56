"""Showing the package's own code inside a chapter.

A chapter whose lesson is an implementation shows that implementation's real source,
so the book and the package can never drift apart.
"""
from __future__ import annotations

import inspect

from IPython.display import Code


def show_source(obj) -> Code:
    """The source of a function, class or module, syntax-highlighted in a notebook.

    >>> from cnnlessons.shapes import conv_output_size
    >>> show_source(conv_output_size).data.startswith("def conv_output_size(")
    True
    """
    return Code(inspect.getsource(obj), language="python")
