"""The ``cliptail`` command: version, ``python -m``, help texts, exit codes, -v/-q."""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import re
import subprocess
import sys
import tomllib

import pytest

import cliptail
from cliptail import cli
from cliptail.cli import main
from cliptail.data import sources_cli
from tests.fixtures.real_sources import REPO

#: reST and Sphinx markup that has no place in terminal help.
MARKUP = re.compile(r"``|:(func|mod|data|class|meth|attr|ref|doc):`")
#: Files a user of the installed command does not have.
PROJECT_FILES = re.compile(r"\b(PAPER|DESIGN)\.md\b|\.md\b|\bsection \d")


# --- version -------------------------------------------------------------------------------------


def test_version_is_consistent_everywhere():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert cliptail.__version__ == project
    try:
        installed = importlib.metadata.version("cliptail")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        installed = None
    if installed is not None:
        assert installed == project, "reinstall: the installed metadata is out of date"
    assert cli.version() == project


def test_version_falls_back_to_the_package_attribute(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    monkeypatch.setattr(cliptail, "__version__", "9.8.7")
    assert cli.version() == "9.8.7"


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"cliptail {cliptail.__version__}\n"


def test_python_dash_m_cliptail():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO)]))
    proc = subprocess.run(
        [sys.executable, "-m", "cliptail", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"cliptail {cliptail.__version__}\n"
    proc = subprocess.run(
        [sys.executable, "-m", "cliptail", "--no-such-option"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2 and "usage: cliptail" in proc.stderr


# --- help texts ----------------------------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser, name: str = "cliptail"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_parser_is_walked():
    names = [name for name, _ in _parsers(cli.build_parser())]
    assert names == [
        "cliptail",
        "cliptail subset",
        "cliptail trim-tail",
        "cliptail concept-freq",
        "cliptail sources",
        "cliptail sources metadata",
        "cliptail sources download",
        "cliptail sources locate-imagenet",
    ]
    assert set(cli.SUBCOMMANDS) <= {n.split()[1] for n in names if " " in n}


@pytest.mark.parametrize("name, parser", list(_parsers(cli.build_parser())))
def test_every_argument_has_plain_help(name, parser):
    for action in parser._actions:
        where = f"{name}: {'/'.join(action.option_strings) or action.dest}"
        assert action.help and action.help != argparse.SUPPRESS, f"{where} has no help"
        assert action.help.strip() == action.help and action.help.strip(), where
        assert not MARKUP.search(action.help), f"{where}: markup in {action.help!r}"
        assert not PROJECT_FILES.search(action.help), f"{where}: {action.help!r}"
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:  # the one-line help of each subcommand
                assert choice.help and not MARKUP.search(choice.help), f"{name} {choice.dest}"
    for text in (parser.description, parser.epilog, parser.format_help()):
        if text:
            assert not MARKUP.search(text), f"{name}: markup in {text!r}"
            assert not PROJECT_FILES.search(text), f"{name} points at a project file: {text!r}"
    assert parser.description, f"{name} has no description"


def test_descriptions_with_line_structure_keep_it():
    parsers = dict(_parsers(cli.build_parser()))
    for name in ("cliptail", "cliptail concept-freq", "cliptail sources", "cliptail subset"):
        parser = parsers[name]
        assert parser.formatter_class is argparse.RawDescriptionHelpFormatter, name
    help_text = parsers["cliptail concept-freq"].format_help()
    assert "example:\n  cliptail concept-freq --concepts imagenet" in help_text
    assert "  metadata         download the authors'" in parsers["cliptail sources"].format_help()


def test_global_flags_are_documented_everywhere():
    for name, parser in _parsers(cli.build_parser()):
        options = {o for a in parser._actions for o in a.option_strings}
        assert {"-v", "--verbose", "-q", "--quiet"} <= options, name


# --- exit codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--no-such-option"],
        ["no-such-command"],
        [],
        ["concept-freq", "--concepts", "imagenet", "--captions", "x.csv"],  # --out missing
        ["concept-freq", "--concepts", "imagenet", "--captions", "x", "--out", "o", "--bogus"],
        ["concept-freq", "--concepts", "c", "--captions", "x", "--out", "o", "--workers", "0"],
        ["subset", "--manifest", "m", "--n", "1", "--frac", "0.5", "--out", "o"],
        ["sources"],
        ["sources", "metadata", "--retries", "-1"],
        ["-v", "-q", "sources", "metadata", "--verify"],
        ["sources", "metadata", "--verify", "-v", "-q"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: cliptail" in err and "error:" in err and "Traceback" not in err


def test_missing_captions_file_exits_1_with_one_line(tmp_path, capsys):
    missing = tmp_path / "missing.csv"
    argv = ["concept-freq", "--concepts", "imagenet", "--captions", str(missing)]
    assert main([*argv, "--out", str(tmp_path / "f.tsv")]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"cliptail concept-freq: error: caption file(s) not found: {missing}\n"
    assert captured.out == "" and not (tmp_path / "f.tsv").exists()


def test_verbose_shows_the_traceback(tmp_path, capsys):
    missing = tmp_path / "missing.csv"
    argv = ["concept-freq", "--concepts", "imagenet", "--captions", str(missing)]
    assert main(["-v", *argv, "--out", str(tmp_path / "f.tsv")]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "FileNotFoundError" in err
    assert (
        err.splitlines()[-1]
        == f"cliptail concept-freq: error: caption file(s) not found: {missing}"
    )


def test_bad_input_file_exits_1(tmp_path, capsys):
    manifest = tmp_path / "manifest.parquet"
    manifest.write_text("this is not parquet")
    (tmp_path / "classes.tsv").write_text("index\tid\tname\n0\ta\tA\n")
    out = tmp_path / "out" / "x.parquet"
    assert main(["subset", "--manifest", str(manifest), "--n", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cliptail subset: error: ") and err.count("\n") == 1
    assert "Traceback" not in err and not out.parent.exists()


def test_os_errors_name_the_file(tmp_path, capsys, monkeypatch):
    def unreadable(args):
        open(tmp_path / "gone.txt", encoding="utf-8")

    monkeypatch.setattr(sources_cli, "_download", unreadable)
    assert main(["sources", "download", "http://127.0.0.1:9/x", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err == (
        f"cliptail sources: error: {tmp_path / 'gone.txt'}: No such file or directory\n"
    )


def test_interrupt_exits_130_and_bugs_keep_their_traceback(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sources_cli, "_download", interrupted)
    assert main(["sources", "download", "http://127.0.0.1:9/x", str(tmp_path / "x")]) == 130
    assert capsys.readouterr().err == "cliptail sources: interrupted\n"

    def bug(args):
        raise TypeError("a bug")

    monkeypatch.setattr(sources_cli, "_download", bug)
    with pytest.raises(TypeError, match="a bug"):
        main(["sources", "download", "http://127.0.0.1:9/x", str(tmp_path / "x")])


# --- -v / -q -------------------------------------------------------------------------------------


def _log_levels(args):
    log = logging.getLogger("cliptail.test")
    log.debug("a debug line")
    log.info("an info line")
    log.warning("a warning line")
    print(f"quiet={args.quiet} verbose={args.verbose}")
    return 0


@pytest.mark.parametrize(
    "flags, shown, hidden",
    [
        ([], ["an info line", "a warning line"], ["a debug line"]),
        (["-v"], ["a debug line", "an info line", "a warning line"], []),
        (["-q"], ["a warning line"], ["a debug line", "an info line"]),
    ],
)
def test_log_levels(flags, shown, hidden, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sources_cli, "_download", _log_levels)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    for argv in (
        [*flags, "sources", "download", "u", str(tmp_path)],  # before the command
        ["sources", "download", "u", str(tmp_path), *flags],  # after it
    ):
        assert main(argv) == 0
        captured = capsys.readouterr()
        assert f"quiet={'-q' in flags} verbose={'-v' in flags}" in captured.out
        for line in shown:
            assert line in captured.err, (argv, captured.err)
        for line in hidden:
            assert line not in captured.err, (argv, captured.err)
        assert root.handlers == handlers and root.level == level  # restored after the run


def test_quiet_hides_progress_bars_and_info(tmp_path, capsys, http_server):
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "file.bin").write_bytes(b"x" * 5000)
    server = http_server(tmp_path / "srv")
    dest = tmp_path / "dest" / "file.bin"
    argv = ["sources", "download", server.url("file.bin"), str(dest)]
    assert main(argv) == 0
    assert "file.bin" in capsys.readouterr().err  # the progress bar
    assert main(argv) == 0
    assert "present, not downloaded again" in capsys.readouterr().err  # an INFO line
    dest.unlink()
    for quiet in (["-q", *argv], [*argv, "--quiet"]):
        assert main(quiet) == 0
        captured = capsys.readouterr()
        assert captured.err == "" and captured.out == f"{dest}\n"
