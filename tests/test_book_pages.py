"""The code shown on the book's Markdown pages and in the README runs as printed."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "book").glob("*.md")) + [ROOT / "README.md"]
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
BLOCKS = [(page.name, i, code) for page in PAGES
          for i, code in enumerate(PYTHON_BLOCK.findall(page.read_text()))]


def test_the_pages_have_python_examples():
    assert BLOCKS, "no ```python blocks found: the pattern or the pages changed"


def bound_names(tree: ast.Module) -> set[str]:
    """The names a block's top-level statements bind (assignments and imports)."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


@pytest.mark.parametrize("page, index, code", BLOCKS, ids=[f"{p}-{i}" for p, i, _ in BLOCKS])
def test_python_block_runs(page, index, code, capsys):
    tree = ast.parse(code)
    namespace = {}
    exec(compile(tree, f"{page} block {index}", "exec"), namespace)
    # It ran to its last line: everything it defines is defined...
    assert bound_names(tree) <= namespace.keys()
    # ...and what it prints was printed (a reader is shown that output).
    prints = any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"
                 for n in ast.walk(tree))
    assert bool(capsys.readouterr().out.strip()) == prints
