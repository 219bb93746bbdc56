"""Activations: ReLU, softmax and log-softmax, with hand-written backward passes.

ReLU
    ``y = max(x, 0)``; ``dy/dx`` is 1 where ``y > 0`` and 0 elsewhere (PyTorch also
    takes 0 at ``x = 0``), so ``dL/dx = G * [y > 0] = G * sign(y)``. Knowing ``y`` is
    enough, which is why the in-place version can overwrite ``x``.

Softmax along ``dim``
    ``y_i = exp(x_i) / sum_j exp(x_j)``. Subtracting ``m = max_j x_j`` first changes
    nothing mathematically (the factor ``exp(-m)`` cancels) but keeps every
    exponent at most 0, so ``exp`` cannot overflow: logits of 1000 work.
    Jacobian ``dy_i/dx_k = y_i (delta_ik - y_k)``, so for upstream gradient ``G``::

        dL/dx_k = sum_i G_i y_i (delta_ik - y_k) = y_k (G_k - sum_i G_i y_i)

Log-softmax along ``dim``
    ``y_i = x_i - logsumexp(x) = (x_i - m) - log(sum_j exp(x_j - m))``, the
    log-sum-exp written out with max/exp/sum/log (shifted by ``m`` for the same
    reason). ``dy_i/dx_k = delta_ik - softmax(x)_k`` and ``softmax(x) = exp(y)``::

        dL/dx_k = G_k - exp(y_k) sum_i G_i

    Taking the log of a computed softmax instead would turn tiny probabilities
    into ``log(0) = -inf``; this form never forms the small number.

``dim=None``: PyTorch then warns and guesses a dimension (0 for 0-, 1- and 3-D
input, else 1). Guessing is how a network ends up normalising over the batch, so
these functions raise a ``ValueError`` asking for ``dim`` instead: a documented
deviation from torch. The modules may still be built without ``dim`` (so
``state_dict``s and reprs match), but calling them raises the same error.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import Module

__all__ = ["relu", "softmax", "log_softmax", "ReLU", "Softmax", "LogSoftmax"]


class _ReLUFunction(Function):
    """``y = max(x, 0)``, ``dL/dx = G * [y > 0]``."""

    @staticmethod
    def forward(ctx, input: Tensor, inplace: bool) -> Tensor:
        if inplace:
            output = input.clamp_min_(0)
            ctx.mark_dirty(input)  # tell autograd the input's old values are gone
        else:
            output = input.clamp_min(0)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (output,) = ctx.saved_tensors
        # sign(y) is exactly [y > 0] for y = max(x, 0) >= 0. It is also the fastest
        # form on CPU: one float temporary, multiplied in place (a boolean mask with
        # where/masked_fill is several times slower for large feature maps).
        return output.sign().mul_(grad_output), None


class _SoftmaxFunction(Function):
    """Stable softmax along ``dim``; ``dL/dx = y * (G - sum(G * y))``."""

    @staticmethod
    def forward(ctx, input: Tensor, dim: int) -> Tensor:
        shifted = input - input.amax(dim, keepdim=True)  # every exponent <= 0
        exps = shifted.exp()
        output = exps / exps.sum(dim, keepdim=True)
        ctx.save_for_backward(output)
        ctx.dim = dim
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (output,) = ctx.saved_tensors
        dot = (grad_output * output).sum(ctx.dim, keepdim=True)  # sum_i G_i y_i
        return output * (grad_output - dot), None


class _LogSoftmaxFunction(Function):
    """Stable log-softmax along ``dim``; ``dL/dx = G - exp(y) * sum(G)``."""

    @staticmethod
    def forward(ctx, input: Tensor, dim: int) -> Tensor:
        shifted = input - input.amax(dim, keepdim=True)
        output = shifted - shifted.exp().sum(dim, keepdim=True).log()  # x - logsumexp(x)
        ctx.save_for_backward(output)
        ctx.dim = dim
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (output,) = ctx.saved_tensors
        total = grad_output.sum(ctx.dim, keepdim=True)
        return grad_output - output.exp() * total, None


def _check_dim(dim: int | None, input: Tensor, name: str) -> int:
    """Validate the softmax ``dim`` for ``input`` and make it non-negative."""
    if dim is None:
        guess = 0 if input.dim() in (0, 1, 3) else 1
        raise ValueError(
            f"{name}: dim=None; pass dim explicitly, e.g. dim=1 for scores of shape (N, C) "
            f"or dim=-1 for the last dimension. (torch would warn and guess dim={guess} for "
            f"this {input.dim()}-D input, which silently normalises over the wrong "
            "dimension when the guess is wrong.)"
        )
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{name}: dim={dim!r} must be an int")
    ndim = max(input.dim(), 1)  # a scalar has one (trivial) dimension: dim 0 or -1
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"{name}: dim={dim} is out of range for a {input.dim()}-D input: "
            f"it must be in [{-ndim}, {ndim - 1}]"
        )
    return dim % ndim


def _cast_floating(input: Tensor, dtype: torch.dtype | None, name: str) -> Tensor:
    """Apply the optional ``dtype`` cast (before the op, like torch) and require floats."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise TypeError(
            f"{name}: input has dtype {input.dtype}; it needs a floating-point input "
            "(or pass dtype=torch.float32, for example)"
        )
    return input


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """Rectified linear unit ``max(x, 0)``, element-wise (mirrors ``F.relu``).

    Args:
        input: any shape ``(*)``; floating or integer dtype.
        inplace: overwrite ``input`` with the result and return it. Default: ``False``.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape and dtype as the input.

    Raises:
        TypeError: a boolean input.
        ValueError: ``inplace=True`` on a leaf tensor that requires grad (its
            values are needed as they are; torch refuses too).

    >>> relu(torch.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    if input.dtype == torch.bool:
        raise TypeError("relu: input has dtype torch.bool; booleans are not supported")
    if inplace and input.is_leaf and input.requires_grad and torch.is_grad_enabled():
        raise ValueError(
            "relu: inplace=True on a leaf tensor that requires grad; autograd forbids "
            "overwriting it. Use inplace=False or apply relu to a computed tensor."
        )
    return _ReLUFunction.apply(input, inplace)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: torch.dtype | None = None) -> Tensor:
    """Softmax along ``dim``: ``exp(x_i) / sum_j exp(x_j)`` (mirrors ``F.softmax``).

    Every slice along ``dim`` becomes a probability distribution (non-negative,
    summing to 1). Computed as ``exp(x - max) / sum(exp(x - max))``, so large
    logits such as 1000 do not overflow.

    Args:
        input: any shape ``(*)``, floating point (or cast by ``dtype``).
        dim: the dimension that sums to 1. Required here: ``None`` raises
            (torch would warn and guess; see the module docstring).
        _stacklevel: accepted for signature compatibility with torch, where it
            positions the warning for ``dim=None``; unused since we raise instead.
        dtype: if given, ``input`` is cast to it first (e.g. to avoid float16
            overflow), and the result has this dtype.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input, values in [0, 1].

    >>> softmax(torch.tensor([1000.0, 1000.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    dim = _check_dim(dim, input, "softmax")
    return _SoftmaxFunction.apply(_cast_floating(input, dtype, "softmax"), dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: torch.dtype | None = None) -> Tensor:
    """Log-softmax along ``dim``: ``x_i - log(sum_j exp(x_j))`` (mirrors ``F.log_softmax``).

    The log-sum-exp is computed by hand as ``m + log(sum_j exp(x_j - m))`` with
    ``m = max_j x_j``: finite for logits like 1000 (where ``exp`` alone would
    overflow) and never taking the log of an underflowed probability.

    Args:
        input: any shape ``(*)``, floating point (or cast by ``dtype``).
        dim: the dimension to normalise over. Required here: ``None`` raises.
        _stacklevel: accepted for signature compatibility with torch; unused.
        dtype: if given, ``input`` is cast to it first.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input, values in (-inf, 0].

    >>> log_softmax(torch.tensor([1000.0, 1000.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    dim = _check_dim(dim, input, "log_softmax")
    return _LogSoftmaxFunction.apply(_cast_floating(input, dtype, "log_softmax"), dim)


class ReLU(Module):
    """Element-wise ``max(x, 0)`` (mirrors ``torch.nn.ReLU``).

    Args:
        inplace: overwrite the input instead of allocating the output. Default: ``False``.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input.
    """

    __constants__ = ["inplace"]
    inplace: bool

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class _DimModule(Module):
    """Shared constructor of Softmax and LogSoftmax: an optional int ``dim``."""

    __constants__ = ["dim"]
    dim: int | None

    def __init__(self, dim: int | None = None) -> None:
        if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool)):
            raise TypeError(f"dim must be an int or None, got {type(dim)}")
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_DimModule):
    """Softmax along ``dim`` (mirrors ``torch.nn.Softmax``).

    Args:
        dim: the dimension whose slices sum to 1. ``None`` is accepted here but
            ``forward`` then raises a ``ValueError`` asking for it.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input, values in [0, 1].
    """

    def forward(self, input: Tensor) -> Tensor:
        return softmax(input, self.dim)


class LogSoftmax(_DimModule):
    """Log-softmax along ``dim`` (mirrors ``torch.nn.LogSoftmax``).

    Args:
        dim: the dimension to normalise over. ``None`` is accepted here (old code
            writes ``nn.LogSoftmax()``) but ``forward`` then raises a ``ValueError``.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input, values in (-inf, 0].
    """

    def forward(self, input: Tensor) -> Tensor:
        return log_softmax(input, self.dim)
