"""phototag: watch folders, tag photos with a vision model, write tags into the photos."""

__version__ = "0.1.0"
GENERATOR = f"phototag {__version__}"
