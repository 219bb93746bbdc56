"""Issue 15, one test per edge the fuzzer (tests/test_edges.py) found: scratch against torch.

Empty tensors, non-finite values, mixed and reduced-precision dtypes, and argument errors
that must be our one-line message rather than a torch internal.
"""
from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F

import cnnlessons.scratch as snn
import cnnlessons.scratch.functional as SF


def _same(ours, theirs, atol=1e-6, rtol=1e-5):
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    torch.testing.assert_close(ours, theirs, equal_nan=True, atol=atol, rtol=rtol)


def _one_line(error: pytest.ExceptionInfo, *words: str) -> None:
    """Our message: one line, naming what it should (not a torch internal)."""
    message = str(error.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, message


# ----------------------------------------------------------------------- empty tensors


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (2, 3, 0)])
def test_batch_norm_training_on_an_empty_batch_leaves_the_running_stats(shape):
    stats = {lib: (torch.full((3,), 1.5), torch.full((3,), 2.5)) for lib in ("ours", "torch")}
    x = torch.empty(shape, requires_grad=True)
    ours = SF.batch_norm(x, *stats["ours"], training=True)
    theirs = F.batch_norm(x, *stats["torch"], training=True)
    _same(ours, theirs)
    for a, b in zip(stats["ours"], stats["torch"]):
        _same(a, b)  # untouched: 1.5 and 2.5, not nan
    assert stats["ours"][0].tolist() == [1.5] * 3


def test_batch_norm_module_on_an_empty_batch():
    ours, theirs = snn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    x = torch.empty(0, 3)
    _same(ours(x), theirs(x))
    for a, b in zip(ours.buffers(), theirs.buffers()):
        _same(a, b)


@pytest.mark.parametrize("fn,x,w", [
    ("conv1d", (0, 2, 5), (4, 2, 3)),
    ("conv2d", (0, 2, 5, 5), (4, 2, 3, 3)),
    ("conv_transpose1d", (0, 2, 5), (2, 4, 3)),
    ("conv_transpose2d", (0, 2, 3, 3), (2, 4, 3, 3)),
])
def test_conv_on_empty_tensors_returns_torchs_empty_result(fn, x, w):
    x, w = torch.randn(x, requires_grad=True), torch.randn(w, requires_grad=True)
    ours, theirs = getattr(SF, fn)(x, w), getattr(F, fn)(x, w)
    _same(ours, theirs)
    g = torch.randn_like(theirs)
    grads = torch.autograd.grad(ours, (x, w), g)
    expected = torch.autograd.grad(theirs, (x, w), g)
    for a, b in zip(grads, expected):
        _same(a, b)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((0,), 0), ((2, 0), -1), ((0, 3), 1), ((0, 0), 0)])
def test_softmax_over_an_empty_dimension(fn, shape, dim):
    x = torch.randn(shape, requires_grad=True)
    ours, theirs = getattr(SF, fn)(x, dim=dim), getattr(F, fn)(x, dim=dim)
    _same(ours, theirs)
    ours.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_losses_of_an_empty_batch_are_torchs(reduction):
    x, t = torch.empty(0, 3), torch.empty(0, dtype=torch.long)
    for fn, args in (("cross_entropy", (x, t)), ("nll_loss", (x, t)), ("mse_loss", (x, x))):
        _same(getattr(SF, fn)(*args, reduction=reduction),
              getattr(F, fn)(*args, reduction=reduction))  # mean of nothing: nan
    kw = {"reduction": reduction, "label_smoothing": 0.1}
    for x, t in ((torch.empty(0, 0, 1), torch.empty(0, 1, dtype=torch.long)),
                 (torch.empty(2, 0), torch.empty(2, 0))):  # no classes
        _same(SF.cross_entropy(x, t, **kw), F.cross_entropy(x, t, **kw))


def test_pooling_and_linear_on_an_empty_batch():
    x = torch.randn(0, 2, 6, 6)
    _same(SF.max_pool2d(x, 2), F.max_pool2d(x, 2))
    _same(SF.avg_pool2d(x, 2), F.avg_pool2d(x, 2))
    _same(SF.adaptive_max_pool2d(x, 3), F.adaptive_max_pool2d(x, 3))
    y = torch.randn(0, 4, requires_grad=True)
    w = torch.randn(3, 4)
    _same(SF.linear(y, w), F.linear(y, w))
    _same(SF.linear(torch.randn(2, 0), torch.randn(3, 0)), F.linear(torch.randn(2, 0),
                                                                     torch.randn(3, 0)))


def test_adaptive_max_pool_backward_on_an_empty_batch():
    x = torch.randn(0, 2, 4, requires_grad=True)
    SF.adaptive_max_pool1d(x, 2).sum().backward()
    assert x.grad.shape == (0, 2, 4)


