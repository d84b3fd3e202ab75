"""What a process's memory is made of: resident pages, live Python blocks, malloc's heap.

RSS is what a user sees; the other figures say why it moved. Live Python
blocks (``sys.getallocatedblocks``) count objects. glibc's ``mallinfo2``
splits malloc's heap into bytes handed out (in use) and bytes it keeps free:
RSS growing while both stay flat is pages touched for the first time (warm-up),
RSS growing with the free bytes is fragmentation (the stdio reader's 64 KiB
reads were that: tests/runtime/test_stdio_reads.py), and growth in use or in
blocks is memory kept.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import sys
from collections.abc import Callable
from typing import Any

from ._core import rss_kb


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


@functools.cache
def _mallinfo2() -> Callable[[], Any] | None:
    """glibc's mallinfo2 (2.33+), or None elsewhere (macOS, musl, Windows, older glibc)."""
    try:
        function = ctypes.CDLL(None).mallinfo2
    except (AttributeError, OSError, TypeError):
        return None
    function.restype = _MallInfo2
    function.argtypes = []
    return function


def heap_sample() -> dict[str, int]:
    """After a full collection: RSS (KiB), live Python blocks, malloc in use and free (KiB, glibc only)."""
    gc.collect()
    sample = {"rss_kb": rss_kb(), "py_blocks": sys.getallocatedblocks()}
    mallinfo2 = _mallinfo2()
    if mallinfo2 is not None:
        info = mallinfo2()
        sample["malloc_used_kb"] = (info.uordblks + info.hblkhd) // 1024  # heap chunks + mapped chunks
        sample["malloc_free_kb"] = info.fordblks // 1024
    return sample
