"""The from-scratch mirror of ``torch.nn``.

Every class here has the same name, constructor arguments, parameter and buffer names
and ``extra_repr`` as its ``torch.nn`` twin, so a model can swap ``torch.nn`` for
``cnnlessons.scratch`` and load the same ``state_dict``. The forward passes use tensor
primitives only and every backward pass is written by hand. The functions live in
``cnnlessons.scratch.functional``; the optimiser in ``cnnlessons.scratch.optim``. No
name is listed by hand: the classes are those in the ``__all__`` of every layer module
(``functional.LAYER_MODULES``). Among them, ``containers.py`` re-exports what
``torch.nn`` has that computes nothing (``Module``, ``Sequential``, ``Parameter``,
``Identity``, the ``init`` module...), so ``import cnnlessons.scratch as nn`` and
``import cnnlessons.scratch.functional as F`` run a ``torch.nn`` model definition
verbatim. For a model written against torch, ``enabled()`` (run its layer calls as the
scratch functions) and ``from_torch()`` (swap its layers for the scratch classes) come
from ``cnnlessons.twins``.

Adding a layer (say ``ConvTranspose2d``), step by step:

1. **File.** One concept per file, named like torch's (``conv.py``, ``pool.py``,
   ``unpool.py``); a new concept gets a new file. The function (``conv_transpose2d``)
   and the class (``ConvTranspose2d``) live there with torch's names, signatures,
   defaults, parameter and buffer names (in torch's registration order) and
   ``extra_repr``.
2. **Autograd.** A private ``_ConvTranspose2dFunction(Function)``: ``@staticmethod
   forward(ctx, ...)`` and ``@staticmethod @once_differentiable backward(ctx,
   grad_output)``; tensors through ``ctx.save_for_backward``, other state as named
   attributes (``ctx.geometry = geometry``), never a positional tuple. The formula and
   every local derivative go in the docstring; ``linear.py`` is the model. Tensor
   primitives only: no ``torch.nn.functional``, no torch layer kernel.
3. **Arguments and sizes.** ``cnnlessons.arguments`` for ``IntOrTuple``, ``Padding``,
   ``ntuple`` and ``check_count``; errors are one line naming the argument, its value
   and the rule. Output sizes only via ``cnnlessons.shapes`` (``conv_geometry``,
   ``pool_geometry``); a new size formula is added there.
4. **Docstrings.** Google style, a doctest, and a ``Shape:`` section in torch's
   ``:math:`` notation, as in ``linear.py``. Arguments two classes share are one
   fragment filled into both docstrings (as in ``norm.py`` and ``loss.py``).
5. **Exports.** List the function and the class in the module's ``__all__``: they join
   ``cnnlessons.scratch.functional`` and this package with no edit elsewhere. A slow
   reference that torch's ``F`` lacks (like ``conv2d_loop``) lives in the layer's
   ``<layer>_reference.py`` and is re-exported by the layer module; ``SF`` leaves out
   everything those modules export (``functional._REFERENCE_VERSIONS`` is derived).
6. **Backend.** Nothing to list: ``cnnlessons.backend`` hands out every exported class
   that ``torch.nn`` also has (``cnnlessons.layer_names()``).
7. **Receptive field.** Give it a rule in ``cnnlessons/receptive_field.py``: a window
   layer joins ``_CONV`` or ``_POOL`` (name -> spatial dimensions), a position-wise
   one ``_POINTWISE``, a softmax ``_SOFTMAX``; anything else (a transposed
   convolution) needs its own case in ``_kind`` and ``receptive_fields``, or it raises
   "has no receptive-field rule".
8. **Tests.** ``tests/test_<file>.py``: hypothesis float64 forward and gradient
   comparisons against torch (``oracle.tensors``, ``oracle.assert_same_as_torch``),
   ``torch.autograd.gradcheck`` and every error. ``tests/test_from_scratch.py``: a case
   in ``CASES`` (primitives only, forward and backward; extend ``FORBIDDEN`` if torch's
   kernel has a new name) and, where it fits, a use in ``_Net``.
   ``tests/test_backend.py``: a ``Row`` in ``ROWS`` (``state_dict``, ``repr``, outputs
   and gradients against torch); ``test_table_covers_every_shared_class`` insists.
9. **Book.** The function goes into the ``homes`` dict and the table under "Where each
   function lives" in ``chapters/a1_functional_tour.ipynb``, which checks them against
   ``functional.__all__``.
10. **Check.** ``ruff check``, the test files above and ``pytest --doctest-modules`` on
    the module.
"""
from cnnlessons.scratch import functional, optim
from cnnlessons.twins import enabled, from_torch

# The classes, and the one namespace that is not a function (containers.init).
_CLASSES = {
    name: getattr(module, name)
    for module in functional.LAYER_MODULES
    for name in module.__all__
    if isinstance(obj := getattr(module, name), type) or not callable(obj)
}
globals().update(_CLASSES)
__all__ = ["functional", "optim", "enabled", "from_torch", *_CLASSES]
