"""Command line: train, evaluate and inspect the course's models on MNIST.

    python -m cnnlessons train --model lenet5 --backend scratch --epochs 8 --out runs/lenet5.pt
    python -m cnnlessons evaluate runs/lenet5.pt
    python -m cnnlessons summary lenet5
    python -m cnnlessons data [--root DIR] [--mirror URL]

``data`` verifies the four MNIST files and downloads what is missing (``make data``);
``train`` and ``evaluate`` do the same first, for the files they need. Training uses
the fast in-memory MNIST loaders and the one-cycle Nesterov SGD recipe of
``cnnlessons.training.one_cycle_sgd``; the checkpoint records the model name, backend
and run settings, so ``evaluate`` can rebuild the model from the file alone.
"""
from __future__ import annotations

import argparse
import math
import sys

import torch

from cnnlessons import BACKENDS
from cnnlessons.checkpoint import check_target, load_model, save_checkpoint
from cnnlessons.data import MIRROR_VARIABLE, ensure_mnist, mnist_memory_loader, mnist_memory_loaders
from cnnlessons.models import MODELS, build_model
from cnnlessons.summary import summary
from cnnlessons.training import default_device, evaluate, fit, one_cycle_sgd, set_seed

#: The models taking one MNIST image, (1, 28, 28): MNIST is the only data set here.
MNIST_MODELS = sorted(name for name, model in MODELS.items()
                      if tuple(model.input_size) == (1, 28, 28))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


#: Seeds every generator ``set_seed`` seeds accepts (numpy's: 0 to 2**32 - 1).
SEED_RANGE = range(2**32)


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):  # inf and nan would train a model of nan weights
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} must be positive")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite_float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{value} must be non-negative")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value not in SEED_RANGE:
        raise argparse.ArgumentTypeError(f"{value} must be between 0 and {SEED_RANGE[-1]}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m cnnlessons`` parser with its three subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m cnnlessons",
        description="Train, evaluate and summarise the cnnlessons models on MNIST, "
                    "and fetch MNIST.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a model on MNIST and save a checkpoint",
        description="Train a model on MNIST with one-cycle Nesterov SGD, print the test "
                    "accuracy after every epoch and save a checkpoint.")
    train.add_argument("--model", default="lenet5", choices=MNIST_MODELS,
                       help="network to train, one taking 1x28x28 images "
                            "(default: %(default)s)")
    train.add_argument("--backend", default="torch", choices=BACKENDS,
                       help="layers from torch.nn or from cnnlessons.scratch "
                            "(default: %(default)s)")
    train.add_argument("--epochs", type=_positive_int, default=8,
                       help="passes over the 60,000 training images (default: %(default)s)")
    train.add_argument("--batch-size", type=_positive_int, default=128,
                       help="training images per optimiser step (default: %(default)s)")
    train.add_argument("--lr", type=_positive_float, default=0.1,
                       help="peak learning rate of the one-cycle schedule "
                            "(default: %(default)s)")
    train.add_argument("--weight-decay", type=_non_negative_float, default=5e-4,
                       help="L2 penalty coefficient (default: %(default)s)")
    train.add_argument("--seed", type=_seed, default=0,
                       help="seed of weight initialisation and batch shuffling, 0 to "
                            "2**32 - 1 (default: %(default)s)")
    train.add_argument("--device", default="auto",
                       help="'auto' (cuda if available, else cpu), 'cpu', 'cuda', 'cuda:1'... "
                            "(default: %(default)s)")
    train.add_argument("--out", default=None,
                       help="checkpoint file to write (default: runs/MODEL.pt)")
    train.add_argument("--data", default=None, metavar="DIR",
                       help="folder containing MNIST/raw/ (default: $CNNLESSONS_DATA or "
                            "data/ at the repository root)")
    train.add_argument("--no-progress", action="store_true",
                       help="hide the progress bars (per-epoch lines are still printed)")

    evaluate_ = commands.add_parser(
        "evaluate", help="test-set loss and accuracy of a checkpoint",
        description="Rebuild the model saved in CHECKPOINT and report its loss and "
                    "accuracy on the 10,000 MNIST test images.")
    evaluate_.add_argument("checkpoint", metavar="CHECKPOINT",
                           help="file written by 'train'")
    evaluate_.add_argument("--batch-size", type=_positive_int, default=1000,
                           help="test images per forward pass (default: %(default)s)")
    evaluate_.add_argument("--device", default="auto",
                           help="'auto' (cuda if available, else cpu), 'cpu', 'cuda'... "
                                "(default: %(default)s)")
    evaluate_.add_argument("--data", default=None, metavar="DIR",
                           help="folder containing MNIST/raw/ (default: $CNNLESSONS_DATA "
                                "or data/ at the repository root)")

    summary_ = commands.add_parser(
        "summary",
        help="print a model's layers, output shapes, parameters and receptive fields",
        description="Print the layer table of a model: output shape, parameter count "
                    "and receptive field of every layer.")
    summary_.add_argument("model", metavar="MODEL", choices=sorted(MODELS),
                          help=f"one of {', '.join(sorted(MODELS))}")
    summary_.add_argument("--backend", default="torch", choices=BACKENDS,
                          help="layers from torch.nn or from cnnlessons.scratch "
                               "(default: %(default)s)")
    data_ = commands.add_parser(
        "data", help="make sure the MNIST files are present: verify, else download",
        description="Verify the four raw MNIST files by their md5s and download any that "
                    "are missing or damaged (torchvision's downloader), from --mirror, "
                    f"else ${MIRROR_VARIABLE}, else torchvision's mirrors.")
    data_.add_argument("--root", default=None, metavar="DIR",
                       help="folder to hold MNIST/raw/ (default: $CNNLESSONS_DATA, data/ at "
                            "the repository root in a checkout, else ./data)")
    data_.add_argument("--mirror", default=None, metavar="URL",
                       help="folder URL holding the four .gz files, e.g. a classroom's "
                            f"copy (default: ${MIRROR_VARIABLE}, else torchvision's)")
    # Each subcommand knows its handler and its own parser (for its usage line in errors).
    train.set_defaults(run=_train, parser=train)
    evaluate_.set_defaults(run=_evaluate, parser=evaluate_)
    summary_.set_defaults(run=_summary, parser=summary_)
    data_.set_defaults(run=_data, parser=data_)
    return parser


