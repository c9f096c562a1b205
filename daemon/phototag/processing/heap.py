"""How the daemon's C heap gives memory back: large freed blocks return to the kernel."""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024


def unmap_large_blocks() -> None:
    """Serve each malloc of 128 KiB or more from its own mapping, unmapped on ``free``.

    That is glibc's default threshold, but glibc raises it each time such a block is freed,
    after which large blocks come from the heap and stay resident once freed: loading the
    classifier frees ~30 MB of weight copies, and every photo frees a decoded image, that a
    long-running daemon would otherwise keep (bench/bench_memory.py: 223 -> 163 MB with the
    embedded backend, together with one inference at a time). The price is a few page
    faults per photo. Process-wide; call once at start. No-op where malloc is not glibc.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
