"""A differential fuzzer: random, often invalid, arguments and inputs, scratch against torch.

Every case builds one set of arguments (shapes with zero sizes, mixed dtypes, NaN and
infinity, out-of-range integers) and calls the function of ``cnnlessons.scratch.functional``
and of ``torch.nn.functional`` (or a module of each) on its own copies. They must agree:
both raise, or both return results of the same shape and dtype, equal (NaN where torch has
NaN), that leave the same values in the tensors they update in place (batch norm's running
statistics) and give the same gradients. When scratch raises, the error must be its own
(``ValueError`` / ``TypeError``, one line), not a torch internal leaking out.

``python tests/test_edges.py [N]`` runs N cases per function outside hypothesis and prints
how many agreed, mismatched or leaked, and one example of each kind of disagreement.
"""
from __future__ import annotations

import inspect
import math
import random
import re
import sys
import traceback
import warnings
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnlessons.scratch as snn
import cnnlessons.scratch.functional as SF

FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
TOLERANCE = {torch.float16: 2e-2, torch.bfloat16: 5e-2, torch.float32: 1e-4, torch.float64: 1e-7}
OWN_ERRORS = (ValueError, TypeError, NotImplementedError, RuntimeError)

#: Where scratch raises on purpose although torch returns: (functions, the start of our
#: message as a regular expression, whether it only applies to an empty input). Each is
#: stated in the docstring of the scratch function or module, which the test checks.
STRICTER = [
    ({"BatchNorm1d", "BatchNorm2d"}, r"num_features=-?\d+ must be positive", False, "norm"),
    ({"Conv1d", "Conv2d"}, r"in_channels=0 must be positive", False, "conv"),
    ({"adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
      "adaptive_max_pool2d"}, r"input has shape .*; adaptive pooling needs non-empty|"
     r"output_size=0 must be positive|input has shape \(\d+, \d+\) \(2-D\); expected a 4-D",
     False, "adaptive_pool"),
    ({"dropout2d"}, r"dropout2d: input has shape \(\d*,?\); expected", False, "dropout"),
    ({"linear"}, r"linear: (weight has shape \(\d+,\); expected 2-D|bias has shape)", False,
     "linear"),
    ({"mse_loss"}, r"mse_loss: target has shape .* \(no silent broadcasting\)", False, "loss"),
    ({"cross_entropy", "nll_loss"}, r"cross_entropy: label_smoothing=-|"
     r"\w+: target has shape \(1,\) but input of shape \(\d+,\) needs target shape \(\)",
     False, "loss"),
    ({"Conv1d"}, r"padding=\(.*\) must be an int or a tuple of 1 ints", False, "conv"),
    ({"Conv2d"}, r"padding=\(\d+,\) with padding_mode=", False, "conv"),
    ({"pad"}, r"circular padding must be non-negative|"
     r"padding \(.*\) crops dimension .* needs at least 1 element left", False, "padding"),
    # torch skips its argument checks on an empty input and returns an empty result.
    ({"batch_norm", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "nll_loss",
      "cross_entropy"}, r".", True, "norm, conv, conv_transpose, loss"),
    ({"conv1d", "conv2d"}, r"conv[12]d: bias has dtype", False, "conv"),  # padding='same'
    ({"conv_transpose1d", "conv_transpose2d"}, r"dilation=0 must be positive", False,
     "conv_transpose"),
    # torch returns its (empty) input unchanged when a convolution has no input channels.
    ({"conv1d", "conv2d"}, r"input has shape .*: in_channels=0", False, "conv"),
]
#: Behaviours of older torch releases that later ones changed, where scratch follows the
#: newer torch (pyproject.toml supports torch 2.4 on; ``make test-oldest`` runs this file
#: there). Each is (torch older than, functions, outcome, the detail as a regular
#: expression, what changed). Seen on torch 2.4, gone by 2.14; the releases in between are
#: not bisected, so the bound is the first release known to behave as scratch does.
OLDER_TORCH = [
    ((2, 14), {"batch_norm"}, "scratch raises, torch works",
     r"ValueError: eps=\S+ must be (positive during training|non-negative)",
     "torch 2.4 takes eps <= 0 (dividing by zero on a constant channel); later torch "
     "refuses, as scratch does"),
    ((2, 14), {"mse_loss"}, "gradient raises on one side",
     r"RuntimeError\('(Found dtype \w+ but expected \w+|\"mse_backward_cpu_out\" not "
     r"implemented for \\'Half\\')'\)",
     "torch 2.4's mse_loss backward fails when input and target dtypes differ, and for "
     "half precision on the CPU; later torch gives the gradient, as scratch does"),
    ((2, 14), {"mse_loss"}, "torch raises, scratch works",
     r"RuntimeError: \"mse_cpu\" not implemented for 'BFloat16'",
     "torch 2.4 has no bfloat16 mse_loss on the CPU"),
    ((2, 14), {"pad"}, "torch raises, scratch works|gradient raises on one side",
     r"RuntimeError(: |\(')The input size \d+, plus negative padding -?\d+ and -?\d+ resulted "
     r"in a negative output size",
     "torch 2.4 refuses negative padding that crops a dimension to nothing (its message "
     "says negative); later torch returns the empty result, as scratch does"),
]
#: torch's hardtanh/relu6 gradient at a NaN input depends on the element's position (its
#: vectorised loop drops it, the scalar tail passes it), so it is not compared there.
GRADIENT_FREE_AT_NAN = {"hardtanh", "relu6"}