def _device(parser: argparse.ArgumentParser, name: str) -> torch.device:
    """The device named by ``--device``, after checking it exists on this machine."""
    if name == "auto":
        return default_device()
    try:
        device = torch.device(name)
    except RuntimeError as error:
        parser.error(f"argument --device: {error}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            parser.error(f"argument --device: {name!r} requested but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            parser.error(f"argument --device: {name!r} does not exist: this machine has "
                         f"{torch.cuda.device_count()} CUDA device(s)")
    if device.type == "meta":
        parser.error(f"argument --device: {name!r} holds no data: a model cannot be "
                     "trained or evaluated there")
    try:
        torch.empty(1, device=device)  # mps, xpu...: only an allocation tells
    except Exception as error:  # each backend fails its own way (NotImplementedError...)
        lines = str(error).strip().splitlines() or [type(error).__name__]
        reason = lines[0].split(". ")[0].rstrip(".")
        parser.error(f"argument --device: {name!r} is not available here: {reason}")
    return device


def _train(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    device = _device(parser, args.device)
    out = args.out if args.out is not None else f"runs/{args.model}.pt"
    try:  # now, not after training: a bad path would lose the trained model
        check_target(out)
    except (OSError, ValueError) as error:
        parser.error(f"argument --out: {error}")
    try:
        ensure_mnist(args.data)
        train_loader, test_loader = mnist_memory_loaders(
            args.batch_size, 1000, args.data, seed=args.seed, device=device)
    except (FileNotFoundError, ValueError) as error:  # missing or damaged files
        parser.error(str(error))
    set_seed(args.seed)
    model = build_model(args.model, backend=args.backend)
    optimizer, scheduler = one_cycle_sgd(model.parameters(), args.epochs, len(train_loader),
                                         max_lr=args.lr, weight_decay=args.weight_decay,
                                         backend=args.backend)
    print(f"training {args.model} ({args.backend} backend) on {device} for "
          f"{args.epochs} epochs")
    history = fit(model, train_loader, test_loader, args.epochs, optimizer,
                  scheduler=scheduler, device=device, progress=not args.no_progress)
    path = save_checkpoint(
        out, model, optimizer, model_name=args.model, backend=args.backend,
        model_kwargs={}, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, seed=args.seed, history=history.as_dict())
    print(f"test accuracy {history.test_acc[-1]:.2%}; checkpoint written to {path}")


def _evaluate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    device = _device(parser, args.device)
    try:
        model, checkpoint = load_model(args.checkpoint, map_location=device)
        ensure_mnist(args.data, train=False)  # the test set is all it needs
        loader = mnist_memory_loader(False, args.batch_size, args.data, device=device)
    except (OSError, ValueError) as error:  # missing, a directory, damaged, mismatched
        parser.error(str(error))
    meta = checkpoint["meta"]
    loss, accuracy = evaluate(model.to(device), loader, device=device)
    print(f"{meta['model_name']} ({meta.get('backend', 'torch')} backend), "
          f"{len(loader.labels):,} test images: loss {loss:.4f}, accuracy {accuracy:.2%}")


def _summary(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    print(summary(build_model(args.model, backend=args.backend)))


def _data(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        raw = ensure_mnist(args.root, mirror=args.mirror)
    except FileNotFoundError as error:
        parser.error(str(error))
    print(f"MNIST ready: the four files in {raw} have the expected md5s")


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (``sys.argv[1:]`` when None); 0 on success.

    Bad arguments exit with status 2 and a one-line ``error:`` message after the usage.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.run(args.parser, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
