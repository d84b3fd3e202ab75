"""High-level wrapper methods (Codex, Thread, TurnHandle) from the manifest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import ir
from .load import Inputs


def build_wrappers(
    inputs: Inputs, defs: Mapping[str, ir.Definition], methods: Sequence[ir.Method]
) -> tuple[ir.WrapperMethod, ...]:
    return ()
