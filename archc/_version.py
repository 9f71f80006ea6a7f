"""The package version, in a leaf module: importing it loads nothing else (hatch reads it too)."""

__version__ = "0.1.0"