class Draw:
    """What a case needs to choose: hypothesis' ``data.draw`` or a plain ``random.Random``."""

    def __init__(self, source):
        self.source = source

    def pick(self, options):
        options = list(options)
        if isinstance(self.source, random.Random):
            return self.source.choice(options)
        return self.source.draw(st.sampled_from(options))

    def integer(self, lo, hi):
        if isinstance(self.source, random.Random):
            return self.source.randint(lo, hi)
        return self.source.draw(st.integers(lo, hi))

    def chance(self, p):
        """True with probability about ``p`` (hypothesis: a free choice)."""
        if isinstance(self.source, random.Random):
            return self.source.random() < p
        return self.source.draw(st.booleans())


class Spec:
    """A tensor to build identically for both libraries: shape, dtype, content, grad."""

    def __init__(self, shape, dtype=torch.float32, values="normal", grad=True, seed=0):
        self.shape, self.dtype, self.values, self.grad, self.seed = shape, dtype, values, grad, seed

    def build(self):
        g = torch.Generator().manual_seed(self.seed)
        if self.values == "long":
            return torch.randint(-1, 4, self.shape, generator=g)
        if self.values == "classes":  # class indices 0..2 (and -100 where ignored)
            t = torch.randint(0, 3, self.shape, generator=g)
            return torch.where(torch.rand(self.shape, generator=g) < 0.2, -100, t)
        x = torch.randn(self.shape, generator=g, dtype=torch.float64) * 3
        if self.values == "probabilities" and len(self.shape) >= 1:
            x = x.softmax(1 if len(self.shape) > 1 else 0)
        if self.values == "positive":
            x = x.abs() + 0.5
        if self.values == "nonfinite" and x.numel():
            special = torch.tensor([math.nan, math.inf, -math.inf, 0.0], dtype=torch.float64)
            mask = torch.rand(self.shape, generator=g) < 0.3
            x = torch.where(mask, special[torch.randint(0, 4, self.shape, generator=g)], x)
        if self.values == "large":
            x = x.sign() * 1000 + x
        x = x.to(self.dtype)
        return x.requires_grad_() if self.grad and self.dtype.is_floating_point else x


def _tensor(d: Draw, shape, values=None, dtype=None, grad=True):
    dtype = dtype or d.pick(FLOATS if d.chance(0.3) else (torch.float32, torch.float64))
    values = values or d.pick(("normal",) * 4 + ("nonfinite", "large"))
    return Spec(tuple(shape), dtype, values, grad, d.integer(0, 10**6))


