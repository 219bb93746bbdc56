"""Parameter and multiply-add counts, checked against torch.

Parameters: ``sum(p.numel() for p in layer.parameters())`` of the real torch layer.
Multiply-adds, two independent counts: the shape of the im2col matrix product that
computes the convolution (checked to give ``F.conv2d``'s output, so the count is the
work of a real computation), and torch's own FLOP counter (two FLOPs per MAC).
"""
import doctest

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import cnnlessons.cost as cost_module
from cnnlessons.cost import conv2d_macs, conv2d_params, linear_macs, linear_params


def test_doctests():
    result = doctest.testmod(cost_module)
    assert result.attempted > 0 and result.failed == 0


@st.composite
def conv_configs(draw):
    """A valid ``nn.Conv2d`` configuration and an input size it fits."""
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # The dilated kernel must fit the padded input.
    size = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 9))
                 for k, p, d in zip(kernel, padding, dilation))
    return dict(size=size, c_in=c_in, c_out=c_out, kernel=kernel, stride=stride,
                padding=padding, dilation=dilation, groups=groups)


def _layer(cfg, bias=True):
    return nn.Conv2d(cfg["c_in"], cfg["c_out"], cfg["kernel"], cfg["stride"], cfg["padding"],
                     cfg["dilation"], cfg["groups"], bias=bias, dtype=torch.float64)


def _macs(cfg):
    return conv2d_macs(cfg["size"], cfg["c_in"], cfg["c_out"], cfg["kernel"], cfg["stride"],
                       cfg["padding"], cfg["dilation"], cfg["groups"])


@settings(max_examples=60, deadline=None)
@given(cfg=conv_configs(), bias=st.booleans())
def test_conv2d_params_is_numel_of_torch_layer(cfg, bias):
    layer = _layer(cfg, bias)
    expected = sum(p.numel() for p in layer.parameters())
    got = conv2d_params(cfg["c_in"], cfg["c_out"], cfg["kernel"], groups=cfg["groups"], bias=bias)
    assert got == expected


@settings(max_examples=60, deadline=None)
@given(cfg=conv_configs())
def test_conv2d_macs_is_the_im2col_product(cfg):
    """Count the multiply-adds of ``W_g @ cols_g`` for each group from the matrices'
    shapes, after checking that this product really is the convolution."""
    torch.manual_seed(0)
    layer = _layer(cfg, bias=False)
    x = torch.randn(1, cfg["c_in"], *cfg["size"], dtype=torch.float64)
    cols = F.unfold(x, cfg["kernel"], cfg["dilation"], cfg["padding"], cfg["stride"])[0]
    G = cfg["groups"]
    taps = cols.shape[0] // G                                   # (C_in/G) * kH * kW
    weights = layer.weight.detach().reshape(G, cfg["c_out"] // G, taps)
    products = [weights[g] @ cols[g * taps:(g + 1) * taps] for g in range(G)]
    expected_out = layer(x).detach().reshape(cfg["c_out"], -1)
    torch.testing.assert_close(torch.cat(products), expected_out)
    # An (a, b) @ (b, c) product takes a * b * c multiply-adds.
    macs = sum(w.shape[0] * w.shape[1] * c.shape[1]
               for w, c in zip(weights, cols.split(taps)))
    assert _macs(cfg) == macs


@settings(max_examples=40, deadline=None)
@given(cfg=conv_configs(), batch=st.integers(1, 3))
def test_conv2d_macs_is_half_torch_flop_count(cfg, batch):
    layer = _layer(cfg, bias=False)
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(batch, cfg["c_in"], *cfg["size"], dtype=torch.float64))
    assert 2 * batch * _macs(cfg) == counter.get_total_flops()


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_macs_string_padding(padding):
    layer = nn.Conv2d(4, 6, (3, 4), padding=padding, dilation=(1, 2), bias=False)
    with FlopCounterMode(display=False) as counter:
        out = layer(torch.zeros(1, 4, 9, 10))
    got = conv2d_macs((9, 10), 4, 6, (3, 4), padding=padding, dilation=(1, 2))
    assert 2 * got == counter.get_total_flops()
    assert got == out[0].numel() * 4 * 3 * 4


