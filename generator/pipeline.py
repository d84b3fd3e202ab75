"""Glue: run the stages in order. Pure except for the explicit load/write calls."""

from __future__ import annotations

import ast
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import api_reference, ir, normalize, protocol, views
from .errors import GeneratorError, Location
from .fmt import format_python
from .load import V2_BUNDLE, Inputs
from .render import render

GENERATED_PACKAGE = "src/codex_app_server/generated"
API_REFERENCE = "API.md"  # output/API.md, generated from the IR (generator.api_reference)


@dataclass(frozen=True)
class Result:
    api: ir.Api
    files: Mapping[str, str]  # path relative to the output dir -> content
    seconds: float

    def summary(self) -> str:
        counts = {
            "models": sum(isinstance(d, ir.Model) for d in self.api.definitions),
            "enums": sum(isinstance(d, ir.Enum) for d in self.api.definitions),
            "aliases": sum(isinstance(d, ir.Alias) for d in self.api.definitions),
        }
        return (
            f"{counts['models']} models, {counts['enums']} enums, {counts['aliases']} aliases, "
            f"{len(self.api.methods)} methods, {len(self.api.notifications)} notifications, "
            f"{len(self.api.server_requests)} server requests, {len(self.api.wrappers)} wrappers "
            f"(codex {self.api.schema_version}) in {self.seconds:.2f} s"
        )


def build_api(inputs: Inputs) -> ir.Api:
    overrides = normalize.overrides_from_manifest(inputs.manifest)
    definitions, def_class = normalize.build_definitions(inputs.bundle, overrides)
    return protocol.build_api(inputs, definitions, def_class)


def render_files(api: ir.Api) -> dict[str, str]:
    """Every generated file, formatted; keys are paths relative to the output dir."""
    sources = {
        f"{GENERATED_PACKAGE}/v2_all.py": render("v2_all.py.jinja", m=views.models_module(api, V2_BUNDLE)),
    }
    sources.update(protocol.render_protocol_files(api, GENERATED_PACKAGE))
    sources[API_REFERENCE] = api_reference.render_api_reference(api)
    files: dict[str, str] = {}
    for path, source in sorted(sources.items()):
        if path.endswith(".py"):
            _check_syntax(source, path)
            source = format_python(source, Path(path).name)
        files[path] = source
    return files


def _check_syntax(source: str, path: str) -> None:
    try:
        ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise GeneratorError(
            Location(path), f"generated code is not valid Python at line {exc.lineno}: {exc.msg} (a generator bug)"
        ) from None


def generate(inputs: Inputs) -> Result:
    start = time.perf_counter()
    api = build_api(inputs)
    files = render_files(api)
    return Result(api, files, time.perf_counter() - start)
