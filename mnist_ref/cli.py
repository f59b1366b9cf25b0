"""``python -m mnist_ref``: train, evaluate, data."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from . import engine, reference_run
from .data import (
    VALIDATION_SIZE,
    MnistDataError,
    data_loader,
    data_option_help,
    ensure_mnist,
    limit,
    make_data,
    make_loader,
    raw_folder,
    split_loaders,
)
from .device import DEVICE_CHOICES, DEVICE_ENV, use_device
from .evaluation import confusion_matrix, predict
from .model import Net, count_parameters
from .recipes import RECIPES
from .settings import BUDGETS

PROG = "python -m mnist_ref"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _add_common(parser, test_batch_size: int) -> None:
    parser.add_argument("--data", metavar="DIR", help=data_option_help())
    parser.add_argument(
        "--device", help=f"one of {', '.join(DEVICE_CHOICES)}, cuda:N (default: ${DEVICE_ENV}, else auto)"
    )
    parser.add_argument("--limit-test", type=_positive_int, metavar="N", help="use a balanced subset of N test images")
    parser.add_argument("--test-batch-size", type=_positive_int, default=test_batch_size, metavar="N")
    parser.add_argument("--in-memory", action="store_true", help="decode the data once into tensors (faster)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, description="The MNIST CNN course's reference model: train it, evaluate it, get the data."
    )
    verbs = parser.add_subparsers(
        dest="verb", required=True, metavar="{train,evaluate,data,ship-run}", parser_class=_Parser
    )

    train = verbs.add_parser(
        "train",
        help="train the course model (default: the classic 20-epoch recipe)",
        description="Train the course model. The options below default to the chosen recipe's values: "
        + "; ".join(f"{r.name}: {r.description}" for r in RECIPES.values()),
    )
    _add_common(train, test_batch_size=1000)
    train.add_argument("--recipe", choices=list(RECIPES), default="classic")
    train.add_argument("--epochs", type=_positive_float, help="a fraction such as 0.5 stops part-way")
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--lr", type=_positive_float, help="learning rate (peak rate for one-cycle recipes)")
    train.add_argument("--momentum", type=_fraction)
    train.add_argument("--step-size", type=_positive_int, help="StepLR: epochs between decays")
    train.add_argument("--gamma", type=_positive_float, help="StepLR: decay factor")
    train.add_argument("--seed", type=int, default=1)
    train.add_argument(
        "--limit-train", type=_positive_int, metavar="N", help="use a balanced subset of N training images"
    )
    train.add_argument(
        "--validation",
        type=_count,
        default=VALIDATION_SIZE,
        metavar="N",
        help=f"hold N training images out as the validation set (default {VALIDATION_SIZE:,}; "
        "0 trains on all 60,000 and reports no validation)",
    )
    train.add_argument(
        "--limit-validation", type=_positive_int, metavar="N", help="use a balanced subset of N validation images"
    )
    budgets = "; ".join(budget.describe() for budget in BUDGETS.values())
    train.add_argument(
        "--budget",
        choices=list(BUDGETS),
        help=f"take --epochs and the --limit-* options, where not given, from a lesson budget: {budgets} "
        "(default: the recipe's own full run)",
    )
    train.add_argument(
        "--out", metavar="DIR", default="runs/latest", help="where metrics.json, checkpoint.pt, curves.png go"
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.add_argument("--force", action="store_true", help="overwrite the results already in OUT")

    evaluate = verbs.add_parser("evaluate", help="test accuracy and loss of a checkpoint")
    evaluate.add_argument("checkpoint", help="a checkpoint.pt written by train")
    _add_common(evaluate, test_batch_size=1000)
    evaluate.add_argument("--confusion", metavar="PNG", help="also save the confusion matrix to this file")

    data = verbs.add_parser("data", help="find (or download) MNIST, verify it and print where it is")
    data.add_argument("--data", metavar="DIR", help=data_option_help())
    data.add_argument("--no-download", action="store_true", help="only verify, never download")

    ship = verbs.add_parser(
        "ship-run",
        help="(maintainers) make a finished train run the package's shipped reference run",
        description="Write mnist_ref/reference_run/{history.json,weights.pt,run.json} from RUN_DIR "
        "(its metrics.json and checkpoint.pt); see mnist_ref.reference_run.",
    )
    ship.add_argument("run_dir", metavar="RUN_DIR", help="the --out folder of a finished train")
    ship.add_argument("--command", help="the training command, when RUN_DIR/metrics.json does not record it")
    ship.add_argument("--interim", metavar="WHY", help="ship it as a stand-in for the real run, saying why")
    ship.add_argument("--to", metavar="DIR", help=f"write here instead of {reference_run.FOLDER}")
    return parser


def _from_budget(args, name: str):
    """The option ``name`` as given, else the chosen ``--budget``'s value, else None."""
    value = getattr(args, name)
    if value is None and args.budget is not None:
        value = getattr(BUDGETS[args.budget], name)
    return value


