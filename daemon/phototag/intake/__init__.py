"""Intake: from the filesystem to the durable queue (watch, settle, select, scan).

May import: phototag's top-level modules and phototag.store.
"""
