r"""Gradients by finite differences: the independent check of a backward pass.

A hand-written backward pass can be wrong in ways that still give tensors of the right
shape (a missing transpose, a forgotten sum, a flip in the wrong place). The check
that needs no derivation at all is to nudge each input element and watch the loss:
for a scalar function :math:`f` and a small step :math:`\varepsilon`, the *central*
difference

.. math::
    \frac{\partial f}{\partial x_i} \approx
    \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2 \varepsilon}

has an error of order :math:`\varepsilon^2` (the one-sided difference
:math:`(f(x + \varepsilon e_i) - f(x)) / \varepsilon`, of order :math:`\varepsilon`).
It costs two evaluations of :math:`f` per input element, so it is for small test
inputs only. In float64, :math:`\varepsilon = 10^{-6}` balances the truncation error
(:math:`\sim \varepsilon^2`) against the rounding error of the subtraction
(:math:`\sim 10^{-16} / \varepsilon`); in float32 the rounding error alone is about
:math:`10^{-7} / \varepsilon`, which is why gradients are checked in float64.
``torch.autograd.gradcheck`` does the same with every output element at once.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["numerical_gradient"]


def numerical_gradient(fn: Callable[..., Tensor], *inputs: Tensor,
                       eps: float = 1e-6) -> tuple[Tensor, ...]:
    r"""The gradient of a scalar function of tensors, by central finite differences.

    Every element of every input is moved by :math:`\pm\varepsilon` in turn (the
    others held fixed) and ``fn`` evaluated twice; the inputs are left as they were.

    Args:
        fn: a function of ``inputs`` returning a tensor with one element (the loss).
        inputs: the tensors to differentiate with respect to (floating point).
        eps: the step :math:`\varepsilon`.

    Returns:
        One tensor per input, of that input's shape: the estimate of
        :math:`\partial\, \text{fn} / \partial\, \text{input}`.

    Shape:
        - inputs: any shapes :math:`(*)`.
        - output: the same shapes, one gradient per input.

    Raises:
        ValueError: ``eps`` is not positive, ``fn`` does not return a single number,
            or an input is not a floating-point tensor.

    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> [round(g, 6) for g in numerical_gradient(lambda t: (t ** 3).sum(), x)[0].tolist()]
    [3.0, 12.0]
    """
    if not eps > 0:
        raise ValueError(f"eps={eps} must be positive")
    for k, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.is_floating_point()):
            raise ValueError(f"inputs[{k}] must be a floating-point tensor, got "
                             f"{getattr(x, 'dtype', type(x).__name__)}")
    # Perturbed copies, so the caller's tensors are never touched; no graph is needed.
    points = [x.detach().clone() for x in inputs]
    grads = []
    with torch.no_grad():
        for x in points:
            grad = torch.empty_like(x)
            flat, flat_grad = x.view(-1), grad.view(-1)
            for i in range(flat.numel()):
                saved = flat[i].item()
                flat[i] = saved + eps
                above = _value(fn(*points))
                flat[i] = saved - eps
                below = _value(fn(*points))
                flat[i] = saved
                flat_grad[i] = (above - below) / (2 * eps)
            grads.append(grad)
    return tuple(grads)


def _value(result: Tensor) -> float:
    """The one number of ``fn``'s result, as a Python float (the subtraction in float64)."""
    if not isinstance(result, Tensor) or result.numel() != 1:
        shape = tuple(result.shape) if isinstance(result, Tensor) else type(result).__name__
        raise ValueError(f"fn must return a tensor with one element (a scalar loss), got {shape}")
    return result.item()
