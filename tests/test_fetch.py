"""Data that fetches itself: ``ensure_mnist`` and ``python -m cnnlessons data``.

Every download comes from a loopback mirror (``mnist_mirror``): no other network exists.
"""
import gzip
import os
import subprocess
import sys

import pytest
from mnist_mirror import closed_port_url, mirror_folder, serve

from cnnlessons.data import MIRROR_VARIABLE, MNIST_FILES, ensure_mnist, mnist, mnist_tensors


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """URL of a loopback server holding the four MNIST archives."""
    with serve(mirror_folder(tmp_path_factory.mktemp("mirror"))) as url:
        yield url


def raw_names(root):
    return sorted(path.name for path in (root / "MNIST" / "raw").iterdir())


def test_ensure_downloads_verifies_and_then_stays_offline(mirror, tmp_path, capsys):
    raw = ensure_mnist(tmp_path, mirror=mirror)
    assert raw == tmp_path / "MNIST" / "raw"
    # Unpacked beside the archives, as torchvision's download_and_extract_archive does.
    assert raw_names(tmp_path) == sorted([*MNIST_FILES, *(f"{n}.gz" for n in MNIST_FILES)])
    capsys.readouterr()
    images, labels = mnist_tensors(train=False, root=tmp_path)
    assert images.shape == (10000, 1, 28, 28) and labels[:3].tolist() == [7, 2, 1]
    # Present and intact: a second call neither downloads nor prints.
    assert ensure_mnist(tmp_path, mirror=closed_port_url()) == raw
    assert capsys.readouterr().out == ""


def test_ensure_reads_the_mirror_from_the_environment(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(MIRROR_VARIABLE, mirror.rstrip("/"))  # a trailing / is optional
    ensure_mnist(tmp_path, train=False)
    # The test set alone: what evaluating needs.
    assert [name for name in raw_names(tmp_path) if not name.endswith(".gz")] == [
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    assert len(mnist(train=False, root=tmp_path)) == 10000


def test_download_true_goes_through_ensure(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(MIRROR_VARIABLE, mirror)
    assert len(mnist(train=False, root=tmp_path, download=True)) == 10000


def test_damaged_file_is_downloaded_again(mirror, tmp_path):
    raw = ensure_mnist(tmp_path, mirror=mirror, train=False)
    labels = raw / "t10k-labels-idx1-ubyte"
    good = labels.read_bytes()
    labels.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # one label changed
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"stale archive")
    ensure_mnist(tmp_path, mirror=mirror, train=False)
    assert labels.read_bytes() == good


def test_wrong_archive_from_the_mirror_is_rejected(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    for name in MNIST_FILES:
        (served / f"{name}.gz").write_bytes(gzip.compress(b"not MNIST"))
    with serve(served) as url, pytest.raises(FileNotFoundError) as info:
        ensure_mnist(tmp_path / "data", mirror=url, train=False)
    message = str(info.value)
    assert "\n" not in message and "t10k-images-idx3-ubyte has the wrong md5" in message
    # Nothing wrong is left behind for the readers to take as present.
    with pytest.raises(FileNotFoundError, match="missing: t10k-images-idx3-ubyte, "):
        mnist(train=False, root=tmp_path / "data")


def test_offline_error_says_what_to_run(tmp_path):
    url = closed_port_url()
    with pytest.raises(FileNotFoundError) as info:
        ensure_mnist(tmp_path, mirror=url)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("MNIST files missing: " + ", ".join(MNIST_FILES) + ".")
    assert "python -m cnnlessons data" in message and MIRROR_VARIABLE in message
    assert url in message and str(tmp_path / "MNIST" / "raw") in message


def test_data_command_fetches_from_the_mirror(mirror, tmp_path):
    result = subprocess.run([sys.executable, "-m", "cnnlessons", "data", "--root", str(tmp_path),
                             "--mirror", mirror], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        f"MNIST ready: the four files in {tmp_path / 'MNIST' / 'raw'} have the expected md5s")
    assert set(MNIST_FILES) <= set(raw_names(tmp_path))


def test_data_command_offline_is_a_one_line_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cnnlessons", "data", "--root", str(tmp_path)],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, MIRROR_VARIABLE: closed_port_url()})
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m cnnlessons data: error: MNIST files missing: ")
    assert "Traceback" not in result.stderr