def cmd_train(args) -> None:
    out = Path(args.out)
    metrics_path, checkpoint_path = out / "metrics.json", out / "checkpoint.pt"
    if not (args.force or args.resume) and (metrics_path.exists() or checkpoint_path.exists()):
        raise FileExistsError(
            f"{out} already holds a run; pass --resume to continue it, --force to overwrite it, or another --out"
        )
    recipe = RECIPES[args.recipe].with_overrides(
        epochs=_from_budget(args, "epochs"),
        batch_size=args.batch_size,
        lr=args.lr,
        momentum=args.momentum,
        step_size=args.step_size,
        gamma=args.gamma,
        in_memory=args.in_memory or None,
    )
    device = use_device(args.device)
    engine.seed_everything(args.seed)
    options = dict(
        shuffle=True,
        root=args.data,
        test_batch_size=args.test_batch_size,
        limit_train=_from_budget(args, "limit_train"),
        limit_test=_from_budget(args, "limit_test"),
        in_memory=recipe.in_memory,
        device=device,
    )
    if args.validation > 0:
        train_loader, validation_loader, test_loader = split_loaders(
            recipe.batch_size,
            validation=args.validation,
            limit_validation=_from_budget(args, "limit_validation"),
            **options,
        )
    else:
        (train_loader, test_loader), validation_loader = data_loader(recipe.batch_size, **options), None
    model = Net()
    history = engine.fit(
        model,
        device,
        train_loader,
        test_loader,
        validation_loader=validation_loader,
        recipe=recipe,
        seed=args.seed,
        checkpoint=checkpoint_path,
        resume=args.resume,
        progress=not args.no_progress,
    )
    metrics = {
        "command": shlex.join([*PROG.split(), *args.argv]),
        "params": count_parameters(model),
        "device": str(device),
        "recipe": recipe.name,
        "seed": args.seed,
        **history.to_dict(),
    }
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    from .plots import plot_curves  # matplotlib only when a figure is made

    plot_curves(history).savefig(out / "curves.png", dpi=100)
    print(
        f"test accuracy {history.test_acc[-1]:.2f}% after {recipe.epochs:g} epoch(s); "
        f"wrote {metrics_path}, {checkpoint_path}, {out / 'curves.png'}"
    )


def cmd_evaluate(args) -> None:
    device = use_device(args.device)
    model = Net()
    engine.load_checkpoint(args.checkpoint, model, map_location=device)
    model.to(device)
    _, test_data = make_data(args.data, download=False)
    test_loader = make_loader(
        limit(test_data, args.limit_test), args.test_batch_size, False, in_memory=args.in_memory, device=device
    )
    accuracy, losses = engine.test(model, device, test_loader, progress=not args.no_progress)
    print(f"test accuracy {accuracy:.2f}%, test loss {sum(losses) / len(losses):.4f}")
    if args.confusion:
        from .plots import plot_confusion_matrix

        _, targets, predictions = predict(model, device, test_loader)
        plot_confusion_matrix(confusion_matrix(targets, predictions)).savefig(args.confusion, dpi=100)
        print(f"wrote {args.confusion}")


def cmd_data(args) -> None:
    root = ensure_mnist(args.data, download=not args.no_download)
    print(f"MNIST verified in {raw_folder(root)}")


def cmd_ship_run(args) -> None:
    folder = reference_run.ship(args.run_dir, command=args.command, interim=args.interim, folder=args.to)
    print(reference_run.describe(folder))
    print(f"wrote {folder}")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # metrics.json records the command that made it
    commands = {"train": cmd_train, "evaluate": cmd_evaluate, "data": cmd_data, "ship-run": cmd_ship_run}
    try:
        commands[args.verb](args)
    except (MnistDataError, ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"{PROG} {args.verb}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG} {args.verb}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
