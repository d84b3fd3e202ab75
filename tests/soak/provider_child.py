"""A fake provider in its own process, for measurements of the client's memory.

The fake provider keeps every request it gets. In the measured process its
lists and dicts would grow with every turn, and they would reuse blocks the
SDK freed (a free list hands a block out again without telling tracemalloc,
which keeps naming the SDK line that first allocated it), so its growth would
count as the SDK's. In a child process it costs the client nothing; the child
forgets what it kept every second, since a thread of thousands of turns sends
its whole history with each one (gigabytes kept otherwise).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Serves until killed; prints its base URL.
PROVIDER_CHILD = """
import threading
from codex_app_server.testing import FakeProvider
provider = FakeProvider().start()
print(provider.base_url, flush=True)
while not threading.Event().wait(1.0):
    del provider.requests[:], provider.log[:]
"""


@contextmanager
def provider_in_a_child() -> Iterator[str]:
    """The base URL of a fake provider in its own process, stopped (by pid) afterwards."""
    child = subprocess.Popen([sys.executable, "-c", PROVIDER_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:"), f"the provider did not start: {base_url!r}"
        yield base_url
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
