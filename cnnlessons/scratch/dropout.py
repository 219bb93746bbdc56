"""Dropout from scratch: ``dropout``, ``dropout2d``, ``Dropout`` and ``Dropout2d``.

Inverted dropout, the form torch implements: in training every element is kept with
probability ``1 - p`` and zeroed otherwise, and the kept ones are multiplied by
``1 / (1 - p)`` so that the expected value of each output equals its input::

    E[y] = (1 - p) * x / (1 - p) + p * 0 = x

Evaluation therefore needs no rescaling at all: the layer is the identity. Dropout's
paper (Srivastava et al., 2014, section 2) does it the other way round: it trains
without rescaling and multiplies the outgoing weights by the keep probability at test
time; moving the factor into training ("inverted dropout", CS231n's notes on
regularisation) gives the same expectations and leaves inference untouched. Hand check:
with ``p = 0.5`` an input of ones becomes a random pattern of 0s and 2s whose mean is
close to 1.

Channel dropout (``dropout2d``, Tompson et al., 2015) draws one keep-or-drop decision per
channel of each sample instead of per element: neighbouring pixels of a feature map are
strongly correlated, so dropping single pixels hardly regularises a convolution, while
dropping a whole map does. The mask has shape ``(N, C, 1, 1)`` and broadcasts over
``H, W``; everything else (scaling, backward) is as above.
"""
from __future__ import annotations

import warnings

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import Module

from cnnlessons.scratch._checks import check_floating

__all__ = ["dropout", "dropout2d", "Dropout", "Dropout2d"]


class _DropoutFunction(Function):
    """Inverted dropout with a hand-written backward pass.

    Forward draws ``noise`` with the same shape, dtype and device as the input: each
    entry is ``1 / (1 - p)`` with probability ``1 - p`` and ``0`` otherwise (all zeros
    for ``p = 1``), and returns ``y = x * noise``. The mask is cached in ``ctx``.

    With ``per_channel`` the noise has shape ``(N, C, 1, ..., 1)`` and broadcasts.

    Backward: ``y`` is elementwise linear in ``x`` with slope ``noise``, so
    ``dx = dy * noise``, with the *same* mask as the forward pass (a fresh draw would
    send gradient through units that produced no output).
    """

    @staticmethod
    def forward(ctx, input: Tensor, p: float, inplace: bool, per_channel: bool) -> Tensor:
        if per_channel:
            noise = input.new_empty(input.shape[:2] + (1,) * (input.dim() - 2))
        else:
            noise = torch.empty_like(input)
        if p == 1:
            noise.zero_()  # nothing is kept; avoids dividing by 1 - p = 0
        else:
            # bernoulli_ on an empty buffer of this shape is how ATen builds the mask on
            # CPU too, so with the same seed the mask there is bit-for-bit torch's.
            noise.bernoulli_(1 - p).div_(1 - p)
        ctx.save_for_backward(noise)
        if inplace:
            ctx.mark_dirty(input)
            return input.mul_(noise)
        return input * noise

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (noise,) = ctx.saved_tensors
        return grad_output * noise, None, None, None


def _check_p(p: float) -> None:
    # Written as "not inside" so that p = nan is rejected too.
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got p={p}")


