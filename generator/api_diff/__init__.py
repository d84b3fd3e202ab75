"""Public API diff between two generations: ``python -m generator api-diff OLD NEW``.

It compares what a user of ``codex_app_server`` sees, built from the
generator's IR (:class:`generator.ir.Api`), never the generated text:

* client methods (``AppServerClient``/``AsyncAppServerClient``): added,
  removed, return type; their keyword params: added, removed, retyped,
  required-changed;
* wrapper methods (``Codex``, ``Thread``, ``TurnHandle`` and their async
  twins): added, removed, return type, positional params, keywords;
* definitions of ``generated.v2_all`` (models, enums, type aliases): added,
  removed, kind changed; model fields added, removed, retyped,
  required-changed; enum members and literal values added/removed; alias
  types retyped;
* notifications and server requests (handler methods): added, removed, changed.

Every change gets a *kind*, breaking or not by the rules of :mod:`.rules`
(the kinds, the roles, the type relations). The package along its seams:

* :mod:`.rules`: the kinds, whether each is breaking for a role, the roles
  of definitions and how two types relate;
* :mod:`.differ`: the comparison of two :class:`generator.ir.Api`, one
  :class:`~.report.Change` per difference;
* :mod:`.report`: the changes, their sections, the Markdown and JSON report;
* :mod:`.sides`: loading both sides (a schema dir, or a git ref's schemas
  built by that ref's own generator).

A schema dir is built with the *current* generator code; a git ref with
that ref's own ``generator/`` (run in a subprocess; the current code if the
ref has none or it fails), so the diff also shows what a generator change
does to the names users see (a naming rule). Template changes show in the
``output/API.md`` git diff.

``--against-git [REF]`` compares the working tree's ``schemas/`` with the
``schemas/`` of REF (read with ``git archive``), default: the merge base with
``main`` when that differs from HEAD, else ``HEAD~1``.
"""

from __future__ import annotations

from .differ import Differ, diff_apis
from .report import AREAS, Change, Report
from .rules import BOTH, INPUT, OUTPUT, RULES, expand, is_breaking, relation, roles
from .sides import (
    Side,
    checkout_generator,
    checkout_schemas,
    default_ref,
    load_api,
    resolve_ref,
    side_of,
    side_of_dir,
)

__all__ = [
    "AREAS",
    "BOTH",
    "INPUT",
    "OUTPUT",
    "RULES",
    "Change",
    "Differ",
    "Report",
    "Side",
    "checkout_generator",
    "checkout_schemas",
    "default_ref",
    "diff_apis",
    "expand",
    "is_breaking",
    "load_api",
    "relation",
    "resolve_ref",
    "roles",
    "side_of",
    "side_of_dir",
]
