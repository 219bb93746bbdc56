"""Data for the course: MNIST fetched once, a fast in-memory loader, synthetic digits.

Two ways to feed MNIST to a model, with the same contents:

* the standard one, ``mnist()`` + ``torch.utils.data.DataLoader`` (``mnist_loaders``):
  each sample goes through PIL and ``transforms.ToTensor``/``Normalize`` one at a time,
  and the loader collates them into a batch;
* the fast one, ``mnist_tensors()`` + ``InMemoryLoader``: the whole set (47 MB as
  float32) is normalised once into a single tensor and a batch is one gather
  ``images.index_select(0, idx)``. Same numbers, many times faster per epoch.

The raw IDX files live under ``data_root()/MNIST/raw/``. Only ``ensure_mnist`` (behind
``python -m cnnlessons data``, ``make data`` and ``mnist(download=True)``) touches the
network: it verifies the files, downloads what is missing or damaged from a mirror
(``$CNNLESSONS_MNIST_MIRROR``, e.g. a classroom's own copy, else torchvision's), and
otherwise fails saying what to run. The readers (``mnist``, ``mnist_tensors``...) never
download.
"""
from __future__ import annotations

import functools
import math
import os
import struct
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader

#: The four raw MNIST files torchvision reads (the unpacked ``.gz`` downloads).
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: md5 of each unpacked file: the bytes torchvision reads. The ``.gz`` archives are not
#: checked, since a mirror may compress the same files differently (torchvision's own
#: ``MNIST.resources`` md5s are of its archives).
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

#: Environment variable naming a folder URL that holds the four ``.gz`` files.
MIRROR_VARIABLE = "CNNLESSONS_MNIST_MIRROR"

#: What to run when the files are missing (the same step as ``make data``).
DATA_COMMAND = "python -m cnnlessons data"

#: Mean and standard deviation of all 47,040,000 MNIST training pixels scaled to [0, 1],
#: as computed by ``mean_std(mnist_tensors(train=True, normalize=False)[0])``
#: (0.13066 and 0.30811, rounded). These are the famous ``Normalize((0.1307,), (0.3081,))``.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def data_root() -> Path:
    """The folder holding the data sets.

    The ``CNNLESSONS_DATA`` environment variable if set, else ``data/`` at the
    repository root in a checkout (the folder with ``pyproject.toml`` just above this
    package, whatever the working directory), else ``./data`` relative to the working
    directory: with the package installed from a wheel, as on Colab, that is a
    ``data/`` folder beside the notebook (``/content/data`` on Colab).
    """
    env = os.environ.get("CNNLESSONS_DATA")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.cwd() / "data"


def _mnist_raw_folder(root: str | os.PathLike | None) -> Path:
    return Path(root if root is not None else data_root()) / "MNIST" / "raw"


def _split_files(train: bool) -> tuple[str, ...]:
    """The raw files one needs: all four to train (and test), the test pair alone."""
    return MNIST_FILES if train else MNIST_FILES[2:]


def _missing_message(missing: list[str], raw: Path) -> str:
    return (f"MNIST files missing: {', '.join(missing)}. Run `{DATA_COMMAND}` to download "
            f"them (set {MIRROR_VARIABLE} to a folder URL holding the .gz files to use "
            f"your own copy), or put the four raw files ({', '.join(MNIST_FILES)}) in "
            f"{raw}/ : download the .gz files (e.g. train-images-idx3-ubyte.gz) and "
            f"unpack them there with `gunzip *.gz`. (Set CNNLESSONS_DATA or pass root= "
            f"to use another folder.)")


def _check_mnist_files(root: str | os.PathLike | None, train: bool = True) -> None:
    raw = _mnist_raw_folder(root)
    missing = [name for name in _split_files(train) if not (raw / name).is_file()]
    if missing:
        raise FileNotFoundError(_missing_message(missing, raw))


class MNISTFileError(ValueError):
    """A raw MNIST file is present but damaged; the message names it and what is wrong."""


# An IDX file: two zero bytes, a type code, the number of dimensions, then each
# dimension as a big-endian uint32, then the data. MNIST stores unsigned bytes.
_IDX_UBYTE = 0x08
_IDX_TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "short", 0x0C: "int",
              0x0D: "float", 0x0E: "double"}
