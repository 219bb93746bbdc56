"""A fully connected (affine) layer, ``y = x W^T + b``, from scratch.

Every output feature is a weighted sum of all input features plus a bias. The
batch may have any number of leading dimensions: they are flattened into one
row dimension, the layer is one matrix product, and the rows are unflattened.

Backward, for ``Y = X W^T + b`` with ``X`` (M, in), ``W`` (out, in), ``Y`` (M, out)
and upstream gradient ``G = dL/dY`` (M, out). Element-wise
``Y[m, o] = sum_i X[m, i] W[o, i] + b[o]``, so

* ``dY[m, o] / dX[m, i] = W[o, i]``  ->  ``dL/dX = G W``        (M, in)
* ``dY[m, o] / dW[o, i] = X[m, i]``  ->  ``dL/dW = G^T X``      (out, in)
* ``dY[m, o] / db[o]    = 1``        ->  ``dL/db = sum_m G[m]`` (out,)

Each gradient has the shape of the tensor it belongs to, which is the quickest
way to check the transposes.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import Module, Parameter, init

from cnnlessons.arguments import check_non_negative

__all__ = ["linear", "Linear"]


class _LinearFunction(Function):
    """``y = x W^T + b`` on a 2-D batch of rows; see the module docstring for backward."""

    @staticmethod
    def forward(ctx, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        # (*, in) -> (M, in): a view when contiguous. Not reshape(-1, in), which cannot
        # infer M when in_features is 0.
        rows = input.flatten(0, -2) if input.dim() > 1 else input.unsqueeze(0)
        if bias is None:
            out = rows.matmul(weight.t())
        else:
            out = torch.addmm(bias, rows, weight.t())  # one BLAS call: bias + rows @ W^T
        ctx.save_for_backward(rows, weight)
        ctx.input_shape = input.shape
        ctx.has_bias = bias is not None
        # A view of a tensor made here: detached, so ReLU(inplace=True) may overwrite it.
        return out.reshape(*input.shape[:-1], weight.shape[0]).detach()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        rows, weight = ctx.saved_tensors
        g = grad_output.reshape(rows.shape[0], weight.shape[0])  # (M, out)
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = g.matmul(weight).reshape(ctx.input_shape)  # G W
        if ctx.needs_input_grad[1]:
            grad_weight = g.t().matmul(rows)  # G^T X
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = g.sum(0)  # every row adds the same bias
        return grad_input, grad_weight, grad_bias


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""Apply the affine map ``y = x W^T + b`` (PyTorch's ``F.linear``).

    Args:
        input: ``(*, in_features)``, any number of leading dimensions (also none).
        weight: ``(out_features, in_features)``.
        bias: ``(out_features)`` or ``None``.

    Returns:
        ``(*, out_features)``: the leading dimensions of ``input`` are kept.

    Shape:
        - Input: :math:`(*, H_{in})` where :math:`H_{in} = \text{in\_features}`.
        - Weight: :math:`(H_{out}, H_{in})`; Bias: :math:`(H_{out})`.
        - Output: :math:`(*, H_{out})`.

    Raises:
        ValueError: ``input`` is 0-D, ``weight`` is not 2-D, the feature sizes
            disagree, or ``bias`` does not have shape ``(out_features,)``.
            (``F.linear`` also accepts a 1-D weight or a broadcastable bias, by
            accident of ``matmul``; we insist on the documented shapes: stricter than
            torch.)
        TypeError: the tensors have different dtypes.

    >>> x = torch.tensor([[1., 2.]]); w = torch.tensor([[1., 0.], [1., 1.]])
    >>> linear(x, w, torch.tensor([0., 10.]))
    tensor([[ 1., 13.]])
    """
    if input.dim() < 1:
        raise ValueError("linear: input is 0-D; it needs at least one dimension (*, in_features)")
    if weight.dim() != 2:
        raise ValueError(
            f"linear: weight has shape {tuple(weight.shape)}; expected 2-D "
            "(out_features, in_features)"
        )
    out_features, in_features = weight.shape
    if input.shape[-1] != in_features:
        raise ValueError(
            f"linear: input has {input.shape[-1]} features in its last dimension (shape "
            f"{tuple(input.shape)}) but weight {tuple(weight.shape)} expects "
            f"in_features={in_features}"
        )
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise ValueError(
            f"linear: bias has shape {tuple(bias.shape)}; expected ({out_features},) = "
            "(out_features,)"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise TypeError(f"linear: {name} has dtype {t.dtype} but input has dtype {input.dtype}")
    return _LinearFunction.apply(input, weight, bias)


class Linear(Module):
    r"""Fully connected layer ``y = x W^T + b`` (mirrors ``torch.nn.Linear``).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: if ``False``, the layer learns no additive bias. Default: ``True``.
        device, dtype: where and how the parameters are created.

    Shape:
        - Input: :math:`(*, H_{in})`, :math:`H_{in} = \text{in\_features}`.
        - Output: :math:`(*, H_{out})`, :math:`H_{out} = \text{out\_features}`.

    Attributes:
        weight: ``(out_features, in_features)``, initialised from
            :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`, :math:`k = 1/\text{in\_features}`.
        bias: ``(out_features)``, same distribution.

    >>> Linear(20, 30)(torch.randn(128, 20)).shape
    torch.Size([128, 30])
    """

    __constants__ = ["in_features", "out_features"]
    in_features: int
    out_features: int
    weight: Tensor

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Linear: {name}={value!r} must be an int")
            check_non_negative((value,), f"Linear: {name}")
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(torch.empty((out_features, in_features), **factory_kwargs))
        if bias:
            self.bias = Parameter(torch.empty(out_features, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise exactly like torch, in the same order of random draws.

        ``kaiming_uniform_`` with ``a=sqrt(5)`` draws the weight from
        ``U(-b, b)`` with ``b = gain * sqrt(3 / fan_in)`` and
        ``gain = sqrt(2 / (1 + a^2)) = sqrt(1/3)``, so ``b = 1/sqrt(in_features)``;
        the bias uses the same bound. Weight first, then bias: the same seed
        gives the same numbers as ``torch.nn.Linear``.
        """
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
