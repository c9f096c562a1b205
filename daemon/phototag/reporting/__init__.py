"""What the daemon reports: JSONL, summary, metrics, Prometheus, status, progress.

May import: phototag.store, phototag.metadata.write and the top-level modules.
"""
