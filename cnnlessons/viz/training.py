"""Training results: loss and accuracy curves, the confusion matrix, misclassified images."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cnnlessons.arguments import check_count
from cnnlessons.data import MNIST_MEAN, MNIST_STD
from cnnlessons.viz.inputs import as_array, as_labels
from cnnlessons.viz.style import (
    CMAP_IMAGE,
    CMAP_RATE,
    MAX_WIDTH,
    PALETTE,
    grid_shape,
    image_axes,
    new_figure,
    panel_grid,
    suptitle,
    text_color,
)

__all__ = ["plot_history", "plot_confusion_matrix", "plot_misclassified"]


# --------------------------------------------------------------------------------------
# plot_history
# --------------------------------------------------------------------------------------

_HISTORY_KEYS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")


def plot_history(history) -> Figure:
    """Loss and accuracy per epoch, training against test, and the learning rate.

    Accuracies are shown in percent; a run whose accuracies are all at most 1 is read
    as fractions and multiplied by 100.

    Args:
        history: one run, a mapping or an object with per-epoch lists ``train_loss``,
            ``train_acc``, ``test_loss``, ``test_acc`` and optionally ``lr`` (missing or
            empty lists are skipped); or a mapping from run names to runs, e.g.
            ``{"torch": h1, "scratch": h2}``, to compare them. ``lr`` may hold one
            rate per step (as ``fit`` records it): it is spread evenly over the epochs.

    Returns:
        The figure: a loss panel, an accuracy panel and, when any run records a
        learning rate, a learning-rate panel. With one run, training is blue and
        test red; with several, each run has its colour, training solid and test
        dashed.
    """
    runs = _runs(history)
    has_lr = any(_series(run, "lr") for run in runs.values())
    fig = new_figure(MAX_WIDTH if has_lr else 7.0, 3.0)
    axes = fig.subplots(1, 3 if has_lr else 2)
    for r, (name, run) in enumerate(runs.items()):
        _plot_run(axes, r, name, run, len(runs))
    for ax, (title, ylabel) in zip(axes, (("loss", "loss"), ("accuracy", "accuracy (%)"),
                                          ("learning rate", "learning rate"))):
        _style_history_axes(ax, title, ylabel)
    if has_lr:
        values = [v for run in runs.values() for v in (_series(run, "lr") or []) if v > 0]
        if values and max(values) / min(values) > 10:
            axes[2].set_yscale("log")
    names = ", ".join(runs) if len(runs) > 1 else ""
    suptitle(fig, "Training history" + (f": {names}" if names else ""), 11)
    return fig


def _series(history, key: str) -> list[float] | None:
    """``history[key]`` or ``history.key`` as floats, ``None`` when absent or empty."""
    values = history.get(key) if isinstance(history, Mapping) else getattr(history, key, None)
    if values is None or len(values) == 0:
        return None
    return [float(v) for v in values]


def _is_history(obj) -> bool:
    if isinstance(obj, Mapping):
        return any(key in obj for key in _HISTORY_KEYS)
    return any(hasattr(obj, key) for key in _HISTORY_KEYS)


def _runs(history) -> dict:
    """``history`` as a mapping from run names to runs (``""`` names a single run)."""
    if _is_history(history):
        runs = {"": history}
    elif isinstance(history, Mapping) and history:
        runs = dict(history)
        for name, run in runs.items():
            if not _is_history(run):
                raise ValueError(f"history[{name!r}] has none of the keys {_HISTORY_KEYS}")
    else:
        raise ValueError(f"history must have some of the keys {_HISTORY_KEYS}, or map run "
                         f"names to such histories; got {type(history).__name__}")
    if len(runs) > len(PALETTE):
        raise ValueError(f"history has {len(runs)} runs; at most {len(PALETTE)} can be "
                         "told apart by colour")
    return runs


def _line_style(r: int, n_runs: int) -> dict:
    """Width, marker and transparency of run ``r``'s lines."""
    if n_runs == 1:
        return dict(linewidth=1.8, markersize=3.5, marker="o")
    # Runs that agree (torch against scratch) draw on top of each other: each later
    # run is thinner, with its own marker, so the earlier ones stay visible.
    return dict(linewidth=max(1.2, 3.6 - 1.2 * r), markersize=max(3.0, 7.0 - 2.0 * r),
                marker="os^Dv*"[r], alpha=0.55 if r == 0 else 1.0)


