"""Results of runs too long for a chapter, stored with the package so that a chapter
can quote them anywhere it runs (Colab included, where ``benchmarks/`` is absent).

``lenet_mnist.json``: ``python benchmarks/lenet_mnist.py --recipe best --json
cnnlessons/results/lenet_mnist.json`` (chapter 6 quotes its final test accuracy).

>>> load("lenet_mnist")["recipe"]
'best'
"""
from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["load", "NAMES"]

#: The stored results, by name (the file's name without ``.json``).
NAMES = ("lenet_mnist",)


def load(name: str) -> dict[str, Any]:
    """The stored result ``name`` (one of :data:`NAMES`), as the dict its JSON holds."""
    if name not in NAMES:
        raise ValueError(f"name={name!r} is not a stored result; expected one of {list(NAMES)}")
    return json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text())
