"""Loss functions: negative log-likelihood, cross-entropy and mean squared error.

NLL loss
    ``input`` holds log-probabilities ``(N, C)``; sample ``n`` with class ``t_n``
    and class weight ``w[t_n]`` contributes ``l_n = -w[t_n] * input[n, t_n]``
    (0 if ``t_n == ignore_index``). ``'mean'`` is a *weighted* mean,
    ``sum_n l_n / sum_n w[t_n]`` over the non-ignored samples (as in torch: with
    weights it is not ``sum / N``). Only the picked entries appear, so the
    gradient is a scatter: ``dL/dinput[n, t_n] = -w[t_n] * G_n`` (divided by
    ``sum_n w[t_n]`` for ``'mean'``), every other entry 0.

Cross-entropy
    ``cross_entropy(x, t) = nll_loss(log_softmax(x, dim=1), t)``: the two
    hand-written backwards chain to the well-known ``softmax(x) - onehot(t)``
    (times the weight and reduction factor). With ``label_smoothing = e`` the
    target is ``(1 - e) * onehot(t) + e / C``, which splits into ``(1 - e) * nll``
    plus ``e / C`` times the "every class" term ``-sum_c w[c] * log p_c``; that
    term, and probability targets ``q`` (``-sum_c w[c] q_c log p_c``), use one more
    Function whose gradients are ``-w q G`` for ``log p`` and ``-w log p G`` for ``q``.

MSE loss
    ``l = (x - y)^2`` element-wise, so ``dl/dx = 2 (x - y)`` and ``dl/dy = -2 (x - y)``;
    ``'mean'`` divides by the number of elements.

Reductions: ``'mean'`` (default), ``'sum'`` or ``'none'`` (one loss per sample or
element). The deprecated ``size_average`` / ``reduce`` arguments are accepted and
mapped exactly like torch's legacy rule, with torch's warning: ``reduce=False``
means ``'none'``; otherwise ``size_average=False`` means ``'sum'``, else ``'mean'``.

Deviations from torch, all to turn a silent surprise into an error: an
out-of-range class index raises ``ValueError`` naming the value and the range
(torch: ``IndexError``/``RuntimeError``); ``mse_loss`` with different input and
target shapes raises instead of warning and broadcasting; a negative
``label_smoothing`` raises instead of being ignored; an unbatched ``(C,)`` input needs a
0-D target (torch also takes one of shape ``(1,)``). On an empty input torch skips its
argument checks and returns an empty (or 0, or nan) loss; these functions check it
like any other.
"""
from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import Module

from cnnlessons.scratch._checks import check_floating
from cnnlessons.scratch._docstrings import fill_docstring
from cnnlessons.scratch.activation import log_softmax

__all__ = ["nll_loss", "cross_entropy", "mse_loss", "NLLLoss", "CrossEntropyLoss", "MSELoss"]

_REDUCTIONS = ("none", "mean", "sum")


def _reduce(losses: Tensor, reduction: str, divisor) -> Tensor:
    """``'none'``: ``losses``; ``'sum'``: their sum; ``'mean'``: their sum over ``divisor``."""
    if reduction == "none":
        return losses
    total = losses.sum()
    return total if reduction == "sum" else total / divisor


def _grad_coefficient(grad_output: Tensor, reduction: str, divisor) -> Tensor:
    """``dL/dlosses`` for :func:`_reduce`: G itself, or G divided by the mean's divisor."""
    return grad_output / divisor if reduction == "mean" else grad_output


