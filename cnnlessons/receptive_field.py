"""Receptive fields: which input elements can influence one element of a layer.

For an element of some layer, its receptive field is every element of the earlier
layers that can affect it in the forward pass. In a chain of convolutions and
poolings, the part of the *input* it sees is a box, described per spatial
dimension by three numbers that follow the layers one at a time:

* ``size`` ``r``: how many input elements the box spans;
* ``jump`` ``j``: the distance, in input elements, between the boxes of two
  neighbouring units of the layer (the product of the strides so far);
* ``start``: the centre of the first unit's box, in input coordinates (it can be
  negative, or a half-integer for even kernels, when the box hangs over the padding).

A layer with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` spans
``k_eff = d * (k - 1) + 1`` of its input units, i.e. ``k_eff - 1`` jumps of the
layer below, which gives the recurrence (input: ``r = 1, j = 1, start = 0``)::

    r_out     = r_in + (k_eff - 1) * j_in
    j_out     = j_in * s
    start_out = start_in + ((k_eff - 1) / 2 - p) * j_in

The worked example of the source notes: ``X`` is 3x3, a 2x2 kernel gives the 2x2
``Y``, another 2x2 kernel gives the single element ``z``. ``z`` depends on all 9
elements of ``X`` and on all 4 of ``Y``. The notes add these into "a receptive field
of 9 + 4 = 13", but the two counts are taken on different layers, and 13 is not a
size anything has: the receptive field is measured on the input, here 3x3.

>>> y, z = receptive_fields([(2, 1, 0, 1), (2, 1, 0, 1)])
>>> y.size, z.size          # an element of Y sees 2x2 of X, z sees 3x3 of X
((2, 2), (3, 3))
>>> receptive_fields([(2, 1, 0, 1)])[-1].size     # z seen from Y: one 2x2 kernel
(2, 2)

``empirical_receptive_field`` measures the same box with autograd, so the
arithmetic can be checked against what the layers actually compute.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cnnlessons.arguments import IntOrTuple, Padding
from cnnlessons.devices import model_device
from cnnlessons.shapes import conv_output_size, pool_geometry, pool_output_size, window_arguments

# Layers are recognised by class name, so that ``torch.nn.Conv2d`` and
# ``cnnlessons.scratch.Conv2d`` (same name and hyper-parameter attributes, different
# classes) are read the same way. The value is the number of spatial dimensions.
_CONV = {"Conv1d": 1, "Conv2d": 2}
_POOL = {"MaxPool1d": 1, "MaxPool2d": 2, "AvgPool1d": 1, "AvgPool2d": 2}
# Layers that act on each position separately: they leave the receptive field alone.
# (Dropout2d too: its mask is per channel, but each output still reads one input element.)
# Adaptive pooling has no rule: its windows depend on the input size, not the layer.
_POINTWISE = {"ReLU", "LeakyReLU", "Hardtanh", "ReLU6", "Tanh", "Sigmoid", "Identity",
              "Dropout", "Dropout2d", "BatchNorm1d", "BatchNorm2d"}
# Softmax over channels (dim=1) is pointwise in space; over a spatial dim it is not.
_SOFTMAX = {"Softmax", "LogSoftmax"}


@dataclass(frozen=True)
class ReceptiveField:
    """The box of input elements one unit of a layer sees, per spatial dimension.

    Attributes:
        size: ``r``, the box's extent in input elements, one int per dimension.
        jump: ``j``, the input distance between the boxes of neighbouring units.
        start: the centre of the box of the unit at index 0, in input coordinates.
    """

    size: tuple[int, ...]
    jump: tuple[int, ...]
    start: tuple[float, ...]

    @classmethod
    def of_input(cls, ndim: int = 2) -> ReceptiveField:
        """An input element sees itself: ``r = 1, j = 1, start = 0``."""
        return cls((1,) * ndim, (1,) * ndim, (0.0,) * ndim)

    def then(self, kernel_size: IntOrTuple, stride: IntOrTuple = 1, padding: Padding = 0,
             dilation: IntOrTuple = 1) -> ReceptiveField:
        """The field after one more convolution or pooling layer on top of this one.

        Args:
            kernel_size, stride, padding, dilation: the layer's hyper-parameters, an
                int or one int per dimension; ``padding`` is the zeros added on the
                left (the start of each dimension), or ``'valid'``/``'same'`` as for a
                convolution.
        """
        k, s, d, pairs = window_arguments(len(self.size), kernel_size, stride, padding, dilation)
        p = tuple(left for left, _ in pairs)  # only the left padding moves the field
        size, jump, start = [], [], []
        for r_in, j_in, c_in, k_, s_, p_, d_ in zip(self.size, self.jump, self.start, k, s, p, d):
            k_eff = d_ * (k_ - 1) + 1              # taps spread d apart span this many units
            size.append(r_in + (k_eff - 1) * j_in)  # each extra unit adds j_in input elements
            jump.append(j_in * s_)                  # a step of s units is s * j_in elements
            # The first window starts p units left of unit 0 and is centred (k_eff-1)/2 further.
            start.append(c_in + ((k_eff - 1) / 2 - p_) * j_in)
        return ReceptiveField(tuple(size), tuple(jump), tuple(start))

    def box(self, index: Sequence[int], input_size: Sequence[int] | None = None
            ) -> tuple[tuple[int, int], ...]:
        """The input box seen by the unit at spatial ``index``, as inclusive ``(lo, hi)``.

        Args:
            index: the unit's position, one int per spatial dimension.
            input_size: the input's spatial size; if given, the box is clipped to it
                (the part over the padding holds zeros, not input).

        The unclipped box is exact when it lies inside the input. Near the border
        the clipped box is an upper bound: padding in a later layer puts zeros in
        place of units whose fields would reach into the input, and a dilated
        field has holes that may fall on the clipped edge, so the positions
        actually reached can stop short of the clipped edges (never pass them).

        >>> ReceptiveField((5, 5), (1, 1), (0.0, 0.0)).box((0, 3), input_size=(28, 28))
        ((0, 2), (1, 5))
        """
        if len(index) != len(self.size):
            raise ValueError(f"index={tuple(index)} must have {len(self.size)} entries, "
                             "one per spatial dimension")
        box = []
        for i, (r, j, c) in enumerate(zip(self.size, self.jump, self.start)):
            # centre - (r - 1)/2 is an integer: the first unit's box begins at -p*j_in
            # in every recurrence step, a sum of integers.
            lo = round(c + index[i] * j - (r - 1) / 2)
            hi = lo + r - 1
            if input_size is not None:
                lo, hi = max(lo, 0), min(hi, input_size[i] - 1)
            box.append((lo, hi))
        return tuple(box)


def _kind(layer) -> str:
    """``'window'``, ``'pointwise'``, ``'softmax'``, ``'flatten'`` or ``'linear'``."""
    if isinstance(layer, tuple):
        return "window"
    name = type(layer).__name__
    if name in _CONV or name in _POOL:
        return "window"
    if name in _POINTWISE:
        return "pointwise"
    if name in _SOFTMAX:
        return "softmax"
    if name == "Flatten":
        return "flatten"
    if name == "Linear":
        return "linear"
    raise ValueError(
        f"layer {name} has no receptive-field rule: expected a (kernel_size, stride, "
        f"padding, dilation) tuple or one of {sorted(_CONV) + sorted(_POOL)}, Flatten, "
        f"Linear, {sorted(_SOFTMAX)} or a pointwise layer {sorted(_POINTWISE)}"
    )


def _layer_arguments(layer, ndim: int) -> tuple[IntOrTuple, IntOrTuple, Padding, IntOrTuple]:
    """A conv or pool layer's ``(kernel_size, stride, padding, dilation)`` as it holds them.

    ``layer`` is a module or a ``(kernel_size, stride, padding, dilation)`` tuple with
    ``ndim`` spatial dimensions; :mod:`cnnlessons.shapes` checks and normalises the values.
    """
    if isinstance(layer, tuple):
        if len(layer) != 4:
            raise ValueError(f"layer={layer!r} must be a (kernel_size, stride, padding, "
                             "dilation) tuple")
        return layer
    name = type(layer).__name__
    dims = _CONV.get(name) or _POOL.get(name)
    if dims is None:
        raise ValueError(f"layer {name} is not a convolution or pooling layer")
    if dims != ndim:
        raise ValueError(f"layer {name} has {dims} spatial dimension(s), the chain has {ndim}")
    if getattr(layer, "padding_mode", "zeros") != "zeros":
        raise ValueError(f"{name} has padding_mode={layer.padding_mode!r}; the receptive-field "
                         "arithmetic assumes padding_mode='zeros'")
    # AvgPool has no dilation
    return layer.kernel_size, layer.stride, layer.padding, getattr(layer, "dilation", 1)


def geometry(layer, ndim: int = 2) -> tuple[tuple[int, ...], ...]:
    """A conv or pool layer's ``(kernel_size, stride, padding, dilation)``, one tuple each.

    Args:
        layer: a ``Conv1d``/``Conv2d``/``MaxPool*``/``AvgPool*`` module (torch or
            scratch), or a ``(kernel_size, stride, padding, dilation)`` tuple.
        ndim: number of spatial dimensions; a module must have this many.

    ``padding`` is the left padding: ``'same'`` becomes the left half PyTorch adds.

    >>> geometry(nn.MaxPool2d(2))
    ((2, 2), (2, 2), (0, 0), (1, 1))
    >>> geometry(nn.Conv1d(1, 1, 3, padding="same", dilation=2), ndim=1)
    ((3,), (1,), (2,), (2,))
    """
    k, s, d, pairs = window_arguments(ndim, *_layer_arguments(layer, ndim))
    return k, s, tuple(left for left, _ in pairs), d


def _output_size(layer, size: tuple[int, ...]) -> tuple[int, ...]:
    """Spatial size after a conv or pool layer (or geometry tuple)."""
    args = _layer_arguments(layer, len(size))
    if type(layer).__name__ in _POOL:
        return pool_output_size(size, *args, layer.ceil_mode)
    return conv_output_size(size, *args)  # keeps 'same' as torch reads it


def receptive_fields(layers: Iterable, input_size: Sequence[int] | None = None,
                     ndim: int = 2) -> list[ReceptiveField]:
    """The receptive field on the input of a unit of every layer of a chain.

    Args:
        layers: the layers in the order they are applied: ``(kernel_size, stride,
            padding, dilation)`` tuples, conv/pool modules (torch or scratch),
            pointwise modules (ReLU, Dropout, BatchNorm...), ``Flatten`` and ``Linear``.
        input_size: the input's spatial size, e.g. ``(28, 28)``. Needed when the
            chain has a ``Linear`` after ``Flatten``: that layer sees the whole map,
            like a convolution whose kernel is the map, so the field grows by the
            map's size.
        ndim: number of spatial dimensions when ``input_size`` is not given.

    Returns:
        One ``ReceptiveField`` per layer, for that layer's output.

    >>> [rf.size for rf in receptive_fields([nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(),
    ...                                      nn.MaxPool2d(2)])]
    [(5, 5), (5, 5), (6, 6)]
    """
    size = None if input_size is None else tuple(input_size)
    if size is not None:
        ndim = len(size)
    rf = ReceptiveField.of_input(ndim)
    flat = ndim == 0  # after Flatten the features have no spatial layout
    fields = []
    for i, layer in enumerate(layers):
        kind = _kind(layer)
        name = type(layer).__name__
        if kind == "window":
            if flat:
                raise ValueError(f"layers[{i}] ({name}) comes after Flatten: a flat "
                                 "vector has no spatial layout for a window to slide over")
            rf = rf.then(*geometry(layer, ndim))
            if size is not None:
                size = _output_size(layer, size)
        elif kind == "softmax" and not flat and layer.dim != 1:
            raise ValueError(f"layers[{i}] is {name}(dim={layer.dim}) on a spatial map: "
                             "only dim=1 (over channels) leaves the receptive field alone")
        elif kind == "flatten":
            flat = True
        elif kind == "linear":
            if not flat:
                raise ValueError(f"layers[{i}] (Linear) acts on a spatial map; put a "
                                 "Flatten before it")
            if size is None:
                raise ValueError("input_size is needed for a Linear after Flatten: the "
                                 "field grows by the size of the flattened map")
            # Linear = a convolution whose kernel covers the whole flattened map.
            rf = rf.then(size)
            size = (1,) * ndim
        fields.append(rf)
    return fields


class _SumPool(nn.Module):
    """A pooling window that adds its inputs: the connectivity of max or average
    pooling with every tap live (max pooling passes gradient to one tap only).
    """

    def __init__(self, kernel_size, stride, padding, dilation, ceil_mode):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = (
            kernel_size, stride, padding, dilation)
        self.ceil_mode = ceil_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.kernel_size)
        window = pool_geometry(tuple(x.shape[-n:]), self.kernel_size, self.stride,
                               self.padding, self.dilation, self.ceil_mode)
        pads = []
        # F.pad lists the last dimension first
        for size, left, extent in reversed(list(zip(window.input_size, window.pad_before,
                                                    window.extent))):
            # Pad (or crop, if negative) the right so that exactly the output's windows
            # fit, which is how ceil_mode's last, overhanging window is made.
            pads += [left, extent - size - left]
        x = F.pad(x, pads)
        # windows of the dilated span, keeping every d-th tap
        for i, (span, s, d) in enumerate(zip(window.span, window.stride, window.dilation)):
            x = x.unfold(2 + i, span, s)[..., ::d]
        return x.sum(dim=tuple(range(-n, 0)))


def linearized(model: nn.Module) -> nn.Module:
    """A float64 copy of ``model`` in which every input-to-output path counts positively.

    Convolution and linear weights become 1 and biases 0; max and average pooling
    become a window that adds all its taps; ReLU, Dropout, BatchNorm and softmax
    become the identity. The copy is linear with positive coefficients, so the
    gradient of an output with respect to the input counts the paths between them:
    it is nonzero exactly where the layers connect the two, whatever the input.
    (In the real network a ReLU that is off or a max-pool tap that lost hides part
    of the field, so a plain gradient would underestimate it.)

    The layers must be modules (a ``F.max_pool2d`` call inside ``forward`` is not
    seen); convolutions keep their own ``forward``, so scratch layers are measured
    by their own code.
    """
    model = copy.deepcopy(model).double()
    model.requires_grad_(False)  # only the input's gradient is wanted: skip the weights'
    for name, module in list(model.named_modules()):
        if any(True for _ in module.children()):
            continue  # a container: its leaves are handled one by one
        kind, layer_name = _kind(module), type(module).__name__
        if layer_name in _POOL:
            ndim = _POOL[layer_name]
            k, s, p, d = geometry(module, ndim)
            new = _SumPool(k, s, p, d, module.ceil_mode)
        elif kind in ("pointwise", "softmax"):
            new = nn.Identity()
        else:  # conv, Linear, Flatten: keep the layer, make its weights positive
            if getattr(module, "padding_mode", "zeros") != "zeros":
                raise ValueError(f"{name} has padding_mode={module.padding_mode!r}; only "
                                 "'zeros' is supported")
            with torch.no_grad():
                if getattr(module, "weight", None) is not None:
                    module.weight.fill_(1.0)
                if getattr(module, "bias", None) is not None:
                    module.bias.zero_()
            continue
        if name == "":
            return new  # the model is itself a single pooling or pointwise layer
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, new)
    return model


@dataclass(frozen=True)
class EmpiricalField:
    """The input elements one output element was measured to depend on.

    Attributes:
        mask: bool tensor of the input's spatial shape, ``True`` where the output's
            gradient is nonzero (in any channel).
        box: its bounding box, inclusive ``(lo, hi)`` per spatial dimension.
    """

    mask: torch.Tensor
    box: tuple[tuple[int, int], ...]

    @property
    def size(self) -> tuple[int, ...]:
        """The bounding box's extent per dimension, comparable to ``ReceptiveField.size``."""
        return tuple(hi - lo + 1 for lo, hi in self.box)

    @property
    def count(self) -> int:
        """How many input positions the output depends on (holes excluded)."""
        return int(self.mask.sum())


