"""One job through the stages, the worker pool, the backend circuit and decoding.

May import: phototag.intake (the selection rules a job is checked against again),
phototag.taggers, phototag.metadata, phototag.store and the top-level modules.
"""