class _NLLLossFunction(Function):
    """Picks ``-w[t_n] * input[n, t_n]``; backward scatters ``-w[t_n] * G`` back.

    Inputs are already validated and batched: ``input`` (N, C, *), ``target``
    (N, *) with ignored entries replaced by the valid index 0, ``w`` (N, *) the
    weight of each target (0 where ignored), ``ignored`` (N, *) bool.
    """

    @staticmethod
    def forward(ctx, input: Tensor, target: Tensor, w: Tensor, ignored: Tensor,
                reduction: str) -> Tensor:
        picked = input.gather(1, target.unsqueeze(1)).squeeze(1)  # input[n, t_n, ...]
        # where, not w * ...: an ignored position contributes exactly 0, like torch.
        losses = torch.where(ignored, 0, -w * picked)
        divisor = w.sum()  # the weighted mean divides by the total target weight
        ctx.save_for_backward(target, w, ignored, divisor)
        ctx.input_shape = input.shape
        ctx.reduction = reduction
        return _reduce(losses, reduction, divisor)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        target, w, ignored, divisor = ctx.saved_tensors
        coef = _grad_coefficient(grad_output, ctx.reduction, divisor)
        # Ignored positions get no gradient, even when everything is ignored (0 / 0).
        values = torch.where(ignored, 0, -w * coef)
        grad_input = grad_output.new_zeros(ctx.input_shape)
        grad_input.scatter_(1, target.unsqueeze(1), values.unsqueeze(1))
        return grad_input, None, None, None, None


class _SoftTargetFunction(Function):
    """``-sum_c q[n, c] * logp[n, c]`` per position, reduced; ``q`` already holds the weights.

    ``logp`` and ``q``: (N, C, *). Backward: ``-q * G`` for ``logp``, ``-logp * G`` for ``q``.
    """

    @staticmethod
    def forward(ctx, logp: Tensor, q: Tensor, reduction: str, divisor) -> Tensor:
        losses = -(logp * q).sum(1)
        ctx.save_for_backward(logp, q)
        ctx.reduction = reduction
        ctx.divisor = divisor
        return _reduce(losses, reduction, divisor)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        logp, q = ctx.saved_tensors
        coef = _grad_coefficient(grad_output, ctx.reduction, ctx.divisor)
        if ctx.reduction == "none":
            coef = coef.unsqueeze(1)  # (N, *) -> (N, 1, *): the same for every class
        grad_logp = None
        if ctx.needs_input_grad[0]:
            # where q = 0 (an ignored target) the gradient is exactly 0, also when
            # every target is ignored and the mean divides by 0 (0 * inf would be NaN).
            grad_logp = torch.where(q == 0, 0, -q * coef)
        grad_q = -logp * coef if ctx.needs_input_grad[1] else None
        return grad_logp, grad_q, None, None


class _MSELossFunction(Function):
    """``w * (x - y)^2`` reduced; backward ``+-2 w (x - y) G`` and ``(x - y)^2 G`` for ``w``."""

    @staticmethod
    def forward(ctx, input: Tensor, target: Tensor, weight: Tensor | None,
                reduction: str) -> Tensor:
        diff = input - target
        squares = diff * diff
        if weight is None:
            losses, divisor = squares, squares.numel()
        else:
            losses, divisor = squares * weight, weight.sum()  # weighted mean, as torch
        output = _reduce(losses, reduction, divisor)
        ctx.save_for_backward(diff, weight, output)
        ctx.reduction = reduction
        ctx.divisor = divisor
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        diff, weight, output = ctx.saved_tensors
        coef = _grad_coefficient(grad_output, ctx.reduction, ctx.divisor)
        grad_diff = 2 * diff * coef if weight is None else 2 * diff * weight * coef
        grad_weight = None
        if weight is not None and ctx.needs_input_grad[2]:
            squares = diff * diff
            # mean: L = sum(w sq) / sum(w), so dL/dw_k = (sq_k - L) / sum(w).
            grad_weight = (squares - output if ctx.reduction == "mean" else squares) * coef
        grad_input = grad_diff if ctx.needs_input_grad[0] else None
        grad_target = -grad_diff if ctx.needs_input_grad[1] else None
        return grad_input, grad_target, grad_weight, None


