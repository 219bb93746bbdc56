"""cnnlessons.data: MNIST loading (both paths agree), mean/std, synthetic digits, loaders.

The MNIST tests read the real files under data_root(); the oracles are torchvision's
per-sample transform pipeline and the published MNIST class counts.
"""
import re
import struct
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from cnnlessons.data import (
    MNIST_FILES,
    MNIST_MEAN,
    MNIST_STD,
    InMemoryLoader,
    MNISTFileError,
    data_root,
    ensure_mnist,
    mean_std,
    mnist,
    mnist_loaders,
    mnist_memory_loader,
    mnist_memory_loaders,
    mnist_tensors,
    random_affine,
    synthetic_digits,
)

# Images per class in the MNIST training and test sets (LeCun's files).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --- where the data lives -------------------------------------------------------------

def test_data_root_honours_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLESSONS_DATA", str(tmp_path))
    assert data_root() == tmp_path


def test_data_root_default_is_a_data_folder(monkeypatch):
    monkeypatch.delenv("CNNLESSONS_DATA", raising=False)
    assert data_root().name == "data"


def test_missing_files_error_names_all_four_files_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        mnist(train=True, root=tmp_path)
    message = str(info.value)
    for name in MNIST_FILES:
        assert f"{name}" in message
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "gunzip" in message


