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
    >>> print(show_source(conv_output_size).data.splitlines()[0])
    def conv_output_size(size: Size, kernel_size: Size, stride: Size = 1,
    """
    return Code(inspect.getsource(obj), language="python")
