"""The running daemon: its core, control socket, systemd, reloads and logging.

May import: every layer below it (reporting, processing, intake, taggers, metadata,
store) and the top-level modules.
"""
