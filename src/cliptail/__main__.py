"""``python -m cliptail``: the same as the ``cliptail`` command."""

from cliptail.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
