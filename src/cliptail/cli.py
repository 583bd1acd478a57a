"""The ``cliptail`` command: standalone entry points to the library.

Each subcommand lives in its own module, which exposes ``register(subparsers)``; that function
adds the subparser and sets ``func`` (called with the parsed arguments, returns an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand name -> module that registers it
SUBCOMMANDS: dict[str, str] = {
    "subset": "cliptail.curate.subset_cli",
    "trim-tail": "cliptail.curate.subset_cli",
    "concept-freq": "cliptail.curate.concept_frequency_cli",
    "sources": "cliptail.data.sources_cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cliptail", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in dict.fromkeys(SUBCOMMANDS.values()):
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"cliptail {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
