"""Glue: run the stages in order. Pure except for the explicit load/write calls."""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from . import api_reference, api_views, experimental, ir, normalize, protocol, tolerant, views
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


def build_api(inputs: Inputs, reserved: Mapping[str, tuple[str, Location]] | None = None) -> ir.Api:
    """The IR of ``inputs``. ``reserved``: the names a generated client method must not take
    (:func:`api_reference.client_runtime_names`); given when generating, not when only comparing
    APIs (``api-diff`` builds a git ref's API from its schemas alone, without its runtime)."""
    names = inputs.manifest.names
    definitions, def_class = normalize.build_definitions(inputs.bundle, names)
    if inputs.bundle.stable is not None:
        stable, _ = normalize.build_definitions(replace(inputs.bundle, definitions=inputs.bundle.stable), names)
        definitions = experimental.mark_definitions(definitions, stable)
    api = protocol.build_api(inputs, definitions, def_class, reserved or {})
    return experimental.mark_fallbacks(tolerant.make_tolerant(api, inputs.manifest.names.types, V2_BUNDLE))


@dataclass(frozen=True)
class GeneratedFile:
    """One generated file: its template and the view it renders."""

    path: str  # relative to the output dir
    template: str
    view: Callable[[ir.Api, views.ModelsPackage], object | None]  # None: not generated for this schema


MODELS_DIR = f"{GENERATED_PACKAGE}/{MODELS_PACKAGE}"

# Every generated file but the model shards (one per shard of the package view, below).
FILES: tuple[GeneratedFile, ...] = (
    GeneratedFile(
        f"{GENERATED_PACKAGE}/__init__.py",
        "generated_init.py.jinja",
        lambda api, _: api_views.generated_init_module(api),
    ),
    GeneratedFile(f"{GENERATED_PACKAGE}/v2_all.py", "v2_all.py.jinja", lambda api, package: package),
    GeneratedFile(f"{MODELS_DIR}/__init__.py", "models_init.py.jinja", lambda api, package: package),
    GeneratedFile(f"{MODELS_DIR}/{views.BASE_MODULE}.py", "models_base.py.jinja", lambda api, package: package),
    GeneratedFile(f"{GENERATED_PACKAGE}/client.py", "client.py.jinja", lambda api, _: api_views.client_module(api)),
    GeneratedFile(
        f"{GENERATED_PACKAGE}/notifications.py",
        "notifications.py.jinja",
        lambda api, _: api_views.notifications_module(api),
    ),
    GeneratedFile(
        f"{GENERATED_PACKAGE}/server_requests.py",
        "server_requests.py.jinja",
        lambda api, _: api_views.server_requests_module(api),
    ),
    GeneratedFile(f"{GENERATED_PACKAGE}/methods.py", "methods.py.jinja", lambda api, _: api_views.methods_module(api)),
    GeneratedFile(
        f"{GENERATED_PACKAGE}/experimental.py",
        "experimental.py.jinja",
        lambda api, _: experimental.fence_tables(api, views.header(api)),
    ),
    GeneratedFile(f"{GENERATED_PACKAGE}/api.py", "api.py.jinja", lambda api, _: api_views.wrappers_module(api)),
    GeneratedFile(f"{GENERATED_PACKAGE}/inputs.py", "inputs.py.jinja", lambda api, _: api_views.inputs_module(api)),
    GeneratedFile(API_REFERENCE, "API.md.jinja", lambda api, _: api_reference.reference(api)),
)


def render_files(api: ir.Api) -> dict[str, str]:
    """Every generated file, formatted; keys are paths relative to the output dir."""
    package = views.models_package(api, V2_BUNDLE)
    sources: dict[str, str] = {}
    for file in FILES:
        view = file.view(api, package)
        if view is not None:
            sources[file.path] = render(file.template, m=view)
    for shard in package.shards:
        sources[f"{MODELS_DIR}/{shard.module}.py"] = render(
            "models_shard.py.jinja", header=package.header, imports=views.shard_imports(shard), shard=shard
        )
    python = {path: source for path, source in sources.items() if path.endswith(".py")}
    for path, source in sorted(python.items()):
        _check_syntax(source, path)
    files = dict(sources)
    files.update(format_python_files(python))
    return dict(sorted(files.items()))


def _check_syntax(source: str, path: str) -> None:
    try:
        ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise GeneratorError(
            Location(path), f"generated code is not valid Python at line {exc.lineno}: {exc.msg} (a generator bug)"
        ) from None


def generate(inputs: Inputs) -> Result:
    start = time.perf_counter()
    api = build_api(inputs, api_reference.client_runtime_names())
    files = render_files(api)
    return Result(api, files, time.perf_counter() - start)
