"""Glue: run the stages in order. Pure except for the explicit load/write calls."""

from __future__ import annotations

import ast
import time
from collections.abc import Mapping
from dataclasses import dataclass

from . import api_reference, ir, normalize, protocol, tolerant, views
from .errors import GeneratorError, Location
from .fmt import format_python_files
from .load import V2_BUNDLE, Inputs
from .render import render

GENERATED_PACKAGE = "src/codex_app_server/generated"
MODELS_PACKAGE = "_models"  # generated/_models/: the modules v2_all imports on first use
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
    definitions, def_class = normalize.build_definitions(inputs.bundle, inputs.manifest.names)
    api = protocol.build_api(inputs, definitions, def_class)
    return tolerant.make_tolerant(api, inputs.manifest.names.types, V2_BUNDLE)


def render_files(api: ir.Api) -> dict[str, str]:
    """Every generated file, formatted; keys are paths relative to the output dir."""
    sources = render_models(views.models_package(api, V2_BUNDLE))
    sources.update(protocol.render_protocol_files(api, GENERATED_PACKAGE))
    python = {path: source for path, source in sources.items() if path.endswith(".py")}
    for path, source in sorted(python.items()):
        _check_syntax(source, path)
    files = dict(sources)
    files.update(format_python_files(python))
    files[API_REFERENCE] = api_reference.render_api_reference(api)
    return dict(sorted(files.items()))


def render_models(package: views.ModelsPackage) -> dict[str, str]:
    """``v2_all.py`` (every name, imported lazily) and one ``_models`` module per shard."""
    models_dir = f"{GENERATED_PACKAGE}/{MODELS_PACKAGE}"
    sources = {
        f"{GENERATED_PACKAGE}/v2_all.py": render("v2_all.py.jinja", m=package),
        f"{models_dir}/__init__.py": render("models_init.py.jinja", header=package.header),
        f"{models_dir}/{views.BASE_MODULE}.py": render("models_base.py.jinja", m=package),
    }
    for shard in package.shards:
        sources[f"{models_dir}/{shard.module}.py"] = render(
            "models_shard.py.jinja", header=package.header, imports=views.shard_imports(shard), shard=shard
        )
    return sources


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
