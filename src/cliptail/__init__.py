"""cliptail: reproduce and extend "What Makes CLIP More Robust to Long-Tailed Pre-Training Data?"."""

__version__ = "0.1.0"