def _reduction_arg(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """Resolve ``reduction``, honouring the deprecated flags exactly like torch."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
        warnings.warn(
            "size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead.", stacklevel=3)
        return reduction
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. "
                      "Please use reduction='mean' instead.", stacklevel=3)
        return "mean"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not valid: use 'none', 'mean' or 'sum'")
    return reduction


def _check_class_weight(weight: Tensor | None, input: Tensor, classes: int, fn: str) -> None:
    """``weight`` must be ``None`` or a ``(C,)`` tensor of the input's dtype."""
    if weight is None:
        return
    if tuple(weight.shape) != (classes,):
        raise ValueError(
            f"{fn}: weight has shape {tuple(weight.shape)}; expected ({classes},), "
            f"one weight per class (input has C={classes})"
        )
    if weight.dtype != input.dtype:
        raise TypeError(f"{fn}: weight has dtype {weight.dtype} but input has dtype {input.dtype}")


def _class_targets(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                   fn: str) -> tuple[Tensor, Tensor, Tensor, Tensor, bool]:
    """Validate class-index targets and compute each target's weight.

    Returns ``(input, target, w, ignored, unbatched)`` where ``input`` is (N, C, *)
    (a (C,) input gets N = 1), ``target`` (N, *) int64 with ignored entries set to
    the harmless index 0, ``w`` (N, *) the weight of each target (0 if ignored)
    and ``ignored`` (N, *) bool.
    """
    check_floating(input, fn)
    if input.dim() < 1:
        raise ValueError(f"{fn}: input is 0-D; expected (C,), (N, C) or (N, C, d1, ...)")
    if target.dtype not in (torch.int64, torch.uint8):
        raise TypeError(
            f"{fn}: target has dtype {target.dtype}; class indices must be int64 (torch.long)"
            + (" (floating targets are class probabilities, which only cross_entropy accepts)"
               if target.is_floating_point() else "")
        )
    unbatched = input.dim() == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    classes = input.shape[1]
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{fn}: target has shape {tuple(target.shape[unbatched:])} but input of shape "
            f"{tuple(input.shape[unbatched:])} needs target shape {expected[unbatched:]}: "
            "one class index per sample (and per position)"
        )
    _check_class_weight(weight, input, classes, fn)
    if weight is not None and weight.requires_grad and torch.is_grad_enabled():
        raise ValueError(
            f"{fn}: weight requires grad, but the loss is not differentiable with respect to "
            "the class weights of index targets (torch refuses too); pass weight.detach()"
        )
    target = target.long()  # no copy for int64; uint8 would overflow when compared with -100
    ignored = target == ignore_index
    target = target.masked_fill(ignored, 0)  # any valid class will do: its weight becomes 0
    if target.numel():
        low, high = target.aminmax()  # one pass finds both ends of the range
        for bad in (low.item(), high.item()):
            if not 0 <= bad < classes:
                raise ValueError(
                    f"{fn}: target contains {bad}, but input has {classes} classes: targets "
                    f"must be in [0, {classes - 1}] (or equal ignore_index={ignore_index})"
                )
    if weight is None:
        w = (~ignored).to(input.dtype)
    else:
        w = weight[target].masked_fill(ignored, 0)
    return input, target, w, ignored, unbatched


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of the target classes (mirrors ``F.nll_loss``).

    ``l_n = -weight[t_n] * input[n, t_n]``; ``input`` should hold log-probabilities,
    e.g. the output of ``log_softmax(x, dim=1)``.

    Args:
        input: log-probabilities, ``(N, C)``, ``(C,)`` for one sample, or
            ``(N, C, d1, ..., dK)`` for a class per position (e.g. per pixel).
        target: class indices, int64, ``(N)``, ``()`` or ``(N, d1, ..., dK)``;
            each in ``[0, C-1]`` or equal to ``ignore_index``.
        weight: ``(C)``, a rescaling weight per class. Default: all ones.
        size_average, reduce: deprecated; mapped to ``reduction`` like torch.
        ignore_index: a target value that contributes neither loss nor gradient
            and is left out of the mean's denominator. Default: -100.
        reduction: ``'mean'`` (``sum_n l_n / sum_n weight[t_n]`` over non-ignored
            targets; NaN if all are ignored, like torch), ``'sum'`` or ``'none'``.

    Shape:
        - Input: :math:`(N, C)`, :math:`(C)` or :math:`(N, C, d_1, ..., d_K)`.
        - Target: :math:`(N)`, :math:`()` or :math:`(N, d_1, ..., d_K)`.
        - Output: :math:`()`, a scalar; with ``reduction='none'`` :math:`(N)`, :math:`()` or
          :math:`(N, d_1, ..., d_K)`, the target's shape.

    Raises:
        ValueError: a target outside ``[0, C-1]`` (other than ``ignore_index``),
            mismatched shapes, a badly shaped ``weight``, a ``weight`` that
            requires grad, or an unknown ``reduction``.
        TypeError: non-floating input, non-integer target, or a weight dtype
            different from the input's.

    >>> logp = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    >>> nll_loss(logp, torch.tensor([0, 2]), reduction='none')
    tensor([0.6931, 0.2231])
    """
    reduction = _reduction_arg(size_average, reduce, reduction)
    input, target, w, ignored, unbatched = _class_targets(input, target, weight,
                                                          ignore_index, "nll_loss")
    loss = _NLLLossFunction.apply(input, target, w, ignored, reduction)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def _class_weight_view(weight: Tensor | None, logp: Tensor) -> Tensor | None:
    """``weight`` (C,) viewed as (1, C, 1, ...) to broadcast against (N, C, *)."""
    if weight is None:
        return None
    return weight.reshape((1, -1) + (1,) * (logp.dim() - 2))


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between softmax(``input``) and the target (mirrors ``F.cross_entropy``).

    For class-index targets this is ``nll_loss(log_softmax(input, 1), target)``,
    computed stably for any logits. Targets may also be class probabilities
    (a floating tensor shaped like ``input``): ``l_n = -sum_c weight[c] q[n, c]
    log p[n, c]``, and ``'mean'`` then divides by the number of samples (and
    positions), like torch.

    Args:
        input: unnormalised scores (logits), ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``.
        target: class indices (int64, shape ``(N)``, ``()`` or ``(N, d1, ...)``) or
            class probabilities (floating, same shape as ``input``).
        weight: ``(C)``, a rescaling weight per class. Default: all ones.
        size_average, reduce: deprecated; mapped to ``reduction`` like torch.
        ignore_index: target value to ignore (index targets only). Default: -100.
        reduction: ``'mean'`` (weighted mean for index targets, as in
            :func:`nll_loss`), ``'sum'`` or ``'none'``.
        label_smoothing: ``e`` in [0, 1]; the target becomes
            ``(1 - e) * target + e / C``. Default: 0.0.

    Shape:
        - Input: :math:`(N, C)`, :math:`(C)` or :math:`(N, C, d_1, ..., d_K)`.
        - Target: :math:`(N)`, :math:`()` or :math:`(N, d_1, ..., d_K)` for indices;
          the input's shape for probabilities.
        - Output: :math:`()`, a scalar; with ``reduction='none'`` :math:`(N)`, :math:`()` or
          :math:`(N, d_1, ..., d_K)`.

    Raises:
        ValueError: as :func:`nll_loss`, plus ``label_smoothing`` outside [0, 1]
            (stricter than torch, which accepts a negative one), probability targets of
            another shape or with ``ignore_index`` set.

    >>> cross_entropy(torch.tensor([[1000.0, 0.0]]), torch.tensor([1]))
    tensor(1000.)
    """
    reduction = _reduction_arg(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing={label_smoothing} must be in [0, 1]")
    if target.is_floating_point():
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction,
                                            label_smoothing)
    input, target, w, ignored, unbatched = _class_targets(input, target, weight,
                                                          ignore_index, "cross_entropy")
    logp = log_softmax(input, dim=1)
    loss = _NLLLossFunction.apply(logp, target, w, ignored, reduction)
    if label_smoothing > 0:
        classes = input.shape[1]
        # The uniform part of the smoothed target: every class (weighted) at every
        # non-ignored position; its mean uses the same denominator as the NLL part.
        q = (~ignored).unsqueeze(1).to(logp.dtype).expand_as(logp)
        if weight is not None:
            q = q * _class_weight_view(weight, logp)
        # An ignored position drops out entirely, as torch masks it: its log-probabilities
        # may be -inf or NaN, and 0 * -inf would make the loss NaN.
        masked = torch.where(ignored.unsqueeze(1), 0, logp)
        uniform = _SoftTargetFunction.apply(masked, q, reduction, w.sum())
        loss = (1 - label_smoothing) * loss + _per_class(label_smoothing, classes) * uniform
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def _per_class(label_smoothing: float, classes: int) -> float:
    """``label_smoothing / classes``, infinite for no classes (torch's float division)."""
    return label_smoothing / classes if classes else math.inf


