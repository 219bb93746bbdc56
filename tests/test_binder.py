"""What Binder does with ``binder/``: the image's Python, PyTorch at the tested pins, then
``binder/postBuild`` run from the repository root.

repo2docker installs ``binder/requirements.txt`` into the Python of ``runtime.txt`` and
runs ``postBuild``. The pins are checked against ``constraints.txt``; ``postBuild`` itself
runs for real, in a copy of the repository (so it has no ``data/``) with a fresh venv whose
already-installed packages are this test environment's (so that nothing is downloaded
but MNIST, which comes from a loopback mirror). Afterwards the package must import from
the copy and the four MNIST files be in the copy's ``data/``, where the chapters look.
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from mnist_mirror import mirror_folder, serve

from cnnlessons.data import MIRROR_VARIABLE, MNIST_FILES

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, as ``{name: version}``."""
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), flags=re.M)
    return dict(found)


def test_binder_installs_the_tested_torch():
    wanted = {name: version for name, version in pins(ROOT / "constraints.txt").items()
              if name in ("torch", "torchvision")}
    assert pins(BINDER / "requirements.txt") == wanted


def test_binder_python_is_the_tested_one():
    tested = f"python-{sys.version_info.major}.{sys.version_info.minor}"
    assert (BINDER / "runtime.txt").read_text().strip() == tested


def test_post_build_installs_the_package_and_fetches_mnist(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", "constraints.txt"):
        shutil.copy(ROOT / name, repo / name)
    for folder in ("cnnlessons", "binder"):
        shutil.copytree(ROOT / folder, repo / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # The image already holds torch and the rest (binder/requirements.txt): here, this
    # environment's packages, reached through a .pth file.
    [site] = (venv / "lib").glob("python3*/site-packages")
    (site / "test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {key: value for key, value in os.environ.items()
           if key not in ("CNNLESSONS_DATA", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    with serve(mirror_folder(tmp_path / "mirror")) as url:
        env[MIRROR_VARIABLE] = url
        done = subprocess.run(["bash", str(repo / "binder" / "postBuild")], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import cnnlessons; print(cnnlessons.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(repo)
    raw = repo / "data" / "MNIST" / "raw"
    assert all((raw / name).is_file() for name in MNIST_FILES), sorted(os.listdir(raw))
