"""The commands: ``phototagd`` (the daemon) and ``tagctl`` (one module a verb).

May import: everything; only ``cli/phototagd.py`` builds the daemon.
"""

import os

# numpy's OpenBLAS starts a thread a core when numpy is imported, and they spin a while:
# ~0.13 s of CPU at each phototagd or tagctl start, for matrices of a few thousand numbers
# (a thumbnail's colours). phototag's parallelism is its workers. A value set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
