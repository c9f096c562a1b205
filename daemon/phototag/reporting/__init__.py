"""What the daemon reports: JSONL, summary, review page, metrics, history, Prometheus,
status, progress.

May import: phototag.processing (the outcomes it reports), phototag.intake,
phototag.taggers, phototag.metadata, phototag.store and the top-level modules.
"""
