"""The commands: ``phototagd`` (the daemon) and ``tagctl`` (one module a verb).

May import: everything; only ``cli/phototagd.py`` builds the daemon.
"""