def _cross_entropy_probabilities(input: Tensor, target: Tensor, weight: Tensor | None,
                                 ignore_index: int, reduction: str,
                                 label_smoothing: float) -> Tensor:
    """Cross-entropy with class-probability targets ``q`` shaped like ``input``."""
    fn = "cross_entropy"
    check_floating(input, fn)
    if input.dim() < 1:
        raise ValueError(f"{fn}: input is 0-D; expected (C,), (N, C) or (N, C, d1, ...)")
    if target.shape != input.shape:
        raise ValueError(
            f"{fn}: floating target of shape {tuple(target.shape)} is read as class "
            f"probabilities and must have the input's shape {tuple(input.shape)}; "
            "for class indices use an int64 target"
        )
    if ignore_index != -100:
        raise ValueError(f"{fn}: ignore_index={ignore_index} is not supported for "
                         "class-probability (floating) targets")
    unbatched = input.dim() == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    classes = input.shape[1]
    # The result has the promoted dtype of logits, probabilities and class weights, as in
    # torch (float32 logits with float64 targets give a float64 loss).
    dtype = torch.promote_types(input.dtype, target.dtype)
    if weight is not None and weight.is_floating_point():
        dtype = torch.promote_types(dtype, weight.dtype)
        weight = weight.to(dtype)
    _check_class_weight(weight, input.to(dtype), classes, fn)
    # torch takes the log-softmax in the logits' own dtype and promotes the result.
    logp = log_softmax(input, dim=1).to(dtype)
    q = target.to(logp.dtype)
    if label_smoothing > 0:
        q = q * (1 - label_smoothing) + _per_class(label_smoothing, classes)
    if weight is not None:
        q = q * _class_weight_view(weight, logp)
    samples = input.numel() // classes if classes else 0  # the mean is over N * d1 * ...
    loss = _SoftTargetFunction.apply(logp, q, reduction, samples)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Squared error ``(input - target)^2``, reduced (mirrors ``F.mse_loss``).

    Args:
        input: any shape ``(*)``, floating point.
        target: same shape as ``input``. (torch warns and broadcasts other shapes,
            usually a bug such as ``(N, 1)`` against ``(N)`` giving ``(N, N)``;
            we raise.)
        size_average, reduce: deprecated; mapped to ``reduction`` like torch.
        reduction: ``'mean'`` (over all elements), ``'sum'`` or ``'none'``.
        weight: optional per-element weight, same shape as ``input`` (torch 2.x):
            losses become ``weight * (input - target)^2`` and ``'mean'`` divides by
            ``weight.sum()``.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Target: :math:`(*)`, same shape as the input.
        - Output: :math:`()`, a scalar; with ``reduction='none'`` :math:`(*)`, the input's shape.

    >>> mse_loss(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
    tensor(2.)
    """
    reduction = _reduction_arg(size_average, reduce, reduction)
    check_floating(input, "mse_loss")
    check_floating(target, "mse_loss", "target")
    if input.shape != target.shape:
        raise ValueError(
            f"mse_loss: target has shape {tuple(target.shape)} but input has shape "
            f"{tuple(input.shape)}; they must be equal (no silent broadcasting)"
        )
    if weight is not None and weight.shape != input.shape:
        raise ValueError(f"mse_loss: weight has shape {tuple(weight.shape)}; it must have "
                         f"the input's shape {tuple(input.shape)}")
    return _MSELossFunction.apply(input, target, weight, reduction)


class _Loss(Module):
    """Base of the losses: resolves the deprecated flags into ``self.reduction``, like torch."""

    reduction: str

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            self.reduction = _reduction_arg(size_average, reduce, reduction)
        else:
            self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with optional class weights, kept in a buffer named ``weight`` like torch."""

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.weight: Tensor | None


#: The constructor arguments ``NLLLoss`` and ``CrossEntropyLoss`` share, written once and
#: filled into both docstrings (their ``{args}`` field) so that ``help()`` shows them in full.
_WEIGHTED_LOSS_ARGS = (
    """weight: ``(C)`` class weights, stored as the buffer ``weight``. Default: ``None``.
        size_average, reduce: deprecated; mapped to ``reduction`` like torch.
        ignore_index: a class-index target value that contributes neither loss nor
            gradient. Default: -100.
        reduction: ``'mean'`` | ``'sum'`` | ``'none'``. Default: ``'mean'``."""
)


@fill_docstring(args=_WEIGHTED_LOSS_ARGS)
class NLLLoss(_WeightedLoss):
    """Negative log-likelihood loss (mirrors ``torch.nn.NLLLoss``); see :func:`nll_loss`.

    Args:
        {args}

    Shape:
        - Input: :math:`(N, C)`, :math:`(C)` or :math:`(N, C, d_1, ..., d_K)`,
          log-probabilities.
        - Target: :math:`(N)`, :math:`()` or :math:`(N, d_1, ..., d_K)`, int64 in [0, C-1].
        - Output: :math:`()`, a scalar; with ``reduction='none'`` :math:`(N)`, :math:`()` or
          :math:`(N, d_1, ..., d_K)`, the target's shape.
    """

    __constants__ = ["ignore_index", "reduction"]
    ignore_index: int

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)