@pytest.mark.parametrize("fn,shape", [("max_pool2d", (1, 0, 4, 4)), ("avg_pool1d", (0, 0, 5))])
def test_pooling_an_empty_channel_dimension_raises_like_torch(fn, shape):
    x = torch.randn(shape)
    with pytest.raises(RuntimeError):
        getattr(F, fn)(x, 2)
    with pytest.raises(ValueError) as error:
        getattr(SF, fn)(x, 2)
    _one_line(error, "only the batch size N may be 0")


# ------------------------------------------------------------------------ non-finite


def test_cross_entropy_label_smoothing_masks_an_ignored_minus_inf():
    x = torch.randn(3, 4, requires_grad=True)
    with torch.no_grad():
        x[1, 2] = -math.inf
    t = torch.tensor([0, -100, 1])
    for reduction in ("none", "mean", "sum"):
        ours = SF.cross_entropy(x, t, reduction=reduction, label_smoothing=0.1)
        theirs = F.cross_entropy(x, t, reduction=reduction, label_smoothing=0.1)
        assert not ours.isnan().any()
        _same(ours, theirs)
    ours.backward()
    grad = x.grad.clone()
    x.grad = None
    theirs.backward()
    _same(grad, x.grad)


@pytest.mark.parametrize("fn", ["relu", "leaky_relu"])
def test_relu_gradient_at_nan_is_torchs(fn):
    x = torch.tensor([math.nan, -1.0, 2.0, math.inf, -math.inf, 0.0], requires_grad=True)
    ours = torch.autograd.grad(getattr(SF, fn)(x).sum(), x)[0]
    theirs = torch.autograd.grad(getattr(F, fn)(x).sum(), x)[0]
    _same(ours, theirs)
    assert ours[0] == (1.0 if fn == "relu" else 0.01)


def test_pairwise_distance_inf_norm_with_a_nan_is_torchs():
    x1 = torch.tensor([[1.0, math.nan, 3.0], [1.0, -5.0, 2.0]], requires_grad=True)
    x2 = torch.zeros(2, 3)
    for p in (math.inf, -math.inf):
        ours, theirs = SF.pairwise_distance(x1, x2, p=p), F.pairwise_distance(x1, x2, p=p)
        _same(ours, theirs)
        _same(torch.autograd.grad(ours.sum(), x1)[0], torch.autograd.grad(theirs.sum(), x1)[0])


def test_pairwise_distance_negative_norm_of_nothing_raises_like_torch():
    x = torch.empty(4, 0)
    with pytest.raises(RuntimeError):
        F.pairwise_distance(x, x, p=-1.0)
    with pytest.raises(ValueError) as error:
        SF.pairwise_distance(x, x, p=-1.0)
    _one_line(error, "p=-1.0", "empty last dimension")


def test_adaptive_avg_pool_with_infinities_is_torchs():
    x = torch.tensor([[[1.0, math.inf, 2.0, -math.inf, 3.0, 4.0]]])
    _same(SF.adaptive_avg_pool1d(x, 3), F.adaptive_avg_pool1d(x, 3))


def test_adaptive_max_pool_picks_torchs_nan():
    x = torch.tensor([[[math.nan, 1.0, math.nan, 2.0]]], requires_grad=True)
    ours, i = SF.adaptive_max_pool1d(x, 1, return_indices=True)
    theirs, j = F.adaptive_max_pool1d(x, 1, return_indices=True)
    _same(ours, theirs)
    assert i.tolist() == j.tolist()


# ---------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("x_dtype,p_dtype", [(torch.float64, torch.float32),
                                              (torch.float32, torch.float16),
                                              (torch.float16, torch.bfloat16)])
