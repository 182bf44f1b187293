"""The `lorabot` command: each subcommand imports what it needs only when it runs."""

import argparse
import sys
from collections.abc import Callable, Sequence

Register = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]


def _registrars() -> list[Register]:
    from bots.cli import add_bot_parsers
    from core.captioning.cli import add_make_tiny_captioner_parser
    from core.training.cli import add_make_tiny_model_parser, add_train_parser
    from daemon.cli import add_daemon_parsers

    return [
        add_daemon_parsers,
        add_train_parser,
        add_make_tiny_model_parser,
        add_make_tiny_captioner_parser,
        add_bot_parsers,
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lorabot", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrars():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