def test_square_input_size_int():
    assert conv2d_macs(28, 1, 6, 5, padding=2) == conv2d_macs((28, 28), 1, 6, (5, 5), padding=2)


@settings(max_examples=30, deadline=None)
@given(n_in=st.integers(1, 50), n_out=st.integers(1, 50), bias=st.booleans(),
       rows=st.integers(1, 4))
def test_linear_counts_match_torch(n_in, n_out, bias, rows):
    layer = nn.Linear(n_in, n_out, bias=bias)
    assert linear_params(n_in, n_out, bias) == sum(p.numel() for p in layer.parameters())
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(rows, n_in))
    assert 2 * rows * linear_macs(n_in, n_out) == counter.get_total_flops()


def test_known_values():
    # LeNet-5 (28x28 input, C1 padded by 2): C1, C3, C5, F6, output
    assert conv2d_params(1, 6, 5) == 156 and conv2d_macs(28, 1, 6, 5, padding=2) == 117_600
    assert conv2d_params(6, 16, 5) == 2_416 and conv2d_macs(14, 6, 16, 5) == 240_000
    assert conv2d_params(16, 120, 5) == 48_120 and conv2d_macs(5, 16, 120, 5) == 48_000
    assert linear_params(120, 84) == 10_164 and linear_macs(120, 84) == 10_080
    # ResNet's bottleneck on a 56x56 map versus one 3x3 layer, no biases
    bottleneck = (conv2d_params(256, 64, 1, bias=False) + conv2d_params(64, 64, 3, bias=False)
                  + conv2d_params(64, 256, 1, bias=False))
    assert bottleneck == 69_632 and conv2d_params(256, 256, 3, bias=False) == 589_824
    assert conv2d_macs(56, 256, 256, 3, padding=1) == 589_824 * 56 * 56
    # A depthwise 3x3: one 3x3 kernel per channel
    assert conv2d_params(32, 32, 3, groups=32) == 32 * 9 + 32


@pytest.mark.parametrize("call, error, message", [
    (lambda: conv2d_params(6, 8, 3, groups=4), ValueError,
     r"in_channels=6 is not divisible by groups=4"),
    (lambda: conv2d_params(4, 6, 3, groups=4), ValueError,
     r"out_channels=6 is not divisible by groups=4"),
    (lambda: conv2d_params(0, 6, 3), ValueError, r"in_channels=0 must be positive"),
    (lambda: conv2d_params(3, 6, 0), ValueError, r"kernel_size=0 must be positive"),
    (lambda: conv2d_params(3.0, 6, 3), TypeError, r"in_channels=3.0 must be an int"),
    (lambda: conv2d_params(3, 6, 3, groups=True), TypeError, r"groups=True must be an int"),
    (lambda: conv2d_params(3, 6, (3, 3, 3)), ValueError, r"kernel_size=\(3, 3, 3\)"),
    (lambda: conv2d_macs(0, 3, 6, 3), ValueError, r"input_size=0 must be positive"),
    (lambda: conv2d_macs(4, 3, 6, 5), ValueError, r"kernel_size=5 .* the output would be empty"),
    (lambda: conv2d_macs(8, 3, 6, 3, stride=2, padding="same"), ValueError,
     r"padding='same' needs stride=1"),
    (lambda: conv2d_macs(8, 3, 6, 3, stride=0), ValueError, r"stride=0 must be positive"),
    (lambda: conv2d_macs(8, 6, 6, 3, groups=4), ValueError, r"in_channels=6 is not divisible"),
    (lambda: linear_params(0, 3), ValueError, r"in_features=0 must be positive"),
    (lambda: linear_macs(3, "4"), TypeError, r"out_features='4' must be an int"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
