"""Import a generated package and round-trip sample instances (run in a fresh interpreter).

Usage: ``python -m tests.generator.roundtrip_check OUTPUT_DIR SPEC_JSON``

SPEC_JSON holds ``{"samples": [{"class": ..., "instance": ...}], "methods": [...]}``.
Checks, in order:

1. no generated file contains a call that could run schema text
   (``__import__``, ``eval``, ``exec``, ``open``, ``os.system`` ...);
2. ``v2_all`` imports and every sample validates, and dumping it (by alias,
   unset fields excluded) gives back the same JSON, also through JSON text;
3. ``client``, ``notifications`` and ``server_requests`` import (beside a copy
   of the hand-written runtime) and, when ``methods`` is given, ``METHODS``
   holds exactly those JSON-RPC method names.

Exits 0 and prints ``ok`` on success; any failure is a traceback (exit 1).
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
import tempfile
from pathlib import Path

from pydantic import TypeAdapter

from tests.generator.support import GENERATED, import_generated

# Calls generated code never needs; any of them would mean schema text became code.
FORBIDDEN_NAMES = frozenset(
    {"__import__", "eval", "exec", "compile", "open", "breakpoint", "input", "globals", "getattr"}
)
FORBIDDEN_ATTRS = frozenset({"system", "popen", "spawnl", "execv", "remove", "unlink", "rmtree", "write"})


def check_no_dangerous_calls(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            assert func.id not in FORBIDDEN_NAMES, f"{path.name}:{node.lineno}: call to {func.id}"
        elif isinstance(func, ast.Attribute):
            assert func.attr not in FORBIDDEN_ATTRS, f"{path.name}:{node.lineno}: call to .{func.attr}"


def roundtrip(module: object, samples: list[dict[str, object]]) -> None:
    for sample in samples:
        cls = getattr(module, str(sample["class"]))
        adapter: TypeAdapter[object] = TypeAdapter(cls)
        instance = sample["instance"]
        value = adapter.validate_python(instance)
        dumped = adapter.dump_python(value, mode="json", by_alias=True, exclude_unset=True)
        assert dumped == instance, f"{sample['class']}: round trip changed the instance:\n{dumped!r}\n!=\n{instance!r}"
        again = adapter.validate_json(json.dumps(instance))
        assert adapter.dump_python(again, mode="json", by_alias=True, exclude_unset=True) == instance


def import_protocol_modules(package: str, methods: list[str] | None) -> None:
    """The protocol modules import too; ``METHODS`` lists exactly ``methods`` when given."""
    client = importlib.import_module(f"{package}.generated.client")
    importlib.import_module(f"{package}.generated.notifications")
    importlib.import_module(f"{package}.generated.server_requests")
    if methods is not None:
        assert sorted(client.METHODS) == sorted(methods), sorted(client.METHODS)


def main(argv: list[str]) -> int:
    output_dir, spec_path = Path(argv[0]), Path(argv[1])
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    generated = output_dir / GENERATED
    for path in sorted(generated.rglob("*.py")):
        check_no_dangerous_calls(path)
    with tempfile.TemporaryDirectory(prefix="roundtrip-") as tmp:
        # The real package name: the runtime copied beside it is the real one too.
        module = import_generated(generated, Path(tmp), "codex_app_server")
        roundtrip(module, spec.get("samples", []))
        import_protocol_modules("codex_app_server", spec.get("methods"))
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
