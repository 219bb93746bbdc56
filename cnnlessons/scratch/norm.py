"""Batch normalisation from scratch: ``batch_norm``, ``BatchNorm1d`` and ``BatchNorm2d``.

Batch normalisation (Ioffe & Szegedy, 2015) standardises every channel ``c`` over all
the values it takes in a mini-batch, then lets the network rescale it::

    mean_c = mean of x[:, c, ...]                    (over N and every spatial position)
    var_c  = mean of (x[:, c, ...] - mean_c) ** 2    (biased: divide by n, not n - 1)
    xhat   = (x - mean_c) / sqrt(var_c + eps)
    y      = weight_c * xhat + bias_c

In training mode the statistics come from the batch and, as a side effect, the running
estimates used at evaluation time are updated in place, exactly as PyTorch does::

    running_mean = (1 - momentum) * running_mean + momentum * mean_c
    running_var  = (1 - momentum) * running_var  + momentum * var_c * n / (n - 1)

(the stored variance is the *unbiased* one). In evaluation mode ``running_mean`` and
``running_var`` replace the batch statistics, so the layer is a fixed per-channel affine
map. Hand check: ``x = [[1.], [3.]]`` has mean 2 and biased variance 1, so with
``eps`` near 0 training mode gives ``[[-1.], [1.]]``; the running mean becomes
``0.9 * 0 + 0.1 * 2 = 0.2`` and the running variance ``0.9 * 1 + 0.1 * 2 = 1.1``
(unbiased variance ``1 * 2 / 1 = 2``).

Stricter than torch: on an empty input torch skips its argument checks and returns
an empty tensor; ``batch_norm`` checks it like any other (an empty batch in training
leaves the running statistics untouched, as in torch). ``num_features < 1`` raises.
float16/bfloat16 inputs are computed in float32 and rounded once, as torch does.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import Module, Parameter, init

from cnnlessons.arguments import check_count
from cnnlessons.scratch._checks import REDUCED, check_floating, opmath
from cnnlessons.scratch._docstrings import fill_docstring

__all__ = ["batch_norm", "BatchNorm1d", "BatchNorm2d"]

#: Whether the installed torch's ``BatchNorm*d`` takes ``bias=`` (torch 2.12 and later);
#: the scratch layers take it on every torch, and mirror torch's repr.
_TORCH_SHOWS_BIAS = torch.__version__ >= (2, 12)


def _channel_view(input: Tensor) -> tuple[list[int], tuple[int, ...]]:
    """Reduction dims (all but the channel dim 1) and the shape that broadcasts a ``(C,)``
    vector against ``input``: ``(1, C, 1, 1)`` for a 4-D input.
    """
    dims = [0] + list(range(2, input.dim()))
    shape = (1, input.shape[1]) + (1,) * (input.dim() - 2)
    return dims, shape


class _BatchNormFunction(Function):
    r"""Batch normalisation with a hand-written backward pass.

    Forward caches ``xhat`` (the normalised input), ``weight`` and ``inv_std`` =
    ``1 / sqrt(var + eps)`` per channel. In evaluation mode the output is computed
    directly as ``x * scale + shift`` and ``xhat`` is only cached when the weight
    gradient is wanted (it is needed for nothing else there).

    Backward, per channel, with ``n`` values ``x_i`` in the channel, upstream gradient
    ``dy_i`` and ``dxhat_i = weight * dy_i``::

        dbias   = sum_i dy_i
        dweight = sum_i dy_i * xhat_i

    *Evaluation mode*: mean and variance are constants (the running statistics), so
    ``y = weight * (x - mean) * inv_std + bias`` is affine in ``x`` and
    ``dx = dy * weight * inv_std``.

    *Training mode*: mean and variance depend on every ``x_i``. With
    ``d mean / d x_j = 1/n`` and ``d var / d x_j = 2 (x_j - mean) / n``, the chain rule
    through ``xhat_i = (x_i - mean) * (var + eps) ** -1/2`` gives::

        dvar   = sum_i dxhat_i * (x_i - mean) * (-1/2) * inv_std**3
        dmean  = -inv_std * sum_i dxhat_i          (the dvar term carries sum_i (x_i - mean) = 0)
        dx_j   = dxhat_j * inv_std + dvar * 2 (x_j - mean) / n + dmean / n

    and substituting ``x_j - mean = xhat_j / inv_std`` collapses to the compact form::

        dx = (1/n) * inv_std * (n * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))

    Because ``weight`` is constant per channel, ``sum(dxhat) = weight * dbias`` and
    ``sum(dxhat * xhat) = weight * dweight``: the two reductions needed for the
    parameter gradients are all the input gradient needs too, so it is computed as
    ``dx = weight * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat))``.

    The running statistics are buffers, not learnable, and get no gradient.
    """

    @staticmethod
    def forward(
        ctx,
        input: Tensor,
        running_mean: Tensor | None,
        running_var: Tensor | None,
        weight: Tensor | None,
        bias: Tensor | None,
        training: bool,
        momentum: float,
        eps: float,
    ) -> Tensor:
        dims, shape = _channel_view(input)
        # float16/bfloat16 are computed in float32 and rounded once at the end, as torch's
        # CPU kernel does: a float16 mean of values around 1000 would lose the deviations.
        compute = opmath(input.dtype)
        ctx.dtypes = tuple(None if t is None else t.dtype for t in (input, weight, bias))
        # torch keeps the batch mean and 1/std in float32 only when some parameter is
        # float32 ("mixed"); with all float16 it rounds both to float16 before normalising.
        mixed = any(t is not None and t.dtype != input.dtype
                    for t in (running_mean, running_var, weight, bias))
        stat_dtype = compute if mixed else input.dtype
        input, weight, bias = (None if t is None else t.to(compute) for t in (input, weight, bias))
        if training:
            n = input.numel() // input.shape[1]
            mean = input.mean(dim=dims)
            xhat = input - mean.view(shape)  # centred for now, normalised below
            var_sum = (xhat * xhat).sum(dim=dims)
            inv_std = (1 / torch.sqrt(var_sum / n + eps)).to(stat_dtype).to(compute)
            if stat_dtype != compute:
                xhat = input - mean.to(stat_dtype).to(compute).view(shape)
            # An empty batch (n = 0) has no statistics: the buffers stay as they are, as
            # in torch (its mean would be 0/0 = nan).
            if running_mean is not None and n > 0:
                # Same expressions as ATen's CPU kernel, so the buffers agree with torch's.
                old_mean, old_var = running_mean.to(compute), running_var.to(compute)
                running_mean.copy_(momentum * mean + (1 - momentum) * old_mean)
                running_var.copy_(momentum * (var_sum / (n - 1)) + (1 - momentum) * old_var)
            xhat.mul_(inv_std.view(shape))  # in place: the centred copy is ours
            # The output as torch's kernel forms it, x * scale + shift per channel (the
            # same numbers as weight * xhat + bias, and the same NaN for an inf weight).
            used_mean = mean.to(stat_dtype).to(compute)
            scale = inv_std if weight is None else weight * inv_std
            shift = -used_mean * scale if bias is None else bias - used_mean * scale
            output = (input * scale.view(shape)).add_(shift.view(shape))
        else:
            # Fixed statistics make the layer one per-channel affine map, y = x * scale + shift:
            # a single pass over the input instead of normalising first.
            running_mean, running_var = running_mean.to(compute), running_var.to(compute)
            inv_std = 1 / torch.sqrt(running_var + eps)
            scale = inv_std if weight is None else weight * inv_std
            shift = -running_mean * scale if bias is None else bias - running_mean * scale
            output = (input * scale.view(shape)).add_(shift.view(shape))
            # xhat only feeds the weight gradient: skip it when nobody asks for that.
            xhat = None
            if ctx.needs_input_grad[3]:
                xhat = (input - running_mean.view(shape)) * inv_std.view(shape)

        ctx.save_for_backward(xhat, weight, inv_std)
        ctx.training = training
        return output.to(ctx.dtypes[0])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        xhat, weight, inv_std = ctx.saved_tensors
        grad_output = grad_output.to(inv_std.dtype)  # float32 for float16/bfloat16 inputs
        dims, shape = _channel_view(grad_output)
        need_input, _, _, need_weight, need_bias = ctx.needs_input_grad[:5]
        grad_input = grad_weight = grad_bias = None

        # Per-channel factor d y / d xhat * d xhat / d x (for fixed statistics).
        scale = inv_std if weight is None else weight * inv_std
        # The two reductions shared by all three gradients.
        for_input = need_input and ctx.training  # only training mode's dx needs the sums
        sum_dy = grad_output.sum(dim=dims) if need_bias or for_input else None
        sum_dy_xhat = (grad_output * xhat).sum(dim=dims) if need_weight or for_input else None

        if need_input:
            if ctx.training:
                # (dy - mean(dy) - xhat * mean(dy * xhat)) * scale, in torch's order: the
                # bracket first, so an infinite weight gives +-inf, not inf - inf = NaN.
                n = grad_output.numel() // grad_output.shape[1]
                grad_input = grad_output - (sum_dy / n).view(shape)
                grad_input.addcmul_(xhat, (sum_dy_xhat / n).view(shape), value=-1)
                grad_input.mul_(scale.view(shape))
            else:
                grad_input = grad_output * scale.view(shape)
        if need_weight:
            grad_weight = sum_dy_xhat
        if need_bias:
            grad_bias = sum_dy
        grad_input, grad_weight, grad_bias = (
            None if g is None else g.to(dtype)
            for g, dtype in zip((grad_input, grad_weight, grad_bias), ctx.dtypes))
        return grad_input, None, None, grad_weight, grad_bias, None, None, None


def _check_batch_norm_args(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    eps: float,
) -> None:
    """Raise ``ValueError`` for any combination torch's ``F.batch_norm`` rejects."""
    if input.dim() < 2:
        raise ValueError(
            f"input has shape {tuple(input.shape)} ({input.dim()}-D); batch_norm expects "
            f"(N, C) or (N, C, *spatial) with at least 2 dimensions"
        )
    if (running_mean is None) != (running_var is None):
        raise ValueError(
            "running_mean and running_var must either both be None or neither be None, got "
            f"running_mean={'None' if running_mean is None else 'a tensor'} and "
            f"running_var={'None' if running_var is None else 'a tensor'}"
        )
    if not training and running_mean is None:
        raise ValueError(
            "running_mean and running_var must be given when training=False: evaluation "
            "mode normalises with the running statistics"
        )
    check_floating(input, "batch_norm")
    vectors = {"running_mean": running_mean, "running_var": running_var, "weight": weight,
               "bias": bias}
    for name, vector in vectors.items():
        allowed = (input.dtype, torch.float32) if input.dtype in REDUCED else (input.dtype,)
        if vector is not None and vector.dtype not in allowed:
            raise TypeError(
                f"batch_norm: {name} has dtype {vector.dtype} but input has dtype {input.dtype}; "
                "they must be equal (a float16/bfloat16 input may have float32 parameters)")
    dtypes = {vector.dtype for vector in vectors.values() if vector is not None}
    if len(dtypes) > 1:
        raise TypeError(
            f"batch_norm: running_mean, running_var, weight and bias have dtypes "
            f"{sorted(map(str, dtypes))}; the given ones must share one dtype")
    channels = input.shape[1]
    for name, vector in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):
        if vector is not None and vector.numel() != channels:
            raise ValueError(
                f"{name} has {vector.numel()} elements but input of shape "
                f"{tuple(input.shape)} has C={channels} channels; they must be equal"
            )
    for name, vector in (("running_mean", running_mean), ("running_var", running_var)):
        if vector is not None and vector.requires_grad:
            raise ValueError(
                f"{name} requires grad, but running statistics are buffers, not learnable"
            )
    if training and input.numel() // channels == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input of size "
            f"{tuple(input.shape)} (N * spatial = 1 value per channel: its variance is undefined)"
        )
    if training and eps <= 0.0:
        raise ValueError(f"eps={eps} must be positive during training")
    if eps < 0.0:
        raise ValueError(f"eps={eps} must be non-negative")


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-05,
) -> Tensor:
    r"""Batch normalisation over every channel of a batch, as torch's ``F.batch_norm``.

    Args:
        input: ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)`` (any ``(N, C, *)`` works).
        running_mean: ``(C,)`` running estimate of each channel's mean, or ``None``.
            Used for normalisation when ``training=False``; updated in place when
            ``training=True``.
        running_var: ``(C,)`` running estimate of each channel's (unbiased) variance, or
            ``None`` (only together with ``running_mean=None``).
        weight: ``(C,)`` per-channel scale :math:`\gamma`, or ``None`` (scale 1).
        bias: ``(C,)`` per-channel shift :math:`\beta`, or ``None`` (shift 0).
        training: ``True``: normalise with the batch mean and biased variance and update
            the running statistics; ``False``: normalise with the running statistics.
        momentum: weight of the new batch statistic in the running average,
            ``running = (1 - momentum) * running + momentum * batch_stat``.
        eps: added to the variance before the square root, for numerical stability.

    Returns:
        ``(N, C, *)`` tensor, same shape as ``input``.

    Shape:
        - Input: :math:`(N, C, *)`, e.g. :math:`(N, C)`, :math:`(N, C, L)` or :math:`(N, C, H, W)`.
        - running_mean, running_var, weight, bias: :math:`(C)`.
        - Output: :math:`(N, C, *)`, same shape as the input.

    Raises:
        ValueError: fewer than 2 input dimensions; only one of ``running_mean`` /
            ``running_var`` given; no running statistics in evaluation mode; a ``(C,)``
            vector of the wrong length; only one value per channel in training mode; a
            non-positive ``eps`` in training (negative in evaluation).
        TypeError: a non-floating input, or a ``(C,)`` vector whose dtype is not the
            input's (float32 is also allowed for a float16/bfloat16 input), or vectors
            of different dtypes (torch raises too). Checked on an empty input as well,
            where torch skips its checks.

    >>> x = torch.tensor([[1.0], [3.0]])
    >>> rm, rv = torch.zeros(1), torch.ones(1)
    >>> batch_norm(x, rm, rv, training=True, eps=1e-12).round(decimals=4)
    tensor([[-1.],
            [ 1.]])
    >>> rm, rv
    (tensor([0.2000]), tensor([1.1000]))
    """
    _check_batch_norm_args(input, running_mean, running_var, weight, bias, training, eps)
    return _BatchNormFunction.apply(input, running_mean, running_var, weight, bias, training,
                                    momentum, eps)


