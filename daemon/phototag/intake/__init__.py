"""Intake: from the filesystem to the durable queue (watch, settle, select, scan).

May import: phototag.store and the top-level modules (errors, domain, config, paths,
keywords).
"""
