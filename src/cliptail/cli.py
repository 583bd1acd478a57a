"""The ``cliptail`` command: standalone entry points to the library.

Each subcommand lives in its own module, which exposes ``register(subparsers)``; that function
adds the subparser and sets ``func`` (called with the parsed arguments, returns an exit code).

Exit codes: 0 success; 1 a runtime error (a missing or bad input file, an invalid value found
while running), reported as one line ``cliptail <command>: error: <message>`` on stderr (with
``-v`` the traceback follows); 2 a usage error (argparse's own message); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import logging
import sys
import traceback
from collections.abc import Iterator

import cliptail
from cliptail.storage import storage_error

PROG = "cliptail"

# subcommand name -> module that registers it
SUBCOMMANDS: dict[str, str] = {
    "subset": "cliptail.curate.subset_cli",
    "trim-tail": "cliptail.curate.subset_cli",
    "concept-freq": "cliptail.curate.concept_frequency_cli",
    "sources": "cliptail.data.sources_cli",
}

#: Exceptions that are the user's input or environment, not a bug: reported in one line, exit 1.
#: (ValueError covers the library's ConfigError, ManifestError, DownloadError/ChecksumError,
#: JSON, Unicode and Arrow decode errors; OSError covers missing files, permissions, network
#: errors.) Anything else is a bug and keeps its traceback.
RUNTIME_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError)

DESCRIPTION = """\
Standalone entry points to cliptail, the reproduction of "What Makes CLIP More Robust
to Long-Tailed Pre-Training Data?" (NeurIPS 2024): subsets of a manifest, concept
frequencies of caption files, and the real data sources."""

EPILOG = """\
run "cliptail COMMAND --help" for the options of one command.
exit status: 0 success, 1 runtime error (bad or missing input), 2 usage error."""


def version() -> str:
    """The installed distribution's version, or the package's when it is not installed."""
    try:
        return importlib.metadata.version("cliptail")
    except importlib.metadata.PackageNotFoundError:
        return cliptail.__version__


def _add_verbosity(parser: argparse.ArgumentParser, default) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="debug logging, and the traceback of an error",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="only warnings and errors; no progress bars",
    )


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser below ``parser`` (nested subcommands included), each once."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield sub
                yield from _subparsers(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"{PROG} {version()}", help="print the version"
    )
    _add_verbosity(parser, default=False)
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="the command to run"
    )
    for module in dict.fromkeys(SUBCOMMANDS.values()):
        importlib.import_module(module).register(sub)
    # -v/-q also after the command; SUPPRESS keeps a subcommand from resetting the global flag
    for subparser in _subparsers(parser):
        _add_verbosity(subparser, default=argparse.SUPPRESS)
    return parser


@contextlib.contextmanager
def _logging(level: int) -> Iterator[None]:
    """``logging.basicConfig`` on the current stderr for one run; the previous root handlers and
    level come back afterwards (main() may run several times in one process, e.g. in tests)."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    for handler in saved_handlers:
        root.removeHandler(handler)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s: %(message)s")
    ours = [h for h in root.handlers if h not in saved_handlers]
    try:
        yield
    finally:
        for handler in ours:
            root.removeHandler(handler)
            handler.close()
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)


def _error_text(exc: BaseException) -> str:
    """``<message>`` of one exception; FileNotFoundError from open() says which file, a failed
    write (no space, read-only, permission) also what to do (see cliptail.storage.storage_error)."""
    storage = storage_error(exc)
    if storage is not None:
        return storage
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc).strip() or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose and args.quiet:
        parser.error("-v/--verbose and -q/--quiet cannot be combined")
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    where = f"{PROG} {args.command}"
    with _logging(level):
        try:
            return int(args.func(args) or 0)
        except RUNTIME_ERRORS as exc:
            if args.verbose:
                traceback.print_exc(file=sys.stderr)
            # the first line is the error; further lines of the message (how to fix it) follow
            print(f"{where}: error: {_error_text(exc)}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{where}: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    raise SystemExit(main())