def _check_scalable(input: Tensor, p: float, name: str) -> None:
    # The survivors are scaled by 1 / (1 - p), which an integer tensor cannot hold. Like
    # torch, an integer input is still fine when nothing is scaled (p = 1 zeroes it all).
    if p < 1:
        check_floating(input, name)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``,
    as torch's ``F.dropout``.

    Args:
        input: tensor of any shape ``(*)``.
        p: probability of an element being zeroed, in ``[0, 1]``. Default: 0.5
        training: apply dropout if ``True``; if ``False`` return ``input`` itself.
            Default: ``True``
        inplace: overwrite ``input`` with the result instead of allocating a new
            tensor. Default: ``False``

    Returns:
        ``(*)`` tensor, same shape as ``input``. Like torch, ``input`` itself is returned
        when nothing would change (``training=False``, ``p=0`` or an empty input).

    Shape:
        - Input: :math:`(*)`, any shape.
        - Output: :math:`(*)`, same shape as the input.

    Raises:
        ValueError: ``p`` is not in ``[0, 1]``.
        TypeError: an integer ``input`` to be scaled (``training`` and ``0 < p < 1``).

    >>> x = torch.ones(8)
    >>> dropout(x, p=0.5, training=False) is x
    True
    >>> sorted(set(dropout(x, p=0.5).tolist())) in ([0.0], [0.0, 2.0], [2.0])
    True
    """
    _check_p(p)
    if not training or p == 0 or input.numel() == 0:
        return input
    _check_scalable(input, p, "dropout")
    return _DropoutFunction.apply(input, p, inplace, False)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero each channel with probability ``p`` and scale the rest by ``1 / (1 - p)``,
    as torch's ``F.dropout2d``.

    Args:
        input: ``(N, C, H, W)``. Like torch, a 3-D input is read as ``(N, C, L)`` (one
            mask entry per row of length ``L``) with a warning, and so is any other rank
            ``(N, C, *)``.
        p: probability of a channel being zeroed, in ``[0, 1]``. Default: 0.5
        training: apply dropout if ``True``; if ``False`` return ``input`` itself.
            Default: ``True``
        inplace: overwrite ``input`` with the result. Default: ``False``

    Shape:
        - Input: :math:`(N, C, H, W)`.
        - Output: :math:`(N, C, H, W)`, same shape as the input; every
          :math:`(n, c)` map is either all zeros or the input map times :math:`1/(1-p)`.

    Raises:
        ValueError: ``p`` is not in ``[0, 1]``, or the input has fewer than 2 dimensions
            (stricter than torch, which accepts those too).
        TypeError: an integer ``input`` to be scaled (``training`` and ``0 < p < 1``).

    >>> out = dropout2d(torch.ones(2, 3, 4, 4), p=0.5)
    >>> sorted(set(out.amax((2, 3)).flatten().tolist()) | {0.0, 2.0})
    [0.0, 2.0]
    """
    _check_p(p)
    if input.dim() < 2:
        raise ValueError(f"dropout2d: input has shape {tuple(input.shape)}; expected (N, C, H, W)")
    if input.dim() != 4:
        warnings.warn(f"dropout2d: received a {input.dim()}-D input; like torch, it is read as "
                      "(N, C, *) with one mask entry per (n, c)", stacklevel=2)
    if not training or p == 0 or input.numel() == 0:
        return input
    _check_scalable(input, p, "dropout2d")
    return _DropoutFunction.apply(input, p, inplace, True)


class Dropout(Module):
    """Randomly zero elements during training, as ``torch.nn.Dropout``.

    Each element is zeroed independently with probability ``p`` on every forward call
    in training mode, and the survivors are scaled by ``1 / (1 - p)``; in evaluation
    mode (``model.eval()``) the layer is the identity. See ``dropout``.

    Args:
        p: probability of an element being zeroed, in ``[0, 1]``. Default: 0.5
        inplace: overwrite the input with the result. Default: ``False``

    Shape:
        - Input: :math:`(*)`, any shape.
        - Output: :math:`(*)`, same shape as the input.

    >>> Dropout(p=0.2)
    Dropout(p=0.2, inplace=False)
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Randomly zero whole channels during training, as ``torch.nn.Dropout2d``.

    Each ``(n, c)`` feature map is zeroed with probability ``p`` on every forward call in
    training mode and the others are scaled by ``1 / (1 - p)``; identity in evaluation
    mode. See ``dropout2d``.

    Args:
        p: probability of a channel being zeroed, in ``[0, 1]``. Default: 0.5
        inplace: overwrite the input with the result. Default: ``False``

    Shape:
        - Input: :math:`(N, C, H, W)`.
        - Output: :math:`(N, C, H, W)`, same shape as the input.

    >>> Dropout2d(p=0.2)
    Dropout2d(p=0.2, inplace=False)
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)
