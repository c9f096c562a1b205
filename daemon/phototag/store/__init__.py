"""The SQLite index and durable job queue.

May import: phototag's top-level modules only.
"""