def test_missing_files_error_lists_only_missing_ones(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES[:2]:
        (raw / name).touch()
    with pytest.raises(FileNotFoundError,
                       match="missing: t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte\\."):
        mnist_tensors(train=False, root=tmp_path)


def test_missing_files_error_via_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLESSONS_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        mnist_loaders()


# --- MNIST: the fast path equals the torchvision path -----------------------------------

@pytest.fixture(scope="module")
def mnist_train():
    return mnist_tensors(train=True)


@pytest.fixture(scope="module")
def mnist_test():
    return mnist_tensors(train=False)


@pytest.mark.parametrize("train", [True, False])
def test_in_memory_equals_torchvision_transform(train, mnist_train, mnist_test):
    images, labels = mnist_train if train else mnist_test
    dataset = mnist(train=train)  # ToTensor + Normalize, one PIL image at a time
    first = [dataset[i] for i in range(300)]
    expected = torch.stack([image for image, _ in first])
    assert images.shape == (len(dataset), 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64
    assert torch.equal(images[:300], expected)
    assert labels[:300].tolist() == [label for _, label in first]


def test_label_counts_match_published_counts(mnist_train, mnist_test):
    assert mnist_train[1].bincount().tolist() == TRAIN_COUNTS
    assert mnist_test[1].bincount().tolist() == TEST_COUNTS


def test_test_set_label_counts_through_dataloader(mnist_test):
    _, test_loader = mnist_loaders(test_batch_size=2000)
    labels = torch.cat([labels for _, labels in test_loader])
    assert torch.equal(labels.bincount(), mnist_test[1].bincount())


def test_mnist_loaders_batches_and_seeded_shuffle():
    first = [next(iter(mnist_loaders(batch_size=32, seed=3)[0])) for _ in range(2)]
    other = next(iter(mnist_loaders(batch_size=32, seed=4)[0]))
    images, labels = first[0]
    assert images.shape == (32, 1, 28, 28) and labels.shape == (32,)
    assert torch.equal(first[0][1], first[1][1])
    assert not torch.equal(first[0][1], other[1])


def test_mnist_memory_loader_is_one_of_the_pair(tmp_path):
    train, test = mnist_memory_loaders(batch_size=128, test_batch_size=500, seed=2)
    alone = mnist_memory_loader(False, 500)
    assert not alone.shuffle and torch.equal(alone.labels, test.labels)
    shuffled = mnist_memory_loader(True, 128, seed=2)
    assert torch.equal(next(iter(shuffled))[1], next(iter(train))[1])
    # The test set alone needs only its two files.
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES[2:]:
        (raw / name).symlink_to(data_root() / "MNIST" / "raw" / name)
    assert len(mnist_memory_loader(False, 1000, tmp_path)) == 10


def test_mnist_memory_loaders_sizes():
    train, test = mnist_memory_loaders(batch_size=128, test_batch_size=1000)
    assert len(train) == 469 and len(test) == 10
    images, labels = next(iter(test))
    assert images.shape == (1000, 1, 28, 28) and labels.shape == (1000,)


# --- mean and standard deviation --------------------------------------------------------

def test_mean_std_of_mnist_gives_the_famous_constants(mnist_train):
    raw = mnist_train[0] * MNIST_STD + MNIST_MEAN  # undo Normalize: pixels in [0, 1]
    mean, std = mean_std(raw)
    assert round(mean.item(), 4) == 0.1307 == MNIST_MEAN
    assert round(std.item(), 4) == 0.3081 == MNIST_STD


def test_mean_std_of_unnormalized_tensors(mnist_test):
    raw, _ = mnist_tensors(train=False, normalize=False)
    assert raw.min() == 0 and raw.max() == 1
    assert torch.allclose((raw - MNIST_MEAN) / MNIST_STD, mnist_test[0])


def test_normalized_training_set_is_standardized(mnist_train):
    mean, std = mean_std(mnist_train[0])
    assert abs(mean.item()) < 1e-3 and abs(std.item() - 1) < 1e-3


def test_mean_std_per_channel_matches_torch():
    scales = torch.tensor([1.0, 2.0, 5.0], dtype=torch.float64)[:, None, None]
    x = torch.rand(7, 3, 5, 4, dtype=torch.float64) * scales
    mean, std = mean_std(x)
    assert torch.allclose(mean, x.mean(dim=(0, 2, 3)))
    assert torch.allclose(std, x.transpose(0, 1).reshape(3, -1).std(dim=1, correction=0))


def test_mean_std_of_dataset_equals_tensor():
    x = torch.randn(50, 2, 6, 6)
    dataset = TensorDataset(x, torch.zeros(50, dtype=torch.long))
    for got, expected in zip(mean_std(dataset), mean_std(x)):
        assert torch.allclose(got, expected)


def test_mean_std_three_dim_tensor_is_one_channel():
    x = torch.rand(4, 8, 8)
    mean, std = mean_std(x)
    assert mean.shape == (1,) and torch.allclose(mean, x.double().mean().reshape(1))


def test_mean_std_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        mean_std(torch.rand(4, 8))


# --- synthetic digits -------------------------------------------------------------------

def test_synthetic_digits_shapes_and_balanced_labels():
    images, labels = synthetic_digits(n=512)
    assert images.shape == (512, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (512,) and labels.dtype == torch.int64
    assert labels.bincount().tolist() == [52, 52] + [51] * 8


def test_synthetic_digits_seeded_and_global_rng_untouched():
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    a, b = synthetic_digits(n=64, seed=1), synthetic_digits(n=64, seed=1)
    assert torch.rand(1) == before  # the global generator did not move
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], synthetic_digits(n=64, seed=2)[0])


@pytest.mark.parametrize("num_classes, size", [(10, 28), (4, 16), (2, 8)])
def test_synthetic_digits_are_separable_by_class_means(num_classes, size):
    # Learnable: even a nearest-class-mean rule, fitted on one half, classifies the other.
    images, labels = synthetic_digits(n=400, num_classes=num_classes, size=size)
    assert images.shape == (400, 1, size, size) and labels.max() == num_classes - 1
    flat = images.flatten(1)
    means = torch.stack([flat[:200][labels[:200] == k].mean(0) for k in range(num_classes)])
    predicted = torch.cdist(flat[200:], means).argmin(1)
    assert (predicted == labels[200:]).float().mean() > 0.95


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_classes=1), "num_classes=1"),
    (dict(num_classes=10, size=8), "size=8 is too small"),
    (dict(n=0), "n=0"),
])
def test_synthetic_digits_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic_digits(**kwargs)


# --- InMemoryLoader ---------------------------------------------------------------------

def _numbered(n):
    # Image i holds the value i everywhere, so a batch tells which samples it contains.
    images = torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(n, 1, 2, 2)
    return images.contiguous(), torch.arange(n)


def test_in_memory_loader_visits_every_sample_once_per_epoch():
    loader = InMemoryLoader(*_numbered(10), batch_size=4, seed=0)
    assert len(loader) == 3
    for _ in range(2):
        batches = list(loader)
        assert [len(labels) for _, labels in batches] == [4, 4, 2]
        labels = torch.cat([labels for _, labels in batches])
        images = torch.cat([images for images, _ in batches])
        assert sorted(labels.tolist()) == list(range(10))
        assert torch.equal(images[:, 0, 0, 0].long(), labels)  # images follow labels