def _shape(d: Draw, ndim, zero=0.15):
    return tuple(0 if d.chance(zero) else d.integer(1, 4) for _ in range(ndim))


def _int_or_tuple(d: Draw, n, lo, hi):
    if d.chance(0.7):
        return d.integer(lo, hi)
    return tuple(d.integer(lo, hi) for _ in range(d.pick((n, n, 1, n + 1))))


# ---------------------------------------------------------------- the cases
# Each returns (callable name, positional args, keyword args); Spec entries become tensors.


def case_pointwise(d, name):
    x = _tensor(d, _shape(d, d.integer(0, 4)))
    kwargs = {}
    if name == "leaky_relu":
        kwargs["negative_slope"] = d.pick((0.01, 0.0, -0.5, 2.0))
    if name == "hardtanh":
        kwargs["min_val"], kwargs["max_val"] = d.pick(
            ((-1.0, 1.0), (0.0, 6.0), (1.0, -1.0), (2.0, 2.0)))
    return name, (x,), kwargs


def case_softmax(d, name):
    ndim = d.integer(0, 4)
    x = _tensor(d, _shape(d, ndim, zero=0.3))
    kwargs = {"dim": d.integer(-ndim - 1, ndim)}
    if d.chance(0.3):
        kwargs["dtype"] = d.pick((torch.float64, torch.float32))
    return name, (x,), kwargs


def case_adaptive(d, name):
    n = 2 if name.endswith("2d") else 1
    x = _tensor(d, _shape(d, d.integer(n, n + 2)))
    size = d.pick((d.integer(0, 4), tuple(d.pick((None, 0, 1, 2, 3)) for _ in range(n))))
    kwargs = {"return_indices": d.chance(0.3)} if "max" in name else {}
    return name, (x, size), kwargs


