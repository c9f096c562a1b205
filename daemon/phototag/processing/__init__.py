"""One job through the stages, the worker pool and the backend circuit.

May import: phototag.taggers, phototag.metadata.write and phototag.metadata.imagehash,
phototag.store and the top-level modules.
"""