def test_batch_norm_mixed_dtypes_raise_where_torch_raises(x_dtype, p_dtype):
    x = torch.randn(4, 3, dtype=x_dtype)
    rm, rv = torch.zeros(3, dtype=p_dtype), torch.ones(3, dtype=p_dtype)
    with pytest.raises(RuntimeError):
        F.batch_norm(x, rm, rv, training=True)
    with pytest.raises(TypeError) as error:
        SF.batch_norm(x, rm, rv, training=True)
    _one_line(error, "running_mean", str(p_dtype), str(x_dtype))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("params", ["same", "float32"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_in_reduced_precision_is_torchs(dtype, params, training):
    p_dtype = dtype if params == "same" else torch.float32
    x = (torch.randn(8, 3, 5, generator=torch.Generator().manual_seed(0)) * 3 + 1000).to(dtype)
    vectors = [torch.tensor([999.0, 1000.0, 1001.0]), torch.tensor([2.0, 9.0, 0.5]),
               torch.tensor([1.0, 2.0, -1.0]), torch.tensor([0.0, 0.5, 3.0])]
    ours_v = [v.to(p_dtype) for v in vectors]
    theirs_v = [v.to(p_dtype) for v in vectors]
    ours = SF.batch_norm(x, *ours_v, training=training)
    theirs = F.batch_norm(x, *theirs_v, training=training)
    assert ours.dtype == theirs.dtype == dtype
    if training:
        assert ours.float().abs().amax() > 0.5  # values around 1000 keep their deviations
    _same(ours.float(), theirs.float(), atol=1e-2, rtol=1e-2)
    for a, b in zip(ours_v[:2], theirs_v[:2]):
        _same(a.float(), b.float(), atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("fn,x,w", [("conv1d", (1, 1, 4), (1, 1, 2)),
                                     ("conv2d", (1, 1, 4, 4), (1, 1, 2, 2))])
def test_conv_float32_bias_with_float64_input_raises_like_torch(fn, x, w):
    x, w, b = torch.randn(x, dtype=torch.float64), torch.randn(w, dtype=torch.float64), \
        torch.randn(1)
    with pytest.raises(RuntimeError):
        getattr(F, fn)(x, w, b)
    with pytest.raises(TypeError) as error:
        getattr(SF, fn)(x, w, b)
    _one_line(error, "bias has dtype torch.float32", "torch.float64")


@pytest.mark.parametrize("fn,w", [("conv_transpose1d", (1, 1, 2)),
                                  ("conv_transpose2d", (1, 1, 2, 2))])
@pytest.mark.parametrize("x_dtype,b_dtype", [(torch.float64, torch.float32),
                                             (torch.float16, torch.float32)])
def test_conv_transpose_casts_another_bias_dtype_like_torch(fn, w, x_dtype, b_dtype):
    x = torch.randn(w[:2] + (4,) * (len(w) - 2), dtype=x_dtype)
    w, b = torch.randn(w, dtype=x_dtype), torch.randn(1, dtype=b_dtype, requires_grad=True)
    ours, theirs = getattr(SF, fn)(x, w, b), getattr(F, fn)(x, w, b)
    tol = 2e-2 if x_dtype == torch.float16 else 1e-6
    _same(ours, theirs, atol=tol, rtol=tol)
    ours.sum().backward()
    assert b.grad.dtype == b_dtype


def test_linear_float32_bias_with_float64_input_raises_like_torch():
    x, w, b = torch.randn(2, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64), \
        torch.randn(4)
    with pytest.raises(RuntimeError):
        F.linear(x, w, b)
    with pytest.raises(TypeError) as error:
        SF.linear(x, w, b)
    _one_line(error, "bias has dtype torch.float32")


@pytest.mark.parametrize("logits,probs", [(torch.float32, torch.float64),
                                          (torch.float16, torch.float32),
                                          (torch.float64, torch.float32)])
def test_cross_entropy_probability_targets_promote_like_torch(logits, probs):
    x = torch.randn(4, 3, dtype=logits, requires_grad=True)
    q = torch.rand(4, 3, dtype=probs).softmax(1)
    ours, theirs = SF.cross_entropy(x, q), F.cross_entropy(x, q)
    _same(ours, theirs, atol=2e-3, rtol=2e-3)
    w = torch.rand(3, dtype=torch.float64)
    _same(SF.cross_entropy(x, q, weight=w), F.cross_entropy(x, q, weight=w), atol=2e-3,
          rtol=2e-3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_avg_pool_of_30000s_does_not_overflow(dtype):
    for x, fn in ((torch.full((1, 1, 4), 30000.0, dtype=dtype), "avg_pool1d"),
                  (torch.full((1, 1, 4, 4), 30000.0, dtype=dtype), "avg_pool2d")):
        ours, theirs = getattr(SF, fn)(x, 4), getattr(F, fn)(x, 4)
        assert ours.isfinite().all()
        _same(ours, theirs)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_softmax_in_reduced_precision_is_torchs(dtype):
    x = (torch.randn(3, 50, generator=torch.Generator().manual_seed(1)) * 4).to(dtype)
    for fn in ("softmax", "log_softmax"):
        _same(getattr(SF, fn)(x, dim=1), getattr(F, fn)(x, dim=1), atol=1e-2, rtol=1e-2)


# ---------------------------------------------------------------------------- errors


def test_linear_negative_features_is_our_message():
    with pytest.raises(RuntimeError):
        torch.nn.Linear(-1, 0)
    with pytest.raises(ValueError) as error:
        snn.Linear(-1, 0)
    _one_line(error, "in_features=-1", "non-negative")
    with pytest.raises(TypeError) as error:
        snn.Linear(2.5, 3)
    _one_line(error, "in_features=2.5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "Initializing zero-element tensors is a no-op"
        assert snn.Linear(0, 3)(torch.randn(2, 0)).shape == torch.nn.Linear(0, 3)(
            torch.randn(2, 0)).shape


def test_circular_conv_of_the_wrong_rank_is_convs_message():
    layer = snn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")
    with pytest.raises(ValueError) as error:
        layer(torch.randn(5, 5))
    _one_line(error, "input has shape (5, 5)", "4-D batch")
    with pytest.raises(ValueError) as error:
        snn.Conv2d(1, 1, 3, padding=(1,), padding_mode="circular")
    _one_line(error, "padding=(1,)", "padding_mode='circular'")


def test_conv_with_fewer_output_channels_than_groups_raises_like_torch():
    for fn, w in (("conv1d", (0, 1, 3)), ("conv2d", (0, 1, 3, 3))):
        x = torch.randn((2, 1) + (5,) * (len(w) - 2))
        with pytest.raises(RuntimeError):
            getattr(F, fn)(x, torch.randn(w))
        with pytest.raises(ValueError) as error:
            getattr(SF, fn)(x, torch.randn(w))
        _one_line(error, "out_channels=0", "at least groups=1")


def test_conv_empty_spatial_input_raises_like_torch():
    x, w = torch.randn(2, 2, 0), torch.randn(2, 2, 2)
    with pytest.raises(RuntimeError):
        F.conv1d(x, w, padding=2)
    with pytest.raises(ValueError) as error:
        SF.conv1d(x, w, padding=2)
    _one_line(error, "(2, 2, 0)", "empty spatial dimension")
    with pytest.raises(RuntimeError):
        F.conv1d(x[0], w, padding=2)  # unbatched: its 2 channels are not a batch
    with pytest.raises(ValueError) as error:
        SF.conv1d(x[0], w, padding=2)
    _one_line(error, "(2, 0)", "empty spatial dimension")
    _same(SF.conv1d(torch.randn(0, 2, 0), w, padding=2), F.conv1d(torch.randn(0, 2, 0), w,
                                                                  padding=2))


def test_pad_cropping_below_nothing_raises_like_torch():
    x = torch.randn(4, 3, 1, 4)
    with pytest.raises(RuntimeError):
        F.pad(x, (1, -5))
    with pytest.raises(ValueError) as error:
        SF.pad(x, (1, -5))
    _one_line(error, "(1, -5)", "more than it has")
    _same(SF.pad(x, (-4, 1)), F.pad(x, (-4, 1)))


def test_replicate_pad_of_no_channels_raises_like_torch():
    x = torch.randn(0, 4, 2)
    with pytest.raises(RuntimeError):
        F.pad(x, (2, 1, 1, 1), mode="replicate")
    with pytest.raises(ValueError) as error:
        SF.pad(x, (2, 1, 1, 1), mode="replicate")
    _one_line(error, "mode='replicate'", "(0, 4, 2)")


def test_adaptive_1d_pool_refuses_none_like_torch():
    x = torch.randn(1, 2, 4)
    with pytest.raises(TypeError):
        F.adaptive_avg_pool1d(x, (None,))
    with pytest.raises(TypeError) as error:
        SF.adaptive_avg_pool1d(x, (None,))
    _one_line(error, "output_size=(None,)")


def test_batch_norm_gradient_with_an_infinite_weight_is_torchs():
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(2), requires_grad=True)
    w = torch.tensor([math.inf, 1.0, -math.inf])
    g = torch.linspace(-1, 1, 12).reshape(4, 3)
    ours = torch.autograd.grad(SF.batch_norm(x, None, None, w, training=True), x, g)[0]
    theirs = torch.autograd.grad(F.batch_norm(x, None, None, w, training=True), x, g)[0]
    _same(ours, theirs)
    _same(SF.batch_norm(x, None, None, w, training=True),
          F.batch_norm(x, None, None, w, training=True))


def test_conv_transpose_without_output_channels_raises_like_torch():
    x, w = torch.randn(2, 6), torch.randn(2, 0, 1)
    with pytest.raises(RuntimeError):
        F.conv_transpose1d(x, w)
    with pytest.raises(ValueError) as error:
        SF.conv_transpose1d(x, w)
    _one_line(error, "out_channels/groups=0")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_adaptive_avg_pool_of_large_values_in_reduced_precision(dtype):
    x = (torch.randn(4, 3, 7, generator=torch.Generator().manual_seed(3)) + 1000).to(dtype)
    _same(SF.adaptive_avg_pool1d(x, 3), F.adaptive_avg_pool1d(x, 3))


def test_circular_pad_of_no_channels_works_like_torch():
    x = torch.randn(4, 0, 4, 4)
    _same(SF.pad(x, (2, 0, 3, 2), mode="circular"), F.pad(x, (2, 0, 3, 2), mode="circular"))
