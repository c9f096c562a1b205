"""What the daemon reports: JSONL, summary, review page, metrics, history, Prometheus,
status, progress.

May import: phototag.store, phototag.metadata (write, atomic), phototag.processing (the
pipeline's Outcome; imaging, to draw the review page's thumbnails) and the top-level modules.
"""
