"""Render a cluster config template: replace every ``@NAME@`` by the value given as NAME=VALUE.

    python render_template.py slurm.conf.in /etc/slurm/slurm.conf HOST=vm CLUSTER=cliptail ...

The output is written only when its content changes (so re-running the setup is a no-op) and
atomically (temporary file + rename). Exit status: 0 unchanged, 10 written, 2 on a template
placeholder without a value. Standard library only: it runs before any project environment exists.
"""

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")
WRITTEN = 10


def render(template: str, values: dict[str, str]) -> str:
    """Substitute ``@NAME@`` placeholders; raise KeyError naming every placeholder without a value."""
    missing = sorted(set(PLACEHOLDER.findall(template)) - values.keys())
    if missing:
        raise KeyError(", ".join(missing))
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def write_if_changed(path: Path, text: str, mode: int) -> bool:
    """Write ``text`` to ``path`` atomically with ``mode`` unless it already holds exactly that."""
    if path.exists() and path.read_text() == text:
        os.chmod(path, mode)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("values", nargs="*", metavar="NAME=VALUE")
    parser.add_argument("--mode", type=lambda s: int(s, 8), default=0o644, help="octal file mode")
    args = parser.parse_args(argv)
    values = dict(item.split("=", 1) for item in args.values)
    try:
        text = render(args.template.read_text(), values)
    except KeyError as err:
        print(
            f"{args.template}: no value for placeholder(s) {err.args[0]}; pass NAME=VALUE",
            file=sys.stderr,
        )
        return 2
    return WRITTEN if write_if_changed(args.output, text, args.mode) else 0


if __name__ == "__main__":
    sys.exit(main())