def empirical_receptive_field(model_or_fn: nn.Module | Callable[[torch.Tensor], torch.Tensor],
                              input_size: Sequence[int],
                              output_index: Sequence[int]) -> EmpiricalField:
    """Measure which input positions one output element depends on, by back-propagation.

    A module is first ``linearized`` (see there), so the measurement does not
    depend on the input or the weights; a plain function is used as it is, at an
    input of ones, which is exact only if it has no ReLU or max pooling.

    Args:
        model_or_fn: a module, or a function of one batched tensor.
        input_size: one sample's shape ``(C, *spatial)``, e.g. ``(1, 28, 28)``.
        output_index: the output element's index without the batch dimension, e.g.
            ``(channel, i, j)`` for a feature map or ``(k,)`` for a vector.

    Returns:
        An ``EmpiricalField``: the mask of nonzero gradient and its bounding box.

    >>> net = nn.Sequential(nn.Conv2d(1, 1, 2), nn.Conv2d(1, 1, 2))   # X 3x3 -> Y -> z
    >>> field = empirical_receptive_field(net, (1, 3, 3), (0, 0, 0))
    >>> field.box, field.count
    (((0, 2), (0, 2)), 9)
    """
    fn, device = model_or_fn, None
    if isinstance(model_or_fn, nn.Module):
        fn = linearized(model_or_fn)
        device = model_device(fn)  # the input goes where the weights are
    x = torch.ones((1, *input_size), dtype=torch.float64, device=device, requires_grad=True)
    out = fn(x)
    out[0][tuple(output_index)].backward()
    mask = x.grad[0].ne(0).any(dim=0)  # a position counts if any channel reaches the output
    if not mask.any():
        raise ValueError(f"output_index={tuple(output_index)} does not depend on the input")
    box = []
    for dim in range(mask.dim()):
        others = [o for o in range(mask.dim()) if o != dim]
        hits = mask.any(dim=others).nonzero() if others else mask.nonzero()
        box.append((int(hits.min()), int(hits.max())))
    return EmpiricalField(mask, tuple(box))
