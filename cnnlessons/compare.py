"""Compare a scratch function with its ``torch.nn.functional`` twin: the signature, then
the outputs and gradients.

Appendix A1 prints each function's signature with :func:`signature` and runs every
example through :func:`same`.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["same", "signature"]


def _parameters(fn: Callable) -> list[inspect.Parameter]:
    """``fn``'s parameters, from ``inspect`` or, failing that, its docstring's first line.

    Functions written in C (``F.conv1d``, ``F.linear``...) have no signature object, and
    ``F.max_pool1d``/``F.max_pool2d`` are ``(*args, **kwargs)`` wrappers that dispatch on
    ``return_indices``; both state their signature on the first line of their docstring
    (``conv1d(input, weight, bias=None, ...) -> Tensor``).
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except ValueError:  # written in C: no signature object
        params = []
    if params and params[0].kind is not inspect.Parameter.VAR_POSITIONAL:
        return params
    head = fn.__doc__.strip().split("\n")[0]
    arguments = head[head.index("(") + 1:head.rindex(")")]
    # The docstring's argument list is Python syntax: let the parser read it.
    return list(inspect.signature(eval(f"lambda {arguments}: None")).parameters.values())


def signature(fn: Callable) -> str:
    """``fn``'s parameters as text, ``name=default``, without type annotations.

    >>> import torch.nn.functional as F
    >>> signature(F.linear)
    'input, weight, bias=None'
    >>> signature(F.max_pool1d)
    'input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False'
    """
    return ", ".join(p.name if p.default is p.empty else f"{p.name}={p.default!r}"
                     for p in _parameters(fn))


def same(f: Callable, g: Callable, *args: Any, **kwargs: Any) -> str:
    """Assert that torch's ``f`` and the scratch ``g`` agree: outputs and input gradients.

    Each runs on fresh copies of ``args`` under the same random seed (so that dropout
    draws the same mask); the same random upstream gradient is sent back through both
    outputs (the first of a ``(values, indices)`` pair), and
    ``torch.testing.assert_close`` compares the outputs and the gradient of every input
    that requires one.

    Returns:
        One line for the reader: ``"relu: same output and gradients, output shape (5,)"``.

    >>> import torch.nn.functional as F
    >>> from cnnlessons.scratch import functional as SF
    >>> same(F.relu, SF.relu, torch.tensor([-1.0, 2.0], requires_grad=True))
    'relu: same output and gradients, output shape (2,)'
    """
    results = []
    for fn in (f, g):
        xs = [a.detach().clone().requires_grad_(a.requires_grad) if torch.is_tensor(a) else a
              for a in args]
        torch.manual_seed(0)
        out = fn(*xs, **kwargs)
        y = out[0] if isinstance(out, tuple) else out
        if y.requires_grad:
            upstream = torch.randn(y.shape, dtype=y.dtype,
                                   generator=torch.Generator().manual_seed(1))
            y.backward(upstream)
        results.append((out, [x.grad for x in xs if torch.is_tensor(x) and x.requires_grad]))
    torch.testing.assert_close(results[0], results[1])
    grads = " and gradients" if results[0][1] else ""
    return f"{f.__name__}: same output{grads}, output shape {tuple(y.shape)}"