_IMAGE_SIZE = (28, 28)


def _damaged(path: Path, what: str) -> MNISTFileError:
    return MNISTFileError(f"MNIST file {path} is damaged: {what}. Run `{DATA_COMMAND}` to "
                          f"fetch it again.")


def _idx_dimensions(path: Path, ndim: int) -> tuple[int, ...]:
    """The dimensions an IDX file's header declares, after checking the file against them.

    Args:
        path: the raw file.
        ndim: dimensions it must have: 3 for images (count, rows, columns), 1 for labels.

    Raises:
        MNISTFileError: truncated, wrong magic number, wrong type code or number of
            dimensions, images not 28x28, or a size other than the header promises.
    """
    size = path.stat().st_size
    header_size = 4 + 4 * ndim
    with path.open("rb") as file:
        header = file.read(header_size)
    if len(header) < 4:
        raise _damaged(path, f"truncated: {size} bytes, shorter than the 4-byte magic number")
    magic = int.from_bytes(header[:4], "big")
    expected_magic = _IDX_UBYTE << 8 | ndim
    if header[:2] != b"\0\0":
        raise _damaged(path, f"wrong magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
                             "(an IDX file starts with two zero bytes)")
    if header[2] != _IDX_UBYTE:
        kind = _IDX_TYPES.get(header[2], "unknown")
        raise _damaged(path, f"type code 0x{header[2]:02x} ({kind}), expected 0x08 "
                             "(unsigned byte)")
    if header[3] != ndim:
        raise _damaged(path, f"{header[3]} dimensions in the header, expected {ndim}")
    if len(header) < header_size:
        raise _damaged(path, f"truncated: {size} bytes, shorter than its {header_size}-byte "
                             "header")
    dims = struct.unpack(f">{ndim}I", header[4:])
    if ndim == 3 and dims[1:] != _IMAGE_SIZE:
        raise _damaged(path, f"images of {dims[1]}x{dims[2]} pixels, expected 28x28")
    expected = header_size + math.prod(dims)
    if size < expected:
        raise _damaged(path, f"truncated: {size:,} bytes, its header promises {expected:,} "
                             f"({dims[0]:,} {'images' if ndim == 3 else 'labels'})")
    if size > expected:
        raise _damaged(path, f"{size - expected:,} bytes more than the {expected:,} its header "
                             "promises")
    return dims


def _check_mnist_contents(root: str | os.PathLike | None, train: bool) -> None:
    """Check the raw files of a split before torchvision reads them.

    torchvision answers a damaged file with a bare ``AssertionError`` or a traceback from
    deep inside its reader; this names the file and what is wrong instead, in one line.

    Raises:
        MNISTFileError: a file's structure is wrong (see ``_idx_dimensions``), images and
            labels differ in number, or a label is above 9.
    """
    raw = _mnist_raw_folder(root)
    prefix = "train" if train else "t10k"
    images, labels = raw / f"{prefix}-images-idx3-ubyte", raw / f"{prefix}-labels-idx1-ubyte"
    n_images = _idx_dimensions(images, 3)[0]
    n_labels = _idx_dimensions(labels, 1)[0]
    if n_images != n_labels:
        raise _damaged(labels, f"{n_labels:,} labels for the {n_images:,} images of "
                               f"{images.name}")
    values = labels.read_bytes()[8:]
    if values and max(values) > 9:
        index = next(i for i, value in enumerate(values) if value > 9)
        raise _damaged(labels, f"label {values[index]} at index {index} is above 9")


def _mirrors(mirror: str | None) -> list[str]:
    """Folder URLs to try, each ending in ``/``.

    The one given, else the environment's, else torchvision's own list.
    """
    mirror = mirror or os.environ.get(MIRROR_VARIABLE)
    if mirror:
        return [mirror.rstrip("/") + "/"]
    from torchvision.datasets import MNIST

    return list(MNIST.mirrors)


