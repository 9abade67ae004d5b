"""tapeapp's version, read by the package metadata (pyproject.toml), the manifest of a project file and reports."""

__version__ = "0.9.0"
