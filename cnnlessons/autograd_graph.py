"""Walking the graph autograd records behind a tensor.

A tensor computed from tensors that require grad carries ``grad_fn``, the backward node
of the operation that made it. Each node's ``next_functions`` is a tuple of
``(node, index)`` pairs, one per input of that operation: the input's own ``grad_fn``,
an ``AccumulateGrad`` node for a leaf that requires grad (a parameter; it adds the
incoming gradient into the leaf's ``.grad``), or ``None`` for an input that needs no
gradient. Chapter 6 walks this graph from a loss back to the network's input:

* :func:`first_input_path` follows the first input at every node, as the PyTorch
  tutorial's ``loss.grad_fn.next_functions[0][0]...`` does;
* :func:`input_names` names the inputs of one node;
* :func:`grad_fn_chain` follows, at every node, the input with the longest chain of
  nodes behind it (:func:`depth`): the data's path through every layer, whatever
  order an operation takes its inputs in.

>>> import torch
>>> w = torch.ones(3, requires_grad=True)
>>> loss = (2 * w).relu().sum()
>>> grad_fn_chain(loss)
['SumBackward0', 'ReluBackward0', 'MulBackward0']
>>> first_input_path(loss, 4)
['SumBackward0', 'ReluBackward0', 'MulBackward0', 'AccumulateGrad']
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

__all__ = ["depth", "first_input_path", "grad_fn_chain", "input_names", "node_name"]


def node_name(node: Any) -> str:
    """The type name of a backward node (``"AddmmBackward0"``), ``"None"`` for ``None``.

    Printing a node shows its type and memory address; the name alone is reproducible.
    """
    return "None" if node is None else type(node).__name__


def _root(tensor: Tensor) -> Any:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor: expected a torch.Tensor, got {type(tensor).__name__}")
    if tensor.grad_fn is None:
        raise ValueError(f"tensor: its grad_fn is None (requires_grad={tensor.requires_grad}); "
                         "the rule: only a tensor computed from tensors that require grad "
                         "has a graph behind it")
    return tensor.grad_fn


def input_names(node: Any) -> list[str]:
    """Names of the nodes in ``node.next_functions``, one per input of its operation.

    >>> import torch
    >>> b = torch.zeros(2, requires_grad=True)
    >>> input_names((b + torch.ones(2)).grad_fn)
    ['AccumulateGrad', 'None']
    """
    if not hasattr(node, "next_functions"):
        raise TypeError(f"node: expected a backward node (a tensor's grad_fn), "
                        f"got {type(node).__name__}")
    return [node_name(child) for child, _ in node.next_functions]


def first_input_path(tensor: Tensor, steps: int) -> list[str]:
    """Names of ``tensor.grad_fn`` and the nodes reached by following the first input
    ``steps - 1`` times (``grad_fn.next_functions[0][0]`` and so on).

    Stops early where a node has no inputs or its first input is ``None``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: got {steps!r}; the rule: a whole number of nodes, at least 1")
    node, names = _root(tensor), []
    while node is not None and len(names) < steps:
        names.append(node_name(node))
        node = node.next_functions[0][0] if node.next_functions else None
    return names


def depth(node: Any, _memo: dict[int, tuple[int, Any]] | None = None) -> int:
    """Number of backward nodes on the longest path from ``node`` to the graph's end
    (0 for ``None``, 1 for an ``AccumulateGrad``). Shared nodes are counted once each
    way, so the cost grows with the size of the graph, not the number of its paths.
    """
    memo = {} if _memo is None else _memo
    if node is None:
        return 0
    if id(node) not in memo:
        # The node is stored beside its depth to keep it alive: torch may free a node's
        # Python wrapper once no one holds it (torch 2.4 does for AccumulateGrad), and a
        # new wrapper could then reuse its id and inherit the wrong depth.
        memo[id(node)] = (1 + max((depth(child, memo) for child, _ in node.next_functions),
                                  default=0), node)
    return memo[id(node)][0]


def grad_fn_chain(tensor: Tensor) -> list[str]:
    """Names of the backward nodes from ``tensor.grad_fn`` back to the first operation.

    At every node the walk takes the input with the longest chain behind it (ties go to
    the first such input): a parameter's branch ends after one or two nodes
    (``AccumulateGrad``, or ``TBackward0`` then ``AccumulateGrad``), while the data's
    branch runs back through every layer. The final ``AccumulateGrad`` (a parameter
    of the first operation, once only parameter branches are left) is dropped.
    """
    node, names, memo = _root(tensor), [], {}
    while node is not None:
        names.append(node_name(node))
        children = [child for child, _ in node.next_functions]
        node = max(children, key=lambda child: depth(child, memo)) if children else None
    return names[:-1] if len(names) > 1 and names[-1] == "AccumulateGrad" else names
