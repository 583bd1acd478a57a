"""Stand-in SLURM client commands for checking what the executor plugin submits, without a cluster.

``install(bindir, record)`` writes executables named like the SLURM clients into ``bindir``; put it
first on PATH and run Snakemake with ``--executor slurm``. The plugin then runs its real code:
``sbatch`` appends its argv (after shell parsing, exactly what a real sbatch would get) as one
JSON line to ``record`` and prints a new job id; ``sacct`` reports every submitted job as
COMPLETED; ``sinfo`` shows one default partition; ``sacctmgr`` lists the account ``mylab``;
``scontrol``/``squeue``/``sshare``/``scancel`` fail like clients without a controller.
Jobs never run: rules under test should have no outputs.
"""

import functools
import json
import shlex
import sys
import tempfile
from pathlib import Path

FAKE_ACCOUNT = "mylab"
FAKE_DEFAULT_PARTITION = "debug"

_SBATCH = """
import json, os, sys
from pathlib import Path
record = Path({record!r})
with record.open("a") as handle:
    handle.write(json.dumps(sys.argv[1:]) + "\\n")
print(1000 + sum(1 for _ in record.open()))
"""

_SACCT = """
import sys
from pathlib import Path
if "--name" in sys.argv:  # the plugin's status query: every submitted job has completed
    lines = Path({record!r}).read_text().splitlines() if Path({record!r}).exists() else []
    for index in range(1, len(lines) + 1):
        print(f"{{1000 + index}}|COMPLETED")
"""

_SINFO = f"print('PARTITION')\nprint('{FAKE_DEFAULT_PARTITION}*')\n"
_SACCTMGR = f"print('{FAKE_ACCOUNT}')\n"
_NO_CONTROLLER_COMMANDS = ("scontrol", "squeue", "sshare", "scancel")
_NO_CONTROLLER = (
    "import sys\nsys.exit('slurm_load_ctl_conf error: Unable to contact slurm controller')\n"
)


@functools.cache
def no_controller_bin() -> Path:
    """A folder (one per test process) whose ``scontrol``, ``squeue``, ``sshare`` and ``scancel``
    fail at once, like clients without a controller. For local-run tests, first on PATH.

    Snakemake's SLURM executor plugin runs ``scontrol show config`` whenever Snakemake starts,
    also for local runs. Where the SLURM clients are installed but no controller runs (as after
    the cluster tests stop theirs) that call waits about 9 s before it fails, in every Snakemake
    invocation of every later test.
    """
    bindir = Path(tempfile.mkdtemp(prefix="cliptail-no-slurm-"))
    _write_commands(bindir, dict.fromkeys(_NO_CONTROLLER_COMMANDS, _NO_CONTROLLER))
    return bindir


def _write_commands(bindir: Path, scripts: dict[str, str]) -> None:
    """Executable Python scripts ``bindir/<name>`` with the bodies ``scripts[name]``."""
    bindir.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        path = bindir / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(0o755)


def install(bindir: Path, record: Path) -> None:
    """Write the stand-in commands into ``bindir`` (created if needed), recording into ``record``."""
    scripts = {
        "sbatch": _SBATCH.format(record=str(record)),
        "sacct": _SACCT.format(record=str(record)),
        "sinfo": _SINFO,
        "sacctmgr": _SACCTMGR,
        **dict.fromkeys(_NO_CONTROLLER_COMMANDS, _NO_CONTROLLER),
    }
    _write_commands(bindir, scripts)


# Options of sbatch that take a separate value in the plugin's call (all others are --key=value
# or bare flags).
_VALUED = {
    "--job-name",
    "--output",
    "--comment",
    "-p",
    "-A",
    "-t",
    "--mem",
    "--mem-per-cpu",
    "-D",
    "-C",
    "--clusters",
}


def parse_sbatch_argv(argv: list[str]) -> dict[str, str | None]:
    """Options of one sbatch call as {option: value}; bare flags map to None.

    ``["-t", "720", "--gpus=1", "--parsable"]`` -> ``{"-t": "720", "--gpus": "1", "--parsable": None}``.
    """
    options: dict[str, str | None] = {}
    tokens = iter(argv)
    for token in tokens:
        if token in _VALUED:
            options[token] = next(tokens)
        elif token.startswith("--") and "=" in token:
            key, value = token.split("=", 1)
            options[key] = value
        else:
            options[token] = None
    return options


def recorded_calls(record: Path) -> list[dict[str, str | None]]:
    """All recorded sbatch calls, parsed, in submission order."""
    if not record.exists():
        return []
    return [parse_sbatch_argv(json.loads(line)) for line in record.read_text().splitlines()]


def by_rule(calls: list[dict[str, str | None]]) -> dict[str, dict[str, str | None]]:
    """Index calls by rule name, taken from the ``--comment rule_<name>[_wildcards_...]`` the plugin sets."""
    result = {}
    for call in calls:
        comment = call["--comment"]
        rule = comment.removeprefix("rule_").split("_wildcards_")[0]
        result[rule] = call
    return result


def wrapped_command(call: dict[str, str | None]) -> list[str]:
    """The command the job runs in its allocation (sbatch --wrap), split like a shell would."""
    return shlex.split(call["--wrap"])