def _plot_run(axes: Sequence[Axes], r: int, name: str, run, n_runs: int) -> None:
    """Run ``r``'s loss and accuracy curves (train, test) and its learning rate if any."""
    accs = [s for s in (_series(run, "train_acc"), _series(run, "test_acc")) if s]
    scale = 100.0 if accs and max(max(s) for s in accs) <= 1.0 else 1.0
    line = _line_style(r, n_runs)
    for split, style in (("train", "-"), ("test", "--")):
        if n_runs == 1:
            color, style, label = PALETTE[0 if split == "train" else 1], "-", split
        else:
            color, label = PALETTE[r], f"{name} {split}"
        loss, acc = _series(run, f"{split}_loss"), _series(run, f"{split}_acc")
        for ax, values in ((axes[0], loss), (axes[1], acc and [scale * v for v in acc])):
            if values is None:
                continue
            text = f"{label} ({values[-1]:.1f}%)" if ax is axes[1] else label
            # Markers would crowd a long curve.
            marks = line if len(values) <= 30 else {**line, "marker": None}
            ax.plot(range(1, len(values) + 1), values, style, color=color, label=text, **marks)
    lr = _series(run, "lr")
    if len(axes) > 2 and lr:
        marks = line if len(lr) <= 30 else {**line, "marker": None}
        axes[2].plot(_lr_epochs(run, len(lr)), lr, color=PALETTE[r] if n_runs > 1 else "0.25",
                     label=name or None, **marks)


def _lr_epochs(run, count: int) -> np.ndarray:
    """Where on the epoch axis each of ``count`` recorded learning rates belongs.

    ``fit`` records one rate per step, ``count = epochs * steps_per_epoch``: step ``i``
    ends at epoch ``(i + 1) / steps_per_epoch``, so the last step meets the last epoch's
    loss. A history with one rate per epoch gets the epochs 1, 2, ... as before.
    """
    lengths = [len(s) for key in _HISTORY_KEYS[:4] if (s := _series(run, key))]
    epochs = max(lengths, default=count)
    return np.arange(1, count + 1) * epochs / count


def _style_history_axes(ax: Axes, title: str, ylabel: str) -> None:
    """Title, labels, whole-epoch ticks, a light grid and a legend if anything is named."""
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, color="0.9", linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False, handlelength=3)


# --------------------------------------------------------------------------------------
# plot_confusion_matrix
# --------------------------------------------------------------------------------------

def plot_confusion_matrix(labels, predictions, num_classes: int = 10,
                          class_names: Sequence[str] | None = None) -> Figure:
    """Counts of (true, predicted) class pairs, coloured by the share of each true class.

    Cell ``(i, j)`` is the number of samples of class ``i`` predicted as ``j``; its
    colour is that count divided by the number of samples of class ``i``, so the
    diagonal reads as per-class recall. A square-root colour scale keeps the rare
    mistakes visible next to a dark diagonal.

    Args:
        labels: true classes ``(N,)``, integers in ``[0, num_classes)``.
        predictions: predicted classes ``(N,)`` (e.g. ``logits.argmax(1)``).
        num_classes: number of classes.
        class_names: optional names for the tick labels, ``num_classes`` of them.

    Returns:
        The figure: the matrix and its colour bar (two axes).

    Shape:
        - labels, predictions: :math:`(N,)`
        - the matrix: :math:`(K, K)`, :math:`K` = ``num_classes``
    """
    y = as_labels(labels, "labels")
    p = as_labels(predictions, "predictions")
    check_count(num_classes, "num_classes")
    _check_classes(y, p, num_classes, class_names)
    names = [str(c) for c in (class_names if class_names is not None else range(num_classes))]
    counts = np.bincount(y * num_classes + p, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    cell = min(0.46, 5.5 / num_classes)
    fig = new_figure(cell * num_classes + 2.2, cell * num_classes + 1.6)
    ax = fig.add_subplot()
    norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0)
    image = ax.imshow(rates, cmap=CMAP_RATE, norm=norm, interpolation="nearest")
    if num_classes <= 20:
        _write_counts(ax, counts, rates, norm)
    _label_classes(ax, names)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"Confusion matrix: accuracy {100 * accuracy:.2f}% of {counts.sum()} samples",
                 fontsize=10.5)
    fig.colorbar(image, ax=ax, shrink=0.85, label="share of the true class")
    return fig


def _check_classes(y: np.ndarray, p: np.ndarray, num_classes: int,
                   class_names: Sequence[str] | None) -> None:
    """Raise unless labels and predictions pair up and are classes of ``num_classes``."""
    if y.shape != p.shape:
        raise ValueError(f"labels has {y.shape[0]} entries but predictions has {p.shape[0]}")
    for name, v in (("labels", y), ("predictions", p)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(f"{name} has values in [{v.min()}, {v.max()}]; expected "
                             f"classes in [0, {num_classes}) (num_classes={num_classes})")
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"class_names has {len(class_names)} names; expected "
                         f"num_classes={num_classes}")


