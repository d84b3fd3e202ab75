"""Wiring shared by every suite: how pytest-xdist spreads the tests over its workers."""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup``, a module whose tests share a module-scoped fixture stays on one worker.

    Such a fixture is expensive by design (one app-server per SDK test module, the
    adversarial corpus run at once, a scratch git history), so it must start once,
    not once per worker. Every other test is handed out on its own, which keeps a
    large parametrised module (the property round-trips) from landing on a single
    worker the way ``--dist loadscope`` would.
    """
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        if any(defs and defs[-1].scope == "module" for defs in info.name2fixturedefs.values()):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__ if item.module else item.nodeid))