def ensure_mnist(root: str | os.PathLike | None = None, mirror: str | None = None,
                 train: bool = True) -> Path:
    """Make sure the raw MNIST files are present and intact, downloading them if not.

    Each file is verified by its md5 (``MNIST_MD5``); a missing or damaged one is
    fetched as ``<mirror><name>.gz`` with torchvision's ``download_and_extract_archive``
    (which keeps the archive beside it), trying each mirror in turn, and verified
    again. When everything is in place nothing is downloaded or printed, so notebooks
    can call this at the top.

    Args:
        root: folder containing ``MNIST/raw/``; ``data_root()`` when None.
        mirror: folder URL holding the four ``.gz`` files; ``$CNNLESSONS_MNIST_MIRROR``
            when None, else torchvision's mirrors.
        train: also the two training-set files; False for the test set alone (all that
            evaluating a model needs).

    Returns:
        The ``MNIST/raw`` folder.

    Raises:
        FileNotFoundError: a file could not be obtained (offline, say); one line naming
            the files, the mirrors tried and what to run.
    """
    from torchvision.datasets.utils import calculate_md5, download_and_extract_archive

    raw = _mnist_raw_folder(root)

    def intact(name: str) -> bool:
        path = raw / name
        return path.is_file() and calculate_md5(str(path)) == MNIST_MD5[name]

    needed = [name for name in _split_files(train) if not intact(name)]
    if not needed:
        return raw
    damaged = [name for name in needed if (raw / name).is_file()]  # present, wrong md5
    mirrors = _mirrors(mirror)
    failed: dict[str, str] = {}
    for name in needed:
        errors = []
        for url in mirrors:
            # A leftover archive would be reused unchecked: start from nothing.
            for stale in (raw / name, raw / f"{name}.gz"):
                stale.unlink(missing_ok=True)
            try:
                download_and_extract_archive(url + f"{name}.gz", download_root=str(raw),
                                             filename=f"{name}.gz")
            except (urllib.error.URLError, OSError, RuntimeError) as error:
                errors.append(f"{url}: {error}")
                continue
            if intact(name):
                break
            errors.append(f"{url}: {name} has the wrong md5")
        else:
            # No half-good file may stay behind for the readers to take as present.
            (raw / name).unlink(missing_ok=True)
            failed[name] = "; ".join(errors)
    if failed:
        reasons = "; ".join(dict.fromkeys(failed.values()))  # one line per cause, once
        removed = [name for name in failed if name in damaged]
        note = (f" ({', '.join(removed)} had the wrong md5: damaged, and removed.)"
                if removed else "")
        raise FileNotFoundError(f"{_missing_message(list(failed), raw)}{note} Download "
                                f"failed: {reasons}")
    return raw


def mnist_transform() -> Callable:
    """The standard per-sample MNIST transform: ``ToTensor()`` then ``Normalize``.

    ``ToTensor`` maps a PIL image of bytes to a float tensor in [0, 1] of shape
    (1, 28, 28); ``Normalize`` subtracts ``MNIST_MEAN`` and divides by ``MNIST_STD`` so
    the training pixels have mean 0 and standard deviation 1.
    """
    # torchvision is imported where needed: it takes seconds, and synthetic data or
    # InMemoryLoader alone do not need it.
    from torchvision import transforms

    return transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    )


@functools.cache
def _split_mnist_class() -> type:
    """``torchvision.datasets.MNIST`` that needs only the files of its own split.

    torchvision's checks all four files even for the test set, which reads two. The
    subclass keeps the name ``MNIST``: torchvision derives the ``MNIST/raw`` folder (and
    the dataset's repr) from the class name.
    """
    from torchvision import datasets

    class MNIST(datasets.MNIST):
        def _check_exists(self) -> bool:
            return all(os.path.isfile(os.path.join(self.raw_folder, name))
                       for name in _split_files(self.train))

    return MNIST


