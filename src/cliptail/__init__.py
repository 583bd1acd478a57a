"""cliptail: reproduce and extend the NeurIPS 2024 study "What Makes CLIP More Robust to
Long-Tailed Pre-Training Data?"."""

#: Same as ``[project] version`` in pyproject.toml (checked by tests/unit/test_cli.py);
#: ``cliptail --version`` reports the installed distribution's version, this one if not installed.
__version__ = "0.1.0"
