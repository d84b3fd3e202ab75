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
import shutil
import sys
import tempfile
from pathlib import Path

from pydantic import TypeAdapter

from tests.generator.support import GENERATED, REPO_ROOT, load_module

RUNTIME = REPO_ROOT / "output" / "src" / "codex_app_server"
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


def import_protocol_modules(generated: Path, methods: list[str] | None) -> None:
    """Import the protocol modules inside a throwaway package with the real runtime beside them."""
    with tempfile.TemporaryDirectory(prefix="roundtrip-") as tmp:
        package = Path(tmp) / "codex_app_server"
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="utf-8")
        for runtime in sorted(RUNTIME.glob("_*.py")):
            if runtime.name != "__init__.py":
                shutil.copyfile(runtime, package / runtime.name)
        shutil.copytree(generated, package / "generated")
        sys.path.insert(0, tmp)
        try:
            client = importlib.import_module("codex_app_server.generated.client")
            importlib.import_module("codex_app_server.generated.notifications")
            importlib.import_module("codex_app_server.generated.server_requests")
            if methods is not None:
                assert sorted(client.METHODS) == sorted(methods), sorted(client.METHODS)
        finally:
            sys.path.remove(tmp)


def main(argv: list[str]) -> int:
    output_dir, spec_path = Path(argv[0]), Path(argv[1])
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    generated = output_dir / GENERATED
    for path in sorted(generated.glob("*.py")):
        check_no_dangerous_calls(path)
    module = load_module(generated / "v2_all.py", "roundtrip_v2_all")
    roundtrip(module, spec.get("samples", []))
    import_protocol_modules(generated, spec.get("methods"))
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
