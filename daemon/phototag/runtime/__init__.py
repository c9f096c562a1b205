"""The running daemon: its core, control socket, systemd, reloads and logging.

May import: everything below it (processing, intake, reporting, taggers, metadata, store).
"""