def mnist(train: bool = True, root: str | os.PathLike | None = None,
          transform: Callable | None = None, download: bool = False):
    """The MNIST training (60,000) or test (10,000) set as a torchvision dataset.

    Args:
        train: the training set if True, the test set if False.
        root: folder containing ``MNIST/raw/``; ``data_root()`` when None.
        transform: applied to each PIL image; ``mnist_transform()`` when None.
        download: fetch missing or damaged files first (``ensure_mnist``).

    Returns:
        ``torchvision.datasets.MNIST`` whose items are ``(image, label)``.

    Shape:
        - image: :math:`(1, 28, 28)` float32 with the default transform.
        - label: a Python int in 0..9.

    Raises:
        FileNotFoundError: files of this split missing (and not downloaded); the
            message names them, the folder to put them in and the command to run.
        MNISTFileError: a file is damaged (truncated, wrong magic number or type code,
            image and label counts differ, a label above 9); one line naming it.
    """
    if download:
        ensure_mnist(root, train=train)
    else:
        _check_mnist_files(root, train)
    _check_mnist_contents(root, train)
    root = Path(root if root is not None else data_root())
    return _split_mnist_class()(str(root), train=train, download=False,
                                transform=transform if transform is not None
                                else mnist_transform())


def mnist_loaders(batch_size: int = 64, test_batch_size: int = 1000,
                  root: str | os.PathLike | None = None, num_workers: int = 0,
                  seed: int = 0):
    """Training and test ``DataLoader`` s over ``mnist()``, the textbook way.

    The training loader reshuffles every epoch from a generator seeded with ``seed``
    (so two runs see the same batches); the test loader keeps the file order.

    Returns:
        ``(train_loader, test_loader)`` yielding ``(images, labels)`` with images of
        shape :math:`(B, 1, 28, 28)` float32 and labels :math:`(B,)` int64.
    """
    generator = torch.Generator().manual_seed(seed)
    train = DataLoader(mnist(True, root), batch_size=batch_size, shuffle=True,
                       num_workers=num_workers, generator=generator)
    test = DataLoader(mnist(False, root), batch_size=test_batch_size, shuffle=False,
                      num_workers=num_workers)
    return train, test


def mnist_tensors(train: bool = True, root: str | os.PathLike | None = None,
                  normalize: bool = True) -> tuple[Tensor, Tensor]:
    """The whole MNIST set as two tensors, transformed exactly like ``mnist()``.

    The same arithmetic as ``ToTensor`` + ``Normalize`` (divide by 255 in float32,
    subtract the mean, divide by the std), done once on the whole set, so the result
    equals stacking ``mnist(train, root)[i][0]`` for every ``i``.

    Args:
        train: training set (60,000) if True, test set (10,000) if False.
        root: folder containing ``MNIST/raw/``; ``data_root()`` when None.
        normalize: if False, stop after scaling to [0, 1] (what ``mean_std`` needs).

    Returns:
        ``(images, labels)``.

    Shape:
        - images: :math:`(N, 1, 28, 28)` float32.
        - labels: :math:`(N,)` int64.
    """
    dataset = mnist(train, root)  # reads the IDX files into uint8 tensors
    images = dataset.data.unsqueeze(1).float().div(255)
    if normalize:
        images = images.sub(MNIST_MEAN).div(MNIST_STD)
    return images, dataset.targets.long()


def mean_std(data) -> tuple[Tensor, Tensor]:
    """Per-channel mean and (population) standard deviation of a set of images.

    This is where ``Normalize((0.1307,), (0.3081,))`` comes from: the mean and std of
    every pixel of every MNIST training image scaled to [0, 1].

    Args:
        data: a tensor of images, or a dataset whose items are images or
            ``(image, label)`` pairs with image tensors.

    Returns:
        ``(mean, std)``, each of shape :math:`(C,)`, float64.

    Shape:
        - tensor input: :math:`(N, C, H, W)`, or :math:`(N, H, W)` read as one channel.
        - dataset items: :math:`(C, H, W)`.
    """
    if isinstance(data, Tensor):
        batches = [data.unsqueeze(1) if data.dim() == 3 else data]
    else:
        batches = (batch[0] if isinstance(batch, (list, tuple)) else batch
                   for batch in DataLoader(data, batch_size=1000))
    # Accumulate sums in float64: 47 million float32 additions would lose digits.
    count, total, total_sq = 0, 0.0, 0.0
    for batch in batches:
        if batch.dim() != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {tuple(batch.shape)}")
        batch = batch.double()
        count += batch.numel() // batch.shape[1]
        total = total + batch.sum(dim=(0, 2, 3))
        total_sq = total_sq + batch.square().sum(dim=(0, 2, 3))
    if count == 0:
        raise ValueError("data is empty")
    mean = total / count
    return mean, (total_sq / count - mean.square()).clamp(min=0).sqrt()


