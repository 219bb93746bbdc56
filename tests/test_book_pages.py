"""The code shown on the book's Markdown pages and in the README runs as printed."""
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


@pytest.mark.parametrize("page, index, code", BLOCKS, ids=[f"{p}-{i}" for p, i, _ in BLOCKS])
def test_python_block_runs(page, index, code):
    exec(compile(code, f"{page} block {index}", "exec"), {})
