"""The exercises of every numbered chapter, as a learner meets them.

Each exercise is five cells: the task (markdown), the stub the learner edits (tagged
``exercise`` and ``exercise-KIND``), its check, the hidden solution (tagged ``solution``
and ``hide-input``, collapsed in Jupyter), and the same check again. The stored outputs
say "not done yet" after the stub and ✓ after the solution; nbval compares them.

What the stored outputs cannot show is a chapter without its solutions, which is what a
learner who has not written them yet runs: :func:`test_without_solutions_every_check_fails`
deletes the solution cells, executes the chapter, and requires that it reaches its end
and that no check passes.
"""
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NUMBERED = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
KINDS = {"implement", "predict", "explain", "find-the-bug", "break-and-observe"}
CHECK = re.compile(r"print\(exercises\.check_\w+\(.*\)\)")


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def text_of(cell) -> str:
    """Everything the cell printed or displayed as text."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "".join(parts)


def exercises(notebook) -> list[tuple]:
    """(stub, first check, solution, second check) per exercise, in order."""
    cells = code_cells(notebook)
    found = []
    for i, cell in enumerate(cells):
        if "exercise" in cell.metadata.get("tags", []):
            assert i + 3 < len(cells), "an exercise needs a check, a solution and a check"
            found.append(tuple(cells[i:i + 4]))
    return found


@pytest.fixture(scope="module", params=NUMBERED, ids=lambda path: path.stem)
def chapter(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_every_numbered_chapter_has_three_exercises(chapter):
    path, notebook = chapter
    assert len(exercises(notebook)) >= 3, f"{path.name}: fewer than three exercises"


def test_each_exercise_is_stub_check_solution_check(chapter):
    path, notebook = chapter
    for stub, check, solution, check_again in exercises(notebook):
        where = f"{path.name}, exercise {stub.source.splitlines()[0]!r}"
        kinds = [t.removeprefix("exercise-") for t in stub.metadata["tags"]
                 if t.startswith("exercise-")]
        assert len(kinds) == 1 and kinds[0] in KINDS, f"{where}: tag exercise-KIND, KIND in {KINDS}"
        assert "solution" not in stub.metadata.get("tags", []), where
        assert CHECK.fullmatch(check.source.strip()), f"{where}: the next cell is its check"
        assert text_of(check).startswith("✗") and "not done yet" in text_of(check), (
            f"{where}: on the stub the check must say 'not done yet', stored {text_of(check)!r}")
        tags = solution.metadata.get("tags", [])
        assert "solution" in tags and "hide-input" in tags, f"{where}: solution, hide-input tags"
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, (
            f"{where}: the solution is collapsed in Jupyter (metadata.jupyter.source_hidden)")
        assert check_again.source == check.source, f"{where}: the solution is checked again"
        assert text_of(check_again).startswith("✓"), (
            f"{where}: the solution passes, stored {text_of(check_again)!r}")


def test_no_solution_is_stored_in_a_learners_cell(chapter):
    path, notebook = chapter
    for cell in code_cells(notebook):
        tags = cell.metadata.get("tags", [])
        if "hide-cell" in tags or "solution" in tags:
            assert "solution" in tags and "exercise" not in tags, (
                f"{path.name}: a hidden cell that is not a solution cell: {cell.source[:60]!r}")


def test_the_layout_check_can_fail():
    """A chapter whose solution is open in the learner's cell is caught."""
    stub = nbformat.v4.new_code_cell("def f():\n    return 1", metadata={
        "tags": ["exercise", "exercise-implement", "hide-cell"]})
    def check():
        cell = nbformat.v4.new_code_cell("print(exercises.check_f(f))")
        cell.outputs = [nbformat.v4.new_output("stream", text="✓ f: 1/1 cases passed\n")]
        return cell

    notebook = nbformat.v4.new_notebook(cells=[stub, check(), check(), check()])
    with pytest.raises(AssertionError):
        test_each_exercise_is_stub_check_solution_check((Path("demo.ipynb"), notebook))


def test_without_solutions_every_check_fails(chapter):
    path, notebook = chapter
    stripped = nbformat.from_dict(notebook)
    stripped.cells = [cell for cell in stripped.cells
                      if "solution" not in cell.metadata.get("tags", [])]
    for cell in code_cells(stripped):
        cell.outputs = []
    NotebookClient(stripped, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    checks = [cell for cell in code_cells(stripped) if CHECK.fullmatch(cell.source.strip())]
    assert len(checks) >= 6
    for cell in checks:
        assert text_of(cell).startswith("✗"), (
            f"{path.name}: without its solution, {cell.source.strip()!r} printed "
            f"{text_of(cell)!r}")