def test_in_memory_loader_drop_last():
    loader = InMemoryLoader(*_numbered(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(labels) for _, labels in loader] == [4, 4]


def test_in_memory_loader_seeded_shuffle_changes_every_epoch():
    def orders(seed):
        loader = InMemoryLoader(*_numbered(20), batch_size=20, seed=seed)
        return [next(iter(loader))[1].tolist() for _ in range(2)]

    first = orders(0)
    assert first == orders(0)  # same seed, same sequence of epochs
    assert first[0] != first[1]  # a new permutation every epoch
    assert first != orders(1)


def test_in_memory_loader_without_shuffle_keeps_order():
    loader = InMemoryLoader(*_numbered(7), batch_size=3, shuffle=False)
    assert torch.cat([labels for _, labels in loader]).tolist() == list(range(7))


def test_in_memory_loader_device_and_transform():
    images, labels = _numbered(6)
    device = images.device
    loader = InMemoryLoader(images, labels, batch_size=6, shuffle=False, device=device,
                            transform=lambda batch: -batch)
    batch, _ = next(iter(loader))
    assert batch.device == device and torch.equal(batch, -images)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size=0"),
    (dict(labels=torch.arange(3)), "differ in length: 6 != 3"),
])
def test_in_memory_loader_bad_arguments(kwargs, match):
    images, labels = _numbered(6)
    arguments = dict(images=images, labels=labels) | kwargs
    with pytest.raises(ValueError, match=match):
        InMemoryLoader(**arguments)


# --- augmentation -----------------------------------------------------------------------

def test_random_affine_identity_when_ranges_are_zero():
    images, _ = synthetic_digits(n=8)
    out = random_affine(images, degrees=0, translate=0, scale=(1, 1))
    assert torch.allclose(out, images, atol=1e-5)


def test_random_affine_keeps_shape_background_and_is_seeded():
    images, _ = synthetic_digits(n=16)
    a = random_affine(images, generator=torch.Generator().manual_seed(0))
    b = random_affine(images, generator=torch.Generator().manual_seed(0))
    assert a.shape == images.shape and a.dtype == images.dtype
    assert torch.equal(a, b) and not torch.allclose(a, images)
    blank = torch.full((2, 1, 28, 28), -0.5)  # an empty normalised image stays empty
    assert torch.allclose(random_affine(blank), blank)


def test_random_affine_translation_moves_the_centre_of_mass():
    # Pure translation; replaying the generator's draws tells the shift in pixels.
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 10:14, 10:14] = 1.0
    generator = torch.Generator().manual_seed(5)
    out = random_affine(image, degrees=0, translate=0.1, scale=(1, 1), generator=generator,
                        fill=0.0)
    replay = torch.Generator().manual_seed(5)
    draws = [torch.rand(1, generator=replay, dtype=torch.float64).item() for _ in range(4)]
    shift_x, shift_y = ((-0.1 + 0.2 * u) * 28 for u in draws[2:])
    # The square's centre of mass moves by -shift (theta maps output to input).
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    centre = lambda x: ((x * rows).sum() / x.sum(), (x * cols).sum() / x.sum())  # noqa: E731
    (r0, c0), (r1, c1) = centre(image[0, 0]), centre(out[0, 0])
    assert abs((r1 - r0) + shift_y) < 1e-3 and abs((c1 - c0) + shift_x) < 1e-3


def test_random_affine_rejects_bad_shape():
    with pytest.raises(ValueError, match="images must be"):
        random_affine(torch.zeros(28, 28))


def test_default_root_is_repository_data_folder(monkeypatch):
    # The tests run in a checkout: pyproject.toml is beside the package.
    monkeypatch.delenv("CNNLESSONS_DATA", raising=False)
    repository = Path(__file__).resolve().parent.parent
    assert (repository / "pyproject.toml").is_file()
    assert data_root() == repository / "data"


# --- damaged MNIST files ----------------------------------------------------------------