def case_conv(d, name):
    n = 2 if name.endswith("2d") else 1
    transposed = "transpose" in name
    groups = d.pick((1, 1, 2, 0, -1))
    g = max(groups, 1)
    c_in = d.pick((0, g, 2 * g, 3))
    c_out = d.pick((0, g, 2 * g, 3))
    k = tuple(d.integer(0, 3) for _ in range(n))
    rank = d.pick((n + 2, n + 2, n + 1, n, n + 3))
    spatial = tuple(d.integer(0, 6) for _ in range(n))
    if rank <= n + 2:
        x_shape = ((d.pick((0, 1, 2)),) + (c_in,) + spatial)[-rank:]
    else:
        x_shape = (1, 1, c_in) + spatial
    w_shape = (c_in, c_out // g) + k if transposed else (c_out, c_in // g) + k
    if d.chance(0.1):
        w_shape = w_shape[1:]
    dtype = d.pick((torch.float32, torch.float64, torch.float32, torch.float16))
    x = _tensor(d, x_shape, dtype=dtype)
    w = _tensor(d, w_shape, dtype=dtype if d.chance(0.85) else d.pick(FLOATS))
    bias = None
    if d.chance(0.6):
        out = c_out if d.chance(0.9) else c_out + 1
        bias = _tensor(d, (out,), dtype=dtype if d.chance(0.85) else d.pick(FLOATS))
    kwargs = {"stride": _int_or_tuple(d, n, 0, 3), "dilation": _int_or_tuple(d, n, 0, 2),
              "groups": groups}
    if transposed:
        kwargs["padding"] = _int_or_tuple(d, n, -1, 2)
        kwargs["output_padding"] = _int_or_tuple(d, n, -1, 2)
    else:
        kwargs["padding"] = d.pick((_int_or_tuple(d, n, -1, 2), "same", "valid", "full"))
    return name, (x, w, bias), kwargs


def case_conv_module(d, name):
    n = 2 if name.endswith("2d") else 1
    c_in, c_out = d.pick((1, 2, 0, -1)), d.pick((1, 2, 0))
    kwargs = {"padding": _int_or_tuple(d, n, 0, 2),
              "padding_mode": d.pick(("zeros", "circular", "reflect", "replicate", "bogus"))}
    rank = d.pick((n + 2, n + 1, n, n + 3))
    x_shape = ((2, max(c_in, 0)) + tuple(d.integer(0, 5) for _ in range(n)))[-rank:]
    if rank > n + 2:
        x_shape = (1,) + x_shape
    x = _tensor(d, x_shape, dtype=torch.float64)
    return ("module", name), ((c_in, c_out, d.integer(1, 3)), kwargs, x), {}


def case_linear(d, name):
    in_f, out_f = d.integer(0, 3), d.integer(0, 3)
    dtype = d.pick((torch.float32, torch.float64, torch.float16, torch.bfloat16))
    x = _tensor(d, _shape(d, d.integer(0, 3)) + (in_f if d.chance(0.9) else in_f + 1,), dtype=dtype)
    w_shape = d.pick(((out_f, in_f), (out_f, in_f), (in_f,), (out_f, in_f, 1)))
    w = _tensor(d, w_shape, dtype=dtype if d.chance(0.8) else d.pick(FLOATS))
    bias = None
    if d.chance(0.6):
        bias = _tensor(d, d.pick(((out_f,), (out_f,), (), (out_f + 1,))),
                       dtype=dtype if d.chance(0.8) else d.pick(FLOATS))
    return name, (x, w, bias), {}


def case_linear_module(d, name):
    in_f, out_f = d.integer(-1, 3), d.integer(-1, 3)
    x = _tensor(d, _shape(d, d.integer(0, 2)) + (max(in_f, 0),), dtype=torch.float64)
    return ("module", "Linear"), ((in_f, out_f), {"bias": d.chance(0.5)}, x), {}


def case_distance(d, name):
    shape = _shape(d, d.integer(0, 3), zero=0.2)
    other = shape if d.chance(0.8) else _shape(d, d.integer(0, 3))
    dtype = d.pick((torch.float32, torch.float64))
    x1 = _tensor(d, shape, dtype=dtype, values=d.pick(("normal", "nonfinite")))
    x2 = _tensor(d, other, dtype=dtype if d.chance(0.9) else d.pick(FLOATS),
                 values=d.pick(("normal", "nonfinite")))
    kwargs = {"p": d.pick((2.0, 1.0, 0.0, math.inf, -math.inf, 0.5, 3.0, -1.0)),
              "eps": d.pick((1e-6, 0.0, -1.0)), "keepdim": d.chance(0.3)}
    return name, (x1, x2), kwargs


def case_dropout(d, name):
    x = _tensor(d, _shape(d, d.integer(0, 4)))
    p = d.pick((0.0, 1.0, 1.5, -0.1))
    return name, (x,), {"p": p, "training": d.chance(0.5)}


def case_loss(d, name):
    if name == "mse_loss":
        shape = _shape(d, d.integer(0, 3), zero=0.2)
        dtype = d.pick(FLOATS)
        x = _tensor(d, shape, dtype=dtype)
        y = _tensor(d, shape if d.chance(0.8) else _shape(d, d.integer(0, 3)),
                    dtype=dtype if d.chance(0.8) else d.pick(FLOATS), grad=False)
        return name, (x, y), {"reduction": d.pick(("mean", "sum", "none", "bogus"))}
    n, c = d.pick((0, 1, 3)), d.pick((0, 1, 3))
    extra = _shape(d, d.pick((0, 0, 1)))
    dtype = d.pick((torch.float32, torch.float64, torch.float16))
    unbatched = d.chance(0.15)
    x_shape = (c,) + extra if unbatched else (n, c) + extra
    x = _tensor(d, x_shape, dtype=dtype, values=d.pick(("normal", "normal", "nonfinite")))
    if name == "cross_entropy" and d.chance(0.35):
        y = _tensor(d, x_shape, values="probabilities", grad=False,
                    dtype=d.pick((dtype, torch.float32, torch.float64)))
    else:
        y_shape = extra if unbatched else (n,) + extra
        if d.chance(0.1):
            y_shape = y_shape + (1,)
        y = _tensor(d, y_shape, values="classes", dtype=torch.long, grad=False)
    kwargs = {"reduction": d.pick(("mean", "sum", "none")), "ignore_index": d.pick((-100, 1, 5))}
    if d.chance(0.3):
        kwargs["weight"] = _tensor(d, (d.pick((c, c, c + 1)),), values="positive", grad=False,
                                   dtype=dtype if d.chance(0.8) else d.pick(FLOATS))
    if name == "cross_entropy":
        kwargs["label_smoothing"] = d.pick((0.0, 0.1, 0.1, 1.0, -0.1, 1.5))
    return name, (x, y), kwargs


def case_batch_norm(d, name):
    c = d.pick((1, 3))
    shape = (d.pick((0, 1, 2, 4)), c) + _shape(d, d.pick((0, 1, 2)), zero=0.1)
    dtype = d.pick(FLOATS)
    param_dtype = dtype if d.chance(0.5) else d.pick(FLOATS)
    x = _tensor(d, shape if d.chance(0.9) else shape[:1], dtype=dtype,
                values=d.pick(("normal", "normal", "large")))
    training = d.chance(0.6)
    stats = d.chance(0.8) or not training
    rm = _tensor(d, (c,), dtype=param_dtype, grad=False) if stats else None
    rv = _tensor(d, (c,), dtype=param_dtype, values="positive", grad=False) if stats else None
    w = _tensor(d, (c,), dtype=param_dtype) if d.chance(0.6) else None
    b = _tensor(d, (c,), dtype=param_dtype) if d.chance(0.6) else None
    return name, (x, rm, rv, w, b), {"training": training, "momentum": d.pick((0.1, 0.0, 1.0)),
                                     "eps": d.pick((1e-5, 0.0, -1.0))}


def case_batch_norm_module(d, name):
    c = d.pick((1, 3, 0, -2))
    n = 2 if name.endswith("2d") else 1
    rank = d.pick((n + 2, n + 1) if n == 1 else (4, 4, 3, 5))
    shape = ((d.pick((0, 1, 3)), max(c, 0)) + _shape(d, rank - 2, zero=0.1))[:rank]
    x = _tensor(d, shape, dtype=torch.float64)
    kwargs = {"momentum": d.pick((0.1, None)), "track_running_stats": d.chance(0.8),
              "affine": d.chance(0.7)}
    return ("module", name), ((c,), kwargs, x), {"train": d.chance(0.7)}


def case_pad(d, name):
    ndim = d.integer(0, 5)
    x = _tensor(d, _shape(d, ndim, zero=0.1))
    pad = tuple(d.integer(-2, 3) for _ in range(d.pick((0, 1, 2, 4, 6))))
    mode = d.pick(("constant", "constant", "reflect", "replicate", "circular", "bogus"))
    kwargs = {"mode": mode}
    if mode == "constant" and d.chance(0.5):
        kwargs["value"] = d.pick((1.5, math.nan, -math.inf))
    return name, (x, pad), kwargs


def case_pool(d, name):
    n = 2 if name.endswith("2d") else 1
    x = _tensor(d, (d.pick((1, 2, 0)), d.pick((1, 2, 0)))
                + tuple(d.integer(0, 6) for _ in range(n)),
                values=d.pick(("normal", "normal", "nonfinite", "large")),
                dtype=d.pick((torch.float32, torch.float64, torch.float16, torch.bfloat16)))
    if d.chance(0.2):
        x.shape = x.shape[1:]  # unbatched
    if d.chance(0.05):
        x.shape = x.shape[1:]  # too few dimensions
    args = (x, _int_or_tuple(d, n, 0, 4))
    kwargs = {"stride": d.pick((None, _int_or_tuple(d, n, 0, 3))),
              "padding": _int_or_tuple(d, n, -1, 2),
              "ceil_mode": d.chance(0.3)}
    if name.startswith("max"):
        kwargs["dilation"] = _int_or_tuple(d, n, 0, 2)
        kwargs["return_indices"] = d.chance(0.3)
    else:
        kwargs["count_include_pad"] = d.chance(0.5)
        if n == 2 and d.chance(0.2):
            kwargs["divisor_override"] = d.pick((0, 1, 3, -1))
    return name, args, kwargs


CASES = {
    **{f: case_pointwise for f in ("relu", "leaky_relu", "hardtanh", "relu6", "sigmoid", "tanh")},
    "softmax": case_softmax, "log_softmax": case_softmax,
    **{f: case_adaptive for f in ("adaptive_avg_pool1d", "adaptive_avg_pool2d",
                                  "adaptive_max_pool1d", "adaptive_max_pool2d")},
    **{f: case_conv for f in ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d")},
    "Conv1d": case_conv_module, "Conv2d": case_conv_module,
    "linear": case_linear, "Linear": case_linear_module,
    "pairwise_distance": case_distance,
    "dropout": case_dropout, "dropout2d": case_dropout,
    "nll_loss": case_loss, "cross_entropy": case_loss, "mse_loss": case_loss,
    "batch_norm": case_batch_norm,
    "BatchNorm1d": case_batch_norm_module, "BatchNorm2d": case_batch_norm_module,
    "pad": case_pad,
    **{f: case_pool for f in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d")},
}


# ---------------------------------------------------------------- running one case


def _materialise(value):
    if isinstance(value, Spec):
        return value.build()
    if isinstance(value, tuple):
        return tuple(_materialise(v) for v in value)
    if isinstance(value, dict):
        return {k: _materialise(v) for k, v in value.items()}
    return value


def _call(library, name, args, kwargs):
    """Run the case on ``library`` ("scratch" or "torch"): outputs, and the tensors it may
    have updated in place (the arguments, or a module's buffers)."""
    args, kwargs = _materialise(args), _materialise(kwargs)
    if isinstance(name, tuple):  # a module: (constructor args, constructor kwargs, input)
        (ctor_args, ctor_kwargs, x), train = args, kwargs.get("train", True)
        torch.manual_seed(0)  # the same initial weights in both libraries
        module_class = getattr(snn if library == "scratch" else torch.nn, name[1])
        module = module_class(*ctor_args, **ctor_kwargs)
        module.to(torch.float64).train(train)
        out = module(x)
        return out, [x, *module.parameters()], list(module.buffers())
    fn = getattr(SF if library == "scratch" else F, name)
    out = fn(*args, **kwargs)
    leaves = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
    return out, leaves, leaves


def _tensors(out):
    return [t for t in (out if isinstance(out, tuple) else (out,))]


def _same(a, b, where, inputs_dtype=None, loose=1.0):
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return None if a == b else f"{where}: {a!r} vs torch {b!r}"
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"{where}: {tuple(a.shape)} {a.dtype} vs torch {tuple(b.shape)} {b.dtype}"
    if a.dtype.is_floating_point:
        # The output's precision, or the inputs' where they are coarser (float16 logits
        # give a float32 loss that is only as exact as float16).
        tol = max(TOLERANCE.get(a.dtype, 1e-4), TOLERANCE.get(inputs_dtype, 0.0)) * loose
        close = torch.isclose(a.detach().double(), b.detach().double(), rtol=tol, atol=tol,
                              equal_nan=True)
        if not bool(close.all()):
            bad = (~close).flatten().nonzero().flatten()[:4]
            ours, theirs = (t.detach().flatten()[bad].tolist() for t in (a, b))
            return f"{where}: values differ at flat index {bad.tolist()}: {ours} vs torch {theirs}"
    elif not torch.equal(a, b):
        return f"{where}: values differ"
    return None


def _specs(args, kwargs):
    """Every ``Spec`` in a case's arguments (a module case nests them in tuples)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, Spec):
            yield value
        elif isinstance(value, tuple):
            yield from _specs(value, {})


def _stricter(name, error, args):
    """Whether ``error`` is one of the documented cases where scratch is stricter."""
    empty = any(isinstance(a, Spec) and 0 in a.shape for a in args)
    return any(name in names and re.match(pattern, str(error)) and (empty or not only_empty)
               for names, pattern, only_empty, _ in STRICTER)


def outcome(name, args, kwargs):
    """``("both equal" | "both raise" | "stricter" | "older torch", "")``,
    ``("leak", message)`` or ``(kind of mismatch, detail)``."""
    kind, detail = _outcome(name, args, kwargs)
    if any(torch.__version__ < before and name in names and re.fullmatch(expected, kind)
           and re.match(pattern, detail) for before, names, expected, pattern, _ in OLDER_TORCH):
        return "older torch", ""
    return kind, detail


def _outcome(name, args, kwargs):
    results = {}
    for library in ("scratch", "torch"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                results[library] = ("ok", *_call(library, name, args, kwargs))
            except Exception as error:  # noqa: BLE001 - any error is an outcome to compare
                results[library] = ("raise", error)
    ours, theirs = results["scratch"], results["torch"]
    if ours[0] == "raise":
        error = ours[1]
        if not _own(error):
            return "leak", f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
        if theirs[0] == "raise":
            return "both raise", ""
        if _stricter(name[1] if isinstance(name, tuple) else name, error, args):
            return "stricter", ""
        return "scratch raises, torch works", f"{type(error).__name__}: {error}"
    if theirs[0] == "raise":
        return "torch raises, scratch works", f"{type(theirs[1]).__name__}: {str(theirs[1])[:120]}"
    (_, out, leaves, state), (_, ref, ref_leaves, ref_state) = ours, theirs
    outs, refs = _tensors(out), _tensors(ref)
    if len(outs) != len(refs):
        return "different result", f"{len(outs)} outputs vs torch {len(refs)}"
    coarsest = max((a.dtype for a in _specs(args, kwargs) if a.dtype in TOLERANCE),
                   key=TOLERANCE.get, default=None)
    for i, (a, b) in enumerate(zip(outs, refs)):
        if problem := _same(a, b, f"output {i}", coarsest):
            return "different result", problem
    for i, (a, b) in enumerate(zip(state, ref_state)):
        if problem := _same(a, b, f"updated tensor {i}"):
            return "different state", problem
    if _torch_pools_only_padding(name, args, kwargs):
        return "both equal", ""
    return _compare_gradients(outs[0], refs[0], leaves, ref_leaves,
                              nan_free=name in GRADIENT_FREE_AT_NAN)


def _torch_pools_only_padding(name, args, kwargs):
    """A torch bug: a max-pool window that covers only padding gets -inf and an index
    outside the input, and its gradient lands on another sample's element. The outputs
    were compared; the gradients are not."""
    if not (isinstance(name, str) and name.startswith("max_pool")):
        return False
    args, kwargs = _materialise(args), {**_materialise(kwargs), "return_indices": True}
    _, indices = getattr(F, name)(*args, **kwargs)
    size = math.prod(args[0].shape[-(2 if name.endswith("2d") else 1):])
    return bool(((indices < 0) | (indices >= size)).any())


def _own(error):
    """Our own validation error: a ValueError/TypeError (RuntimeError for the few
    autograd refusals we mirror) with a one-line message that is not torch's."""
    message = str(error).strip()
    if not isinstance(error, OWN_ERRORS) or not message or "\n" in message:
        return False
    frames = traceback.extract_tb(error.__traceback__)
    # Raised by a ``raise`` statement of the package, not by a torch call inside it.
    return bool(frames) and "cnnlessons" in frames[-1].filename and \
        (frames[-1].line or "").lstrip().startswith("raise")


def _compare_gradients(out, ref, leaves, ref_leaves, nan_free=False):
    if not (out.requires_grad and ref.requires_grad and out.dtype.is_floating_point):
        return "both equal", ""
    upstream = torch.linspace(-1, 1, max(out.numel(), 1), dtype=torch.float64)[: out.numel()]
    grads, errors = [], []
    for o, ls in ((out, leaves), (ref, ref_leaves)):
        try:
            grads.append(torch.autograd.grad(o, [t for t in ls if t.requires_grad],
                                             upstream.reshape(o.shape).to(o.dtype),
                                             allow_unused=True))
            errors.append(None)
        except Exception as error:  # noqa: BLE001
            grads.append(())
            errors.append(error)
    if (errors[0] is None) != (errors[1] is None):
        return "gradient raises on one side", repr(errors[0] or errors[1])[:160]
    for i, (a, b) in enumerate(zip(*grads)):
        if a is None and b is None:
            continue
        a = torch.zeros_like(b) if a is None else a
        b = torch.zeros_like(a) if b is None else b
        if nan_free:  # compare only where the input is a number
            nan = ref_leaves[0].detach().isnan()
            a, b = a.masked_fill(nan, 0), b.masked_fill(nan, 0)
        # Gradients are ill-conditioned where the inputs are large (batch norm of values
        # near 1000): both libraries are 1e-4 off in float32, so allow ten times more.
        if problem := _same(a, b, f"gradient {i}", loose=10.0):
            return "different gradient", problem
    return "both equal", ""


# ---------------------------------------------------------------- the test

AGREE = ("both equal", "both raise", "stricter", "older torch")
#: Outcomes of the hypothesis run, per kind; the last test prints them.
COUNTS: Counter = Counter()


@pytest.mark.parametrize("name", sorted(CASES, key=str))
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_scratch_agrees_with_torch(name, data):
    callee, args, kwargs = CASES[name](Draw(data), name)
    kind, detail = outcome(callee, args, kwargs)
    COUNTS[kind] += 1
    assert kind in AGREE, f"{kind}: {detail}"


def test_stricter_cases_are_documented():
    """Every STRICTER entry is stated in its module: "stricter than torch" (or the like)."""
    import importlib
    for names, _, _, modules in STRICTER:
        for module in modules.split(", "):
            text = inspect.getsource(importlib.import_module(f"cnnlessons.scratch.{module}"))
            said = r"[Ss]tricter\s+than\s+torch|torch\s+(also\s+takes|skips\s+its|accepts)"
            assert re.search(said, text), f"{module}: no documented strictness for {names}"


def test_zz_report_counts(capsys):
    """Print what the fuzzer ran (run with ``-s`` to see it): cases, both raise, both
    equal, documented stricter. Runs last in the file (pytest keeps file order)."""
    if not COUNTS:
        pytest.skip("the fuzz test did not run in this session")
    total = sum(COUNTS.values())
    with capsys.disabled():
        print(f"\nedges fuzzer: {total} cases; both equal {COUNTS['both equal']}, both raise "
              f"{COUNTS['both raise']}, scratch stricter (documented) {COUNTS['stricter']}, "
              f"an older torch's changed behaviour {COUNTS['older torch']}, "
              f"other {total - sum(COUNTS[k] for k in AGREE)}")
    assert total >= len(CASES)


def survey(per_function: int, seed: int = 0) -> Counter:
    """Run ``per_function`` random cases of every function; print and return the counts."""
    counts, examples = Counter(), {}
    for name, case in CASES.items():
        rng = random.Random(f"{seed}-{name}")
        for _ in range(per_function):
            callee, args, kwargs = case(Draw(rng), name)
            kind, detail = outcome(callee, args, kwargs)
            counts[kind] += 1
            if kind not in AGREE:
                examples.setdefault((name, kind, detail[:50]), (args, kwargs, detail))
    for (name, kind, _), (args, kwargs, detail) in sorted(examples.items(), key=str):
        shown = [(a.shape, a.dtype, a.values) if isinstance(a, Spec) else a for a in args]
        print(f"{name}: {kind}: {detail[:150]}\n    {shown} {kwargs}")
    print(dict(counts))
    return counts


if __name__ == "__main__":
    survey(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