def _write_counts(ax: Axes, counts: np.ndarray, rates: np.ndarray, norm: PowerNorm) -> None:
    """Each cell's count, in a colour readable on the cell; empty cells in light grey."""
    small = counts.shape[0] <= 12
    for (i, j), count in np.ndenumerate(counts):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=8 if small else 6,
                color=text_color(CMAP_RATE, norm, rates[i, j]) if count else "0.7")


def _label_classes(ax: Axes, names: list[str]) -> None:
    """Class names on both axes and white lines between the cells."""
    ticks = np.arange(len(names))
    rotate = max(len(n) for n in names) > 2
    ax.set_xticks(ticks, names, rotation=45 if rotate else 0, ha="right" if rotate else "center",
                  fontsize=8)
    ax.set_yticks(ticks, names, fontsize=8)
    ax.set_xticks(ticks - 0.5, minor=True)
    ax.set_yticks(ticks - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="both", length=0)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")


# --------------------------------------------------------------------------------------
# plot_misclassified
# --------------------------------------------------------------------------------------

def plot_misclassified(images, labels, predictions, max_images: int = 16,
                       mean: float | Sequence[float] = MNIST_MEAN,
                       std: float | Sequence[float] = MNIST_STD,
                       class_names: Sequence[str] | None = None) -> Figure:
    r"""The first misclassified images, each titled "true → predicted".

    Only samples with ``labels != predictions`` are shown, in their original order,
    so passing a whole test batch is fine.

    Args:
        images: normalised images ``(N, 1, H, W)`` (grey) or ``(N, 3, H, W)`` (colour).
        labels: true classes ``(N,)``.
        predictions: predicted classes ``(N,)``.
        max_images: show at most this many images.
        mean, std: the ``Normalize`` statistics to undo (MNIST's by default); a float
            or one value per channel.
        class_names: optional names indexed by class.

    Returns:
        The figure: one axes per shown image (a single message axes if nothing is
        misclassified).

    Shape:
        - images: :math:`(N, C, H, W)` with :math:`C \in \{1, 3\}`
        - labels, predictions: :math:`(N,)`
    """
    x = as_array(images, "images", (4,), "(N, 1, H, W) or (N, 3, H, W)")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"images has {x.shape[1]} channels; expected 1 (grey) or 3 (colour)")
    y = as_labels(labels, "labels")
    p = as_labels(predictions, "predictions")
    check_count(max_images, "max_images")
    if not x.shape[0] == y.shape[0] == p.shape[0]:
        raise ValueError(f"images, labels and predictions must have the same length N; got "
                         f"{x.shape[0]}, {y.shape[0]} and {p.shape[0]}")
    wrong = np.flatnonzero(y != p)
    shown = wrong[:max_images]
    if len(shown) == 0:
        return _nothing_misclassified(x.shape[0])

    def name(c: int) -> str:
        return str(class_names[c]) if class_names is not None else str(c)

    rows, cols = grid_shape(len(shown))
    panel = min(1.1, (MAX_WIDTH - 0.2) / cols)
    fig = new_figure(panel * cols + 0.2, rows * (panel + 0.3) + 0.5)
    axes = panel_grid(fig, len(shown), cols, rows)
    for ax, picture, n in zip(axes, _denormalise(x[shown], mean, std), shown):
        _show_picture(ax, picture)
        image_axes(ax, f"{name(y[n])} \u2192 {name(p[n])}", fontsize=9, color=PALETTE[1])
    suptitle(fig, f"Misclassified (true \u2192 predicted): {len(shown)} of {len(wrong)} "
             f"errors among {x.shape[0]} images", 10.5)
    return fig


def _nothing_misclassified(count: int) -> Figure:
    """A one-line figure saying that all ``count`` images are classified right."""
    fig = new_figure(4.0, 1.0)
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, f"No misclassified images among {count}.", ha="center", va="center")
    return fig


def _denormalise(images: np.ndarray, mean, std) -> np.ndarray:
    """Undo ``transforms.Normalize(mean, std)`` and clip to [0, 1]: (N, C, H, W) -> same."""
    channels = images.shape[1]
    mean = np.broadcast_to(np.asarray(mean, dtype=float).reshape(-1), (channels,))
    std = np.broadcast_to(np.asarray(std, dtype=float).reshape(-1), (channels,))
    return np.clip(images * std[:, None, None] + mean[:, None, None], 0.0, 1.0)


def _show_picture(ax: Axes, picture: np.ndarray) -> None:
    """One image ``(C, H, W)`` in [0, 1]: grey ink for one channel, RGB for three."""
    if picture.shape[0] == 1:
        ax.imshow(picture[0], cmap=CMAP_IMAGE, vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(picture.transpose(1, 2, 0), interpolation="nearest")