def idx_bytes(values: bytes, dims, magic=None) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000080N, the dimensions, the data."""
    magic = (0x08 << 8 | len(dims)) if magic is None else magic
    return struct.pack(f">I{len(dims)}I", magic, *dims) + values


def write_split(root, images=None, labels=None, prefix="t10k", n=5):
    """A small valid split (n images, labels 0..n-1) unless replaced by given bytes."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    pixels = bytes(range(256)) * (n * 28 * 28 // 256 + 1)
    (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
        images if images is not None else idx_bytes(pixels[:n * 28 * 28], (n, 28, 28)))
    (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
        labels if labels is not None else idx_bytes(bytes(range(n)), (n,)))
    return raw


def test_small_valid_split_is_read_by_torchvision(tmp_path):
    write_split(tmp_path)
    images, labels = mnist_tensors(train=False, root=tmp_path, normalize=False)
    assert images.shape == (5, 1, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4]
    assert images[0, 0, 0, :3].mul(255).round().tolist() == [0, 1, 2]


GOOD_IMAGES = idx_bytes(bytes(5 * 28 * 28), (5, 28, 28))
GOOD_LABELS = idx_bytes(bytes(range(5)), (5,))


@pytest.mark.parametrize("which, content, reason", [
    ("images", b"", "truncated: 0 bytes, shorter than the 4-byte magic number"),
    ("labels", b"\0\0\x08", "truncated: 3 bytes, shorter than the 4-byte magic number"),
    ("images", GOOD_IMAGES[:10], "truncated: 10 bytes, shorter than its 16-byte header"),
    ("images", GOOD_IMAGES[:-1], "truncated: 3,935 bytes, its header promises 3,936 "
                                 "(5 images)"),
    ("labels", GOOD_LABELS[:-2], "truncated: 11 bytes, its header promises 13 (5 labels)"),
    ("images", GOOD_IMAGES + b"\0", "1 bytes more than the 3,936 its header promises"),
    ("images", b"\x1f\x8b" + GOOD_IMAGES[2:],  # a .gz archive left packed
     "wrong magic number 0x1f8b0803, expected 0x00000803"),
    ("labels", idx_bytes(bytes(5), (5,), magic=0x0D01),
     "type code 0x0d (float), expected 0x08 (unsigned byte)"),
    ("labels", idx_bytes(bytes(5), (5, 1)), "2 dimensions in the header, expected 1"),
    ("images", idx_bytes(bytes(5 * 27 * 28), (5, 27, 28)), "images of 27x28 pixels"),
    ("labels", idx_bytes(bytes(4), (4,)), "4 labels for the 5 images of t10k-images"),
    ("labels", idx_bytes(bytes([1, 2, 12, 3, 255]), (5,)), "label 12 at index 2 is above 9"),
])
def test_damaged_file_is_a_one_line_error_naming_it(tmp_path, which, content, reason):
    write_split(tmp_path, **{which: content})
    name = f"t10k-{which}-idx{3 if which == 'images' else 1}-ubyte"
    with pytest.raises(MNISTFileError, match=re.escape(reason)) as info:
        mnist_tensors(train=False, root=tmp_path)
    message = str(info.value)
    assert "\n" not in message and isinstance(info.value, ValueError)
    assert message.startswith(f"MNIST file {tmp_path / 'MNIST' / 'raw' / name} is damaged: ")
    assert message.endswith("Run `python -m cnnlessons data` to fetch it again.")


def test_damaged_training_file_is_found_before_torchvision_reads_it(tmp_path):
    write_split(tmp_path)
    write_split(tmp_path, prefix="train", labels=idx_bytes(bytes([10] * 5), (5,)))
    with pytest.raises(MNISTFileError, match="train-labels-idx1-ubyte is damaged: label 10"):
        mnist(train=True, root=tmp_path)
    assert len(mnist(train=False, root=tmp_path)) == 5  # the test split is fine


def test_damaged_files_offline_are_named_as_damaged_not_only_missing(tmp_path):
    # ensure_mnist checks md5s (the tiny split has the wrong ones), removes the files
    # so no reader takes them, and cannot fetch new ones: the line says all of that.
    from mnist_mirror import closed_port_url

    write_split(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        ensure_mnist(tmp_path, mirror=closed_port_url(), train=False)
    message = str(info.value)
    assert "MNIST files missing: t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte." in message
    assert ("(t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte had the wrong md5: damaged, and "
            "removed.) Download failed: ") in message and "\n" not in message
