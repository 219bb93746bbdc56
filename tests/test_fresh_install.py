"""What Colab does: the package installed from its wheel, one chapter alone in a folder.

The wheel is built from a copy of the sources (so the checkout gains no ``build/``),
installed with ``pip install --no-deps --target`` outside the checkout and put first
on the kernel's ``PYTHONPATH``; the chapter is copied into an empty folder and executed
there by nbconvert, MNIST coming from a loopback mirror through
``$CNNLESSONS_MNIST_MIRROR`` into ``./data``. A cell appended to the copy reports where
``cnnlessons`` was imported from and where the data went.
"""
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from mnist_mirror import mirror_folder, serve

from cnnlessons.data import MIRROR_VARIABLE, MNIST_FILES

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
PROBE = ("import json, cnnlessons, cnnlessons.data\n"
         "print(json.dumps({'file': cnnlessons.__file__, "
         "'data': str(cnnlessons.data.data_root().resolve())}))")


def install_cell() -> str:
    """The first code cell every chapter must have: install the book's version if missing."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    return ("# Colab, or anywhere the course's package is missing: install it (here, a no-op).\n"
            "import importlib.util\n"
            "\n"
            'if importlib.util.find_spec("cnnlessons") is None:\n'
            f'    %pip install --quiet --no-deps "cnnlessons @ git+{url}@v{version}"')


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_first_code_cell_installs_the_book_version(chapter):
    cells = [cell for cell in nbformat.read(chapter, as_version=4).cells
             if cell.cell_type == "code"]
    first = cells[0]
    assert first.source == install_cell(), (
        f"{chapter.name}: the first code cell must be exactly the install cell of "
        f"tests/test_fresh_install.py (version and URL from pyproject.toml, _config.yml)")
    assert first.outputs == []  # stable under nbval: a no-op wherever cnnlessons exists


def test_set_up_page_shows_the_same_install_cell():
    assert f"```ipython3\n{install_cell()}\n```" in (ROOT / "book" / "setup.md").read_text()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder outside the checkout holding cnnlessons installed from its wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "cnnlessons", source / "cnnlessons",
                    ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir",
                    str(tmp / "dist"), str(source)], check=True, timeout=300)
    [wheel] = (tmp / "dist").glob("cnnlessons-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp / "site"), str(wheel)],
                   check=True, timeout=300)
    return tmp / "site"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    with serve(mirror_folder(tmp_path_factory.mktemp("mirror"))) as url:
        yield url


def run_alone(chapter: Path, folder: Path, site: Path, mirror: str) -> dict:
    """Execute ``chapter`` copied alone into ``folder``; return the probe's report."""
    folder.mkdir()
    notebook = nbformat.read(chapter, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    nbformat.write(notebook, folder / chapter.name)
    env = {key: value for key, value in os.environ.items()
           if key not in ("CNNLESSONS_DATA", "MPLBACKEND", "PYTHONPATH")}
    env.update(PYTHONPATH=str(site), PYTHONHASHSEED="0", **{MIRROR_VARIABLE: mirror})
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook",
                    "--execute", "--ExecutePreprocessor.timeout=900",
                    "--ExecutePreprocessor.kernel_name=python3", "--output", "executed.ipynb",
                    chapter.name], cwd=folder, env=env, check=True, timeout=1800,
                   capture_output=True)
    executed = nbformat.read(folder / "executed.ipynb", as_version=4)
    first = next(cell for cell in executed.cells if cell.cell_type == "code")
    assert first.outputs == []  # found on the path: nothing installed, nothing printed
    [report] = executed.cells[-1].outputs
    return json.loads(report.text)


def test_chapter_without_data_runs_from_the_wheel(site, mirror, tmp_path):
    report = run_alone(ROOT / "chapters" / "01_convolution_parameters.ipynb",
                       tmp_path / "alone", site, mirror)
    assert Path(report["file"]).is_relative_to(site)
    assert not Path(report["file"]).is_relative_to(ROOT)


def test_chapter_with_data_fetches_mnist_into_its_folder(site, mirror, tmp_path):
    folder = tmp_path / "alone"
    # Chapter 5 reads both MNIST sets, in seconds (chapter 6 would also train for a minute).
    report = run_alone(ROOT / "chapters" / "05_lenet.ipynb", folder, site, mirror)
    assert Path(report["file"]).is_relative_to(site)
    # Outside a checkout the data goes to ./data, beside the notebook.
    assert report["data"] == str((folder / "data").resolve())
    raw = folder / "data" / "MNIST" / "raw"
    assert all((raw / name).is_file() for name in MNIST_FILES)