def synthetic_digits(n: int = 512, seed: int = 0, num_classes: int = 10,
                     size: int = 28) -> tuple[Tensor, Tensor]:
    """A tiny MNIST look-alike needing no files, for smoke tests.

    The image is cut into a ``g x g`` grid of cells (``g = ceil(sqrt(num_classes))``);
    an image of class ``k`` is a bright square filling cell ``k``, shifted by up to one
    pixel, on a dark background with Gaussian noise (std 0.3). Easy to learn in one
    epoch, yet not copyable: the shift and noise differ per image.

    Args:
        n: number of images; labels are balanced (``n // num_classes`` per class or one
            more).
        seed: seed of the private generator (the global RNG is not touched).
        num_classes: number of classes, at least 2.
        size: image height and width; each cell must be at least 3 pixels.

    Returns:
        ``(images, labels)``, roughly zero-mean like normalised MNIST.

    Shape:
        - images: :math:`(n, 1, size, size)` float32.
        - labels: :math:`(n,)` int64.
    """
    if num_classes < 2:
        raise ValueError(f"num_classes={num_classes} must be at least 2")
    grid = math.ceil(math.sqrt(num_classes))
    cell = size // grid
    if cell < 3:
        raise ValueError(f"size={size} is too small for num_classes={num_classes}: "
                         f"each of the {grid}x{grid} cells needs at least 3 pixels")
    if n < 1:
        raise ValueError(f"n={n} must be positive")
    g = torch.Generator().manual_seed(seed)
    labels = (torch.arange(n) % num_classes)[torch.randperm(n, generator=g)]
    shift = torch.randint(-1, 2, (n, 2), generator=g)
    top = (labels // grid) * cell + 1 + shift[:, 0]  # cell corner, 1 pixel margin, shifted
    left = (labels % grid) * cell + 1 + shift[:, 1]
    pixel = torch.arange(size)
    rows = (pixel >= top[:, None]) & (pixel < top[:, None] + cell - 2)   # (n, size)
    cols = (pixel >= left[:, None]) & (pixel < left[:, None] + cell - 2)
    squares = (rows[:, :, None] & cols[:, None, :]).float()             # (n, size, size)
    noise = 0.3 * torch.randn(n, size, size, generator=g)
    images = (squares + noise - squares.mean()) / 0.5
    return images.unsqueeze(1), labels


def random_affine(images: Tensor, degrees: float = 10.0, translate: float = 0.1,
                  scale: tuple[float, float] = (0.9, 1.1),
                  generator: torch.Generator | None = None,
                  fill: float | None = None) -> Tensor:
    """Rotate, shift and zoom every image of a batch by its own small random amount.

    Data augmentation done on the whole batch at once with ``affine_grid`` +
    ``grid_sample`` (bilinear), so it runs on the batch's device at tensor speed.

    Args:
        images: batch to transform.
        degrees: rotation drawn uniformly in ``[-degrees, degrees]``.
        translate: shift drawn uniformly in ``[-translate, translate]`` times the image
            size, separately for x and y.
        scale: zoom factor drawn uniformly in ``[scale[0], scale[1]]``.
        generator: CPU generator for the random draws (reproducible augmentation).
        fill: value of pixels coming from outside the image; the batch minimum (the
            background of normalised digits) when None.

    Shape:
        - images: :math:`(N, C, H, W)`.
        - Output: :math:`(N, C, H, W)`, same dtype and device.
    """
    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    n = images.shape[0]

    def uniform(low: float, high: float) -> Tensor:
        return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)

    angle = torch.deg2rad(uniform(-degrees, degrees))
    zoom = uniform(*scale)
    # affine_grid works in [-1, 1] coordinates, so a shift of t * size is 2 * t.
    shift_x, shift_y = 2 * uniform(-translate, translate), 2 * uniform(-translate, translate)
    # theta maps output coordinates to input coordinates: rotate by -angle, zoom by 1/zoom.
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1),
                         torch.stack([sin, cos, shift_y], 1)], 1)
    theta = theta.to(device=images.device, dtype=images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    background = images.amin() if fill is None else fill
    # grid_sample pads with zeros: shift so the background is 0, sample, shift back.
    out = F.grid_sample(images - background, grid, mode="bilinear",
                        padding_mode="zeros", align_corners=False)
    return out + background


class InMemoryLoader:
    """Batches of a data set held in two tensors, by shuffled index: a fast DataLoader.

    ``for images, labels in loader`` draws a fresh permutation of ``0..N-1`` from a
    seeded generator each epoch and yields ``images[idx], labels[idx]`` for successive
    slices ``idx`` of it: one gather per batch instead of ``batch_size`` Python
    ``__getitem__`` calls plus a collate. With ``device`` the whole set is moved there
    once, so batches are already on the GPU.

    Args:
        images: all inputs.
        labels: all targets, same length.
        batch_size: samples per batch.
        shuffle: reshuffle every epoch (training) or keep the order (evaluation).
        drop_last: drop the final incomplete batch.
        seed: seed of the loader's own ``torch.Generator`` (global RNG untouched).
        device: where to keep the data; where ``images`` already are when None.
        transform: optional callable applied to each image batch (e.g. augmentation).

    Shape:
        - images: :math:`(N, *)`, e.g. :math:`(N, 1, 28, 28)`.
        - labels: :math:`(N,)`.
        - yields: :math:`(B, *)` and :math:`(B,)` with ``B = batch_size`` (the last
          batch may be smaller unless ``drop_last``).
    """

    def __init__(self, images: Tensor, labels: Tensor, batch_size: int = 64,
                 shuffle: bool = True, drop_last: bool = False, seed: int = 0,
                 device: torch.device | str | None = None,
                 transform: Callable[[Tensor], Tensor] | None = None):
        if len(images) != len(labels):
            raise ValueError(f"images and labels differ in length: "
                             f"{len(images)} != {len(labels)}")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be positive")
        self.images = images.to(device) if device is not None else images
        self.labels = labels.to(self.images.device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.transform = transform
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.labels)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = torch.arange(n)
        order = order.to(self.images.device)
        for batch in range(len(self)):
            idx = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            # index_select rather than images[idx]: same result, and on CPU the
            # advanced-indexing kernel is about 30x slower for this gather.
            images = self.images.index_select(0, idx)
            if self.transform is not None:
                images = self.transform(images)
            yield images, self.labels.index_select(0, idx)


def mnist_memory_loader(train: bool = True, batch_size: int = 64,
                        root: str | os.PathLike | None = None, seed: int = 0,
                        device: torch.device | str | None = None,
                        transform: Callable[[Tensor], Tensor] | None = None) -> InMemoryLoader:
    """One ``InMemoryLoader`` over ``mnist_tensors(train, root)``, the fast path.

    The training set is reshuffled every epoch from ``seed``; the test set keeps the
    file order (and needs only the two test files).

    Args:
        transform: batch transform (augmentation), for the training set.
    """
    return InMemoryLoader(*mnist_tensors(train, root), batch_size=batch_size, shuffle=train,
                          seed=seed, device=device, transform=transform)


def mnist_memory_loaders(batch_size: int = 64, test_batch_size: int = 1000,
                         root: str | os.PathLike | None = None, seed: int = 0,
                         device: torch.device | str | None = None,
                         transform: Callable[[Tensor], Tensor] | None = None):
    """``mnist_loaders`` on the fast path: two ``InMemoryLoader`` s over ``mnist_tensors``.

    Args:
        transform: batch transform for the training loader only (augmentation).

    Returns:
        ``(train_loader, test_loader)``; the training loader shuffles with ``seed``.
    """
    train = mnist_memory_loader(True, batch_size, root, seed=seed, device=device,
                                transform=transform)
    test = mnist_memory_loader(False, test_batch_size, root, device=device)
    return train, test