@fill_docstring(args=_WEIGHTED_LOSS_ARGS)
class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy on logits (mirrors ``torch.nn.CrossEntropyLoss``); see :func:`cross_entropy`.

    Args:
        {args}
        label_smoothing: in [0, 1]. Default: 0.0.

    Shape:
        - Input: :math:`(N, C)`, :math:`(C)` or :math:`(N, C, d_1, ..., d_K)`, logits.
        - Target: class indices :math:`(N)`, :math:`()`, :math:`(N, d_1, ..., d_K)`,
          or class probabilities shaped like the input.
        - Output: :math:`()`, a scalar; with ``reduction='none'`` :math:`(N)`, :math:`()` or
          :math:`(N, d_1, ..., d_K)`, one loss per sample (and position).
    """

    __constants__ = ["ignore_index", "reduction", "label_smoothing"]
    ignore_index: int
    label_smoothing: float

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing)


class MSELoss(_Loss):
    """Mean squared error (mirrors ``torch.nn.MSELoss``); see :func:`mse_loss`.

    Args:
        size_average, reduce: deprecated; mapped to ``reduction`` like torch.
        reduction: ``'mean'`` | ``'sum'`` | ``'none'``. Default: ``'mean'``.

    Shape:
        - Input: :math:`(*)`, any number of dimensions.
        - Target: :math:`(*)`, same shape as the input.
        - Output: :math:`()`, a scalar; with ``reduction='none'`` :math:`(*)`, the input's shape.
    """

    __constants__ = ["reduction"]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)
