"""Stochastic gradient descent from scratch: ``SGD``.

``torch.optim.Optimizer`` supplies the bookkeeping (parameter groups, ``state``,
``state_dict``/``load_state_dict``, ``zero_grad``, hooks); only the update rule is ours.
For every parameter ``p`` with gradient ``g`` it is, in torch's order of operations::

    d_p = -g if maximize else g
    d_p = d_p + weight_decay * p                 (L2 penalty 0.5 * wd * |p|^2)
    b   = d_p                       on the first step, with momentum
    b   = momentum * b + (1 - dampening) * d_p   afterwards
    d_p = d_p + momentum * b if nesterov else b
    p   = p - lr * d_p

Hand check: ``lr=0.1, momentum=0.9`` on a constant gradient ``g = 1`` moves ``p`` by
``-0.1``, then ``-0.19`` (``b = 0.9 * 1 + 1``), then ``-0.271`` (``b = 2.71``).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.optim import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    Args:
        params: iterable of parameters, of ``(name, parameter)`` pairs, or of dicts
            defining parameter groups (each may override the options below).
        lr: learning rate, :math:`\geq 0`. Default: 1e-3 (torch's default)
        momentum: momentum factor, :math:`\geq 0`; 0 disables the buffer. Default: 0
        dampening: how much of the new gradient the buffer leaves out,
            ``b = momentum * b + (1 - dampening) * d_p``. Default: 0
        weight_decay: L2 penalty factor, :math:`\geq 0`, added to the gradient as
            ``weight_decay * p``. Default: 0
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening = 0``).
            Default: ``False``
        maximize: ascend the objective instead of descending. Default: ``False``

    State:
        ``optimizer.state[p]["momentum_buffer"]``: the buffer ``b``, same shape as ``p``
        (only when ``momentum != 0``, under torch's key, so ``state_dict``s load both
        ways between this class and ``torch.optim.SGD``).

    Shape:
        - Each parameter: any shape :math:`(*)`; its gradient and momentum buffer have
          the same shape.

    Raises:
        ValueError: negative ``lr``, ``momentum`` or ``weight_decay``, a tensor ``lr`` with
            more than one element, or ``nesterov=True`` without ``momentum > 0`` and
            ``dampening = 0``.

    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     w.sum().backward()
    ...     _ = opt.step()
    >>> w.detach().round(decimals=4)  # 1 - 0.1 - 0.19 - 0.271
    tensor([0.4390])
    """

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError(
                f"lr must be a float or a 1-element tensor, got a tensor of shape {tuple(lr.shape)}"
            )
        if lr < 0.0:
            raise ValueError(f"lr={lr} must be non-negative (learning rate)")
        if momentum < 0.0:
            raise ValueError(f"momentum={momentum} must be non-negative")
        if weight_decay < 0.0:
            raise ValueError(f"weight_decay={weight_decay} must be non-negative")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"nesterov=True requires momentum > 0 and dampening = 0, got "
                f"momentum={momentum} and dampening={dampening}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient, one SGD step.

        Args:
            closure: optional function that re-evaluates the model (zeroing gradients,
                computing the loss and calling ``backward``) and returns the loss; it runs
                with gradients enabled before the update.

        Returns:
            The closure's loss, or ``None`` without a closure.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            # Read per step: a scheduler (e.g. OneCycleLR) rewrites lr and momentum in place.
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            weight_decay = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p.grad is None:  # not used in this loss: leave it (and its buffer) alone
                    continue
                d_p = -p.grad if maximize else p.grad
                if weight_decay != 0:
                    d_p = d_p.add(p, alpha=weight_decay)  # a new tensor: p.grad stays as is
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        # First step: the buffer starts at the gradient, not at 0, so
                        # step one is not shrunk by (1 - dampening).
                        buf = state["momentum_buffer"] = d_p.detach().clone()
                    else:
                        buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
                    # Nesterov looks ahead: the gradient plus where momentum is taking us.
                    d_p = d_p.add(buf, alpha=momentum) if nesterov else buf
                p.add_(d_p, alpha=-lr)
        return loss
