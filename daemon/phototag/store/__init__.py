"""The SQLite index and durable job queue: one row per file, its status is the queue.

May import: the top-level modules only.
"""
