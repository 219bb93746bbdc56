"""Activations, with hand-written backward passes: ReLU, LeakyReLU, Hardtanh and ReLU6,
sigmoid and tanh, softmax and log-softmax.

ReLU
    ``y = max(x, 0)``; ``dy/dx`` is 1 where ``y > 0`` and 0 elsewhere (PyTorch also
    takes 0 at ``x = 0``), so ``dL/dx = G * [y > 0] = G * sign(y)``. Knowing ``y`` is
    enough, which is why the in-place version can overwrite ``x``.

LeakyReLU with slope ``a``
    ``y = x`` for ``x > 0``, ``a x`` otherwise; ``dL/dx = G`` where ``x > 0``, ``a G``
    elsewhere (``a G`` at ``x = 0``, as torch). The mask ``[x > 0]`` is taken before an
    in-place forward overwrites ``x``, so unlike torch a negative slope works in place.

Hardtanh on ``[lo, hi]`` and ReLU6 (``lo = 0``, ``hi = 6``)
    ``y = min(max(x, lo), hi)``; ``dL/dx = G`` strictly inside ``(lo, hi)`` and 0 on
    and beyond the edges (torch's convention). ``y`` is strictly inside exactly where
    ``x`` is, so ``y`` is enough, in place too.

Sigmoid
    ``s(x) = 1 / (1 + exp(-x))``, computed with ``e = exp(-|x|) <= 1`` as ``1 / (1 + e)``
    for ``x >= 0`` and ``e / (1 + e)`` for ``x < 0``: no ``exp`` of a large positive
    number, so no overflow. ``ds/dx = s (1 - s)``: ``dL/dx = G y (1 - y)``.

Tanh
    ``tanh(x) = sign(x) (1 - e) / (1 + e)`` with ``e = exp(-2|x|)``, written with
    ``m = expm1(-2|x|) = e - 1`` as ``-sign(x) m / (2 + m)``: ``1 - e`` computed as a
    difference would lose every digit for tiny ``x``. ``d tanh/dx = 1 - tanh^2``:
    ``dL/dx = G (1 - y^2)``.

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

from cnnlessons.scratch._checks import check_floating, opmath

__all__ = [
    "relu", "leaky_relu", "hardtanh", "relu6", "sigmoid", "tanh", "softmax", "log_softmax",
    "ReLU", "LeakyReLU", "Hardtanh", "ReLU6", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
]


class _ReLUFunction(Function):
    """``y = max(x, 0)``, ``dL/dx = G * [not y <= 0]`` (NaN passes, as in torch)."""

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
        # torch's mask is "not y <= 0", so a NaN input passes its gradient through.
        # sign(y) is that mask for every y = max(x, 0) >= 0 but NaN (torch.sign(nan) is
        # 0), so NaN becomes 1 first. Float ops only: a boolean mask (masked_fill,
        # where) is about 8x slower on CPU for a LeNet feature map.
        return torch.nan_to_num(output, nan=1.0).sign_().mul_(grad_output), None


class _LeakyReLUFunction(Function):
    """``y = x`` for ``x > 0``, else ``a x``; ``dL/dx = G`` where ``x > 0``, else ``a G``."""

    @staticmethod
    def forward(ctx, input: Tensor, negative_slope: float, inplace: bool) -> Tensor:
        positive = input > 0  # taken before an in-place write destroys the signs
        if inplace:
            output = input.masked_scatter_(~positive, input[~positive] * negative_slope)
            ctx.mark_dirty(input)
        else:
            output = torch.where(positive, input, input * negative_slope)
        ctx.save_for_backward(positive)
        ctx.negative_slope = negative_slope
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (positive,) = ctx.saved_tensors
        return torch.where(positive, grad_output, grad_output * ctx.negative_slope), None, None


class _HardtanhFunction(Function):
    """``y = min(max(x, lo), hi)``; ``dL/dx = G * [not (y <= lo or y >= hi)]`` (so a NaN
    input passes its gradient through, as in torch).
    """

    @staticmethod
    def forward(ctx, input: Tensor, min_val: float, max_val: float, inplace: bool) -> Tensor:
        if inplace:
            output = input.clamp_(min_val, max_val)
            ctx.mark_dirty(input)
        else:
            output = input.clamp(min_val, max_val)
        ctx.save_for_backward(output)
        ctx.min_val, ctx.max_val = min_val, max_val
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (output,) = ctx.saved_tensors
        inside = ~((output <= ctx.min_val) | (output >= ctx.max_val))  # NaN counts as inside
        return grad_output * inside, None, None, None


class _SigmoidFunction(Function):
    """``y = 1 / (1 + exp(-x))`` without overflow; ``dL/dx = G y (1 - y)``."""

    @staticmethod
    def forward(ctx, input: Tensor) -> Tensor:
        e = input.abs().neg_().exp_()  # exp(-|x|), in (0, 1]
        r = (e + 1).reciprocal_()  # 1 / (1 + e)
        output = torch.where(input >= 0, r, e.mul_(r))
        ctx.save_for_backward(output)
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (output,) = ctx.saved_tensors
        return grad_output * output * (1 - output)


class _TanhFunction(Function):
    """``y = -sign(x) m / (2 + m)`` with ``m = expm1(-2|x|)``; ``dL/dx = G (1 - y^2)``."""

    @staticmethod
    def forward(ctx, input: Tensor) -> Tensor:
        m = input.abs().mul_(-2).expm1_()  # e - 1, exact for tiny |x|
        output = m.div(m + 2).mul_(-input.sign())
        ctx.save_for_backward(output)
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (output,) = ctx.saved_tensors
        return grad_output * (1 - output * output)


class _SoftmaxFunction(Function):
    """Stable softmax along ``dim``; ``dL/dx = y * (G - sum(G * y))``."""

    @staticmethod
    def forward(ctx, input: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        if input.numel() == 0:  # nothing to normalise (amax of an empty dim would raise)
            ctx.save_for_backward(input)
            return input.clone()
        x = input.to(opmath(input.dtype))  # float16/bfloat16: computed in float32, as torch
        shifted = x - x.amax(dim, keepdim=True)  # every exponent <= 0
        exps = shifted.exp()
        output = (exps / exps.sum(dim, keepdim=True)).to(input.dtype)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (output,) = ctx.saved_tensors
        y, g = output.to(opmath(output.dtype)), grad_output.to(opmath(output.dtype))
        dot = (g * y).sum(ctx.dim, keepdim=True)  # sum_i G_i y_i
        return (y * (g - dot)).to(output.dtype), None


class _LogSoftmaxFunction(Function):
    """Stable log-softmax along ``dim``; ``dL/dx = G - exp(y) * sum(G)``."""

    @staticmethod
    def forward(ctx, input: Tensor, dim: int) -> Tensor:
        ctx.dim = dim
        if input.numel() == 0:  # nothing to normalise (amax of an empty dim would raise)
            ctx.save_for_backward(input)
            return input.clone()
        x = input.to(opmath(input.dtype))  # float16/bfloat16: computed in float32, as torch
        shifted = x - x.amax(dim, keepdim=True)
        output = shifted - shifted.exp().sum(dim, keepdim=True).log()  # x - logsumexp(x)
        output = output.to(input.dtype)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (output,) = ctx.saved_tensors
        y, g = output.to(opmath(output.dtype)), grad_output.to(opmath(output.dtype))
        total = g.sum(ctx.dim, keepdim=True)
        return (g - y.exp() * total).to(output.dtype), None


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


def _check_inplace(input: Tensor, inplace: bool, name: str) -> None:
    """Refuse, before writing anything, an in-place op that autograd would reject later."""
    if inplace and input.is_leaf and input.requires_grad and torch.is_grad_enabled():
        raise ValueError(
            f"{name}: inplace=True on a leaf tensor that requires grad; autograd forbids "
            f"overwriting it. Use inplace=False or apply {name} to a computed tensor."
        )


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
    _check_inplace(input, inplace, "relu")
    return _ReLUFunction.apply(input, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, ``negative_slope * x`` elsewhere (mirrors ``F.leaky_relu``).

    Args:
        input: any shape ``(*)``, floating point.
        negative_slope: the slope for negative inputs. Default: 0.01
        inplace: overwrite ``input`` with the result and return it. Default: ``False``.
            Works with a negative slope too (torch's in-place backward refuses one).

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input.

    Raises:
        TypeError: a non-floating-point input.
        ValueError: ``inplace=True`` on a leaf tensor that requires grad.

    >>> leaky_relu(torch.tensor([-2.0, 0.0, 3.0]), 0.5)
    tensor([-1.,  0.,  3.])
    """
    check_floating(input, "leaky_relu")
    _check_inplace(input, inplace, "leaky_relu")
    return _LeakyReLUFunction.apply(input, negative_slope, inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    r"""Clamp to ``[min_val, max_val]`` (mirrors ``F.hardtanh``).

    Args:
        input: any shape ``(*)``, floating point.
        min_val, max_val: the clamp range. Default: -1, 1
        inplace: overwrite ``input`` with the result and return it. Default: ``False``.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input, values in
          :math:`[\text{min\_val}, \text{max\_val}]`.

    Raises:
        TypeError: a non-floating-point input.
        ValueError: ``min_val > max_val``, or ``inplace=True`` on a leaf tensor that
            requires grad.

    >>> hardtanh(torch.tensor([-3.0, 0.5, 3.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val={min_val} must not be greater than max_val={max_val}"
        )
    check_floating(input, "hardtanh")
    _check_inplace(input, inplace, "hardtanh")
    return _HardtanhFunction.apply(input, min_val, max_val, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``: ``hardtanh`` on ``[0, 6]`` (mirrors ``F.relu6``).

    Args:
        input: any shape ``(*)``, floating point.
        inplace: overwrite ``input`` with the result and return it. Default: ``False``.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input, values in :math:`[0, 6]`.

    >>> relu6(torch.tensor([-1.0, 3.0, 9.0]))
    tensor([0., 3., 6.])
    """
    check_floating(input, "relu6")  # before hardtanh would, so the error names relu6
    return hardtanh(input, 0.0, 6.0, inplace)


def sigmoid(input: Tensor) -> Tensor:
    """The logistic function ``1 / (1 + exp(-x))``, element-wise (mirrors ``F.sigmoid``).

    Args:
        input: any shape ``(*)``. An integer input is first converted to the default
            floating-point dtype, as torch does.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input, values in :math:`(0, 1)`.

    >>> sigmoid(torch.tensor([-1000.0, 0.0, 1000.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    if not input.is_floating_point():
        input = input.to(torch.get_default_dtype())
    return _SigmoidFunction.apply(input)


def tanh(input: Tensor) -> Tensor:
    """The hyperbolic tangent, element-wise (mirrors ``F.tanh``).

    Args:
        input: any shape ``(*)``. An integer input is first converted to the default
            floating-point dtype, as torch does.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input, values in :math:`(-1, 1)`.

    >>> tanh(torch.tensor([-1000.0, 0.0, 1000.0]))
    tensor([-1.,  0.,  1.])
    """
    if not input.is_floating_point():
        input = input.to(torch.get_default_dtype())
    return _TanhFunction.apply(input)


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


class LeakyReLU(Module):
    """``x`` where ``x > 0``, ``negative_slope * x`` elsewhere (mirrors ``torch.nn.LeakyReLU``).

    Args:
        negative_slope: the slope for negative inputs. Default: 0.01
        inplace: overwrite the input instead of allocating the output. Default: ``False``.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input.

    >>> LeakyReLU(0.2, inplace=True)
    LeakyReLU(negative_slope=0.2, inplace=True)
    """

    __constants__ = ["inplace", "negative_slope"]
    inplace: bool
    negative_slope: float

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Hardtanh(Module):
    """Clamp to ``[min_val, max_val]`` (mirrors ``torch.nn.Hardtanh``).

    Args:
        min_val, max_val: the clamp range. Default: -1, 1
        inplace: overwrite the input instead of allocating the output. Default: ``False``.
        (torch's deprecated ``min_value``/``max_value`` spellings are not accepted.)

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input.

    Raises:
        ValueError: ``max_val <= min_val``.

    >>> Hardtanh(-2.0, 2.0)
    Hardtanh(min_val=-2.0, max_val=2.0)
    """

    __constants__ = ["min_val", "max_val", "inplace"]
    min_val: float
    max_val: float
    inplace: bool

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"max_val={max_val} must be greater than min_val={min_val}")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``: ``Hardtanh(0, 6)`` (mirrors ``torch.nn.ReLU6``).

    Args:
        inplace: overwrite the input instead of allocating the output. Default: ``False``.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input.

    >>> ReLU6(inplace=True)
    ReLU6(inplace=True)
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """The logistic function ``1 / (1 + exp(-x))`` (mirrors ``torch.nn.Sigmoid``).

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input.
    """

    def forward(self, input: Tensor) -> Tensor:
        return sigmoid(input)


class Tanh(Module):
    """The hyperbolic tangent (mirrors ``torch.nn.Tanh``).

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Output: :math:`(*)`, same shape as the input.
    """

    def forward(self, input: Tensor) -> Tensor:
        return tanh(input)


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