class _BatchNorm(Module):
    """State and forward logic shared by ``BatchNorm1d`` and ``BatchNorm2d`` (as torch's
    ``_BatchNorm``); subclasses only say which input ranks they accept.
    """

    # torch's version of this state_dict layout (version 2 added num_batches_tracked);
    # recorded in state_dict metadata, so both libraries read each other's dicts alike.
    _version = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-05,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_count(num_features, "num_features")
        factory_kwargs = {"device": device, "dtype": dtype}
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        # Registration order matches torch so state_dict keys come out in the same order.
        if affine:
            self.weight = Parameter(torch.empty(num_features, **factory_kwargs))
            if bias:
                self.bias = Parameter(torch.empty(num_features, **factory_kwargs))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory_kwargs))
            self.register_buffer("running_var", torch.ones(num_features, **factory_kwargs))
            # A count, hence int64 whatever the float dtype of the rest.
            self.register_buffer("num_batches_tracked",
                                 torch.tensor(0, dtype=torch.long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics, then the identity affine map (weight 1, bias 0)."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}(num_features={self.num_features}) got input of shape "
                f"{tuple(input.shape)} with {input.shape[1]} channels (dim 1); they must be equal"
            )

        # momentum=None asks for a cumulative (equal-weight) average of all batches seen:
        # weighting batch k by 1/k makes the running value the plain mean of batches 1..k.
        exponential_average_factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                exponential_average_factor = 1.0 / float(self.num_batches_tracked)

        # Batch statistics in training, and in evaluation too when there are no buffers.
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        # Buffers go in only when they are to be updated (training and tracked) or used (eval).
        use_buffers = not self.training or self.track_running_stats
        return batch_norm(
            input,
            self.running_mean if use_buffers else None,
            self.running_var if use_buffers else None,
            self.weight,
            self.bias,
            bn_training,
            exponential_average_factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        # The repr is the installed torch's: ``bias=`` appears where torch (2.12 and later)
        # shows it, and on an older torch only when it says something that torch cannot
        # express (an affine layer without a shift).
        shows_bias = _TORCH_SHOWS_BIAS or (self.affine and self.bias is None)
        bias = f"bias={self.bias is not None}, " if shows_bias else ""
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"{bias}track_running_stats={self.track_running_stats}"
        )


#: The constructor arguments and attributes ``BatchNorm1d`` and ``BatchNorm2d`` share,
#: written once and filled into both docstrings (their ``{args}`` and ``{attributes}``
#: fields) so that ``help()`` shows each class in full.
_BATCH_NORM_DOC = dict(
    args="""num_features: number of channels ``C`` of the input.
        eps: added to the variance for numerical stability. Default: 1e-5
        momentum: weight of the new batch statistic in the running averages, or ``None``
            for a cumulative (simple) average over all batches seen. Default: 0.1
        affine: learn the per-channel ``weight`` (init 1) and ``bias`` (init 0).
            Default: ``True``
        track_running_stats: keep ``running_mean`` (init 0), ``running_var`` (init 1)
            and ``num_batches_tracked`` (init 0) buffers and use them in evaluation mode;
            if ``False`` the buffers are ``None`` and batch statistics are always used.
            Default: ``True``
        device, dtype: where and in what float type to create the parameters and buffers.
        bias: with ``affine=True``, ``False`` leaves out the learnable shift. Default: ``True``""",
    attributes="""weight: ``(C,)`` learnable scale, or ``None``.
        bias: ``(C,)`` learnable shift, or ``None``.
        running_mean, running_var: ``(C,)`` buffers, or ``None``.
        num_batches_tracked: int64 scalar buffer counting training batches, or ``None``.""",
)


@fill_docstring(**_BATCH_NORM_DOC)
class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation over a 2-D or 3-D input, as ``torch.nn.BatchNorm1d``.

    Each of the ``C`` channels is standardised over the ``N`` (and ``L``) values it takes
    in the batch, then scaled by ``weight`` and shifted by ``bias``; see ``batch_norm``.

    Args:
        {args}

    Attributes:
        {attributes}

    Shape:
        - Input: :math:`(N, C)` or :math:`(N, C, L)`.
        - Output: :math:`(N, C)` or :math:`(N, C, L)`, same shape as the input.

    >>> BatchNorm1d(4, bias=False)  # a scale without a shift (torch 2.12+ spelling)
    BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=False, track_running_stats=True)
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in (2, 3):
            raise ValueError(
                f"BatchNorm1d expects 2-D input (N, C) or 3-D input (N, C, L), got "
                f"{input.dim()}-D input of shape {tuple(input.shape)}"
            )


@fill_docstring(**_BATCH_NORM_DOC)
class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation over a 4-D input, as ``torch.nn.BatchNorm2d``.

    Each of the ``C`` channels is standardised over its ``N * H * W`` values in the
    batch, then scaled by ``weight`` and shifted by ``bias``; see ``batch_norm``.

    Args:
        {args}

    Attributes:
        {attributes}

    Shape:
        - Input: :math:`(N, C, H, W)`.
        - Output: :math:`(N, C, H, W)`, same shape as the input.

    >>> bn = BatchNorm2d(6, momentum=None)  # running statistics: a plain average
    >>> bn(torch.randn(2, 6, 3, 3)).shape, bn.num_batches_tracked.item()
    (torch.Size([2, 6, 3, 3]), 1)
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 4:
            raise ValueError(
                f"BatchNorm2d expects 4-D input (N, C, H, W), got {input.dim()}-D input of "
                f"shape {tuple(input.shape)}"
            )
