"""Stage 1: read the schema bundle, verify its lock, read and validate the manifest.

This is the only stage (with ``write``) that touches the file system.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema

from .errors import GeneratorError, Location, join_pointer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

V2_BUNDLE = "codex_app_server_protocol.v2.schemas.json"
ROOT_BUNDLE = "codex_app_server_protocol.schemas.json"
LOCK_NAME = "schema.lock"
# The `--experimental` dump lives beside the stable one, in SCHEMA_DIR + this suffix
# (schemas/app-server-experimental); only its two bundles are kept: all the generator reads.
EXPERIMENTAL_SUFFIX = "-experimental"
EXPERIMENTAL_FILES = (ROOT_BUNDLE, V2_BUNDLE)
EXPERIMENTAL_LOCK_KEY = "experimental_files"
MANIFEST_NAME = "methods.toml"
MANIFEST_SCHEMA_NAME = "methods.schema.json"

JsonObject = Mapping[str, object]


@dataclass(frozen=True)
class SchemaDef:
    """One named definition of the bundle and where it came from."""

    name: str
    schema: JsonObject
    location: Location


@dataclass(frozen=True)
class Bundle:
    codex_version: str
    input_hash: str
    definitions: Mapping[str, SchemaDef]
    # The stable dump's definitions when ``definitions`` come from the experimental
    # dump (a superset): what they add is experimental. None: no experimental dump.
    stable: Mapping[str, SchemaDef] | None = None


@dataclass(frozen=True)
class NameOverrides:
    """Explicit renames from the manifest: the only way to resolve a collision."""

    types: Mapping[str, str] = field(default_factory=dict)  # def name, title or JSON pointer -> class name
    fields: Mapping[str, str] = field(default_factory=dict)  # "Class.wireName" -> field name
    variants: Mapping[str, str] = field(default_factory=dict)  # union def -> "{Tag}Suffix" pattern


@dataclass(frozen=True)
class ServerRequestSetting:
    """``[server_requests."METHOD"]``: the handler's name and the answer sent without a handler."""

    handler: str | None = None
    default: JsonObject | None = None  # a JSON object; None: answer with a JSON-RPC error
    # Fields of the default answer computed when it is sent: wire name -> provider (``_server_request_spec.COMPUTED``).
    computed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WrapperEntry:
    """One ``[[wrappers]]`` entry; params are named by their wire names."""

    owner: str
    name: str
    method: str
    location: Location
    kind: str = "plain"
    bind: Mapping[str, str] = field(default_factory=dict)  # wire param -> attribute of self
    positional: tuple[str, ...] = ()
    fixed: Mapping[str, object] = field(default_factory=dict)  # wire param -> JSON value
    exclude: Mapping[str, str] = field(default_factory=dict)  # wire param -> reason
    params: Mapping[str, Mapping[str, object]] = field(default_factory=dict)  # wire param -> override
    doc: str | None = None
    variant: str | None = None  # the tag of the params variant sent, for methods whose params are a union
    optional: bool = False  # generated only where the schema has the method (older releases lack it)


@dataclass(frozen=True)
class Manifest:
    """schemas/methods.toml, validated against methods.schema.json and parsed once."""

    file: str  # the file name, for error locations
    names: NameOverrides = field(default_factory=NameOverrides)
    responses: Mapping[str, str] = field(default_factory=dict)  # method -> response type
    method_names: Mapping[str, str] = field(default_factory=dict)  # method -> python name
    # Doc text of params the schema leaves undescribed: "wireName" or "method.wireName" -> text.
    param_docs: Mapping[str, str] = field(default_factory=dict)
    server_requests: Mapping[str, ServerRequestSetting] = field(default_factory=dict)
    wrappers: tuple[WrapperEntry, ...] = ()
    inputs: tuple[str, ...] = ()  # tags of the UserInput variants offered as input dataclasses

    def location(self, *tokens: str | int) -> Location:
        return Location(self.file).child(*tokens)


@dataclass(frozen=True)
class Inputs:
    bundle: Bundle
    manifest: Manifest


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def schema_files(schema_dir: Path) -> dict[str, bytes]:
    """Every file of a schema dump, keyed by its POSIX path relative to the dir."""
    files: dict[str, bytes] = {}
    for path in sorted(schema_dir.rglob("*")):
        if path.is_file():
            files[path.relative_to(schema_dir).as_posix()] = path.read_bytes()
    return files


def experimental_dir(schema_dir: Path) -> Path:
    """Where the ``--experimental`` dump of ``schema_dir``'s release lives (it may not exist)."""
    return schema_dir.with_name(schema_dir.name + EXPERIMENTAL_SUFFIX)


def experimental_files(schema_dir: Path) -> dict[str, bytes] | None:
    """The experimental dump beside ``schema_dir`` (its bundles), None when there is none."""
    directory = experimental_dir(schema_dir)
    return schema_files(directory) if directory.is_dir() else None


def render_lock(codex_version: str, files: Mapping[str, bytes], experimental: Mapping[str, bytes] | None = None) -> str:
    lock: dict[str, object] = {
        "codex_version": codex_version,
        "files": {name: sha256_bytes(files[name]) for name in sorted(files)},
    }
    if experimental is not None:
        lock[EXPERIMENTAL_LOCK_KEY] = {name: sha256_bytes(experimental[name]) for name in sorted(experimental)}
    return json.dumps(lock, indent=2, sort_keys=True) + "\n"


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> object:
    # Python's json accepts NaN and Infinity; JSON (and a Python literal) does not.
    raise _NotJson(f"{name} is not a JSON number")


def _parse_json(data: bytes, location: Location) -> object:
    try:
        doc = json.loads(data, parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise GeneratorError(location, f"not valid JSON{where}: {exc}") from None
    except _NotJson as exc:
        raise GeneratorError(location, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise GeneratorError(location, "not valid JSON: nested too deeply to read") from None
    if b"\\ud" in data.lower():  # only \uXXXX escapes can smuggle a lone surrogate into JSON
        _reject_lone_surrogates(doc, location)
    return doc


_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_lone_surrogates(doc: object, location: Location) -> None:
    """A lone UTF-16 surrogate is not Unicode: no source file, docstring or alias can hold it."""
    stack: list[tuple[object, str]] = [(doc, location.pointer)]
    while stack:
        value, pointer = stack.pop()
        children: list[tuple[object, str]] = []
        if isinstance(value, str) and _SURROGATE.search(value):
            raise GeneratorError(Location(location.file, pointer), "text holds a lone UTF-16 surrogate (not Unicode)")
        if isinstance(value, dict):
            for key, item in value.items():
                child = join_pointer(pointer, key)
                if _SURROGATE.search(key):
                    raise GeneratorError(
                        Location(location.file, child), "name holds a lone UTF-16 surrogate (not Unicode)"
                    )
                children.append((item, child))
        elif isinstance(value, list):
            children = [(item, join_pointer(pointer, i)) for i, item in enumerate(value)]
        stack.extend(reversed(children))  # report the first one in document order


def _non_finite_path(value: object, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where a TOML nan/inf hides in the manifest (it has no JSON or literal form), if anywhere."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _non_finite_path(item, (*path, key))
        if found is not None:
            return found
    return None


def verify_lock(lock_path: Path, files: Mapping[str, bytes], experimental: Mapping[str, bytes] | None = None) -> str:
    """Check every schema file (and the experimental dump's) against the lock; return the locked codex version."""
    loc = Location(lock_path.as_posix())
    if not lock_path.is_file():
        raise GeneratorError(loc, "schema lock file is missing", "run `nox -s schema` to dump and lock the schema")
    lock = _parse_json(lock_path.read_bytes(), loc)
    if not isinstance(lock, dict) or not isinstance(lock.get("files"), dict):
        raise GeneratorError(loc, "expected an object with 'codex_version' and 'files'")
    version = lock.get("codex_version")
    if not isinstance(version, str) or not version:
        raise GeneratorError(loc.child("codex_version"), "missing codex version")
    _verify_files(lock_path, "files", lock["files"], files, "")
    locked_experimental = lock.get(EXPERIMENTAL_LOCK_KEY)
    if locked_experimental is None and experimental is not None:
        raise GeneratorError(
            loc, "an experimental schema dump is there but not in the lock", "re-dump with `nox -s schema`"
        )
    if locked_experimental is not None:
        if not isinstance(locked_experimental, dict):
            raise GeneratorError(loc.child(EXPERIMENTAL_LOCK_KEY), "expected an object of file hashes")
        _verify_files(lock_path, EXPERIMENTAL_LOCK_KEY, locked_experimental, experimental or {}, "experimental ")
    return version


def _verify_files(
    lock_path: Path, key: str, locked: Mapping[str, object], files: Mapping[str, bytes], kind: str
) -> None:
    loc = Location(lock_path.as_posix())
    for name in sorted(set(locked) - set(files)):
        raise GeneratorError(loc.child(key, name), f"{kind}schema file {name!r} is listed in the lock but missing")
    for name in sorted(set(files) - set(locked)):
        raise GeneratorError(
            Location(name),
            f"{kind}schema file {name!r} is not in the lock",
            "re-dump with `nox -s schema` or remove the file",
        )
    for name in sorted(files):
        if locked[name] != sha256_bytes(files[name]):
            raise GeneratorError(
                Location(name),
                f"{kind}schema file {name!r} was modified: its sha256 differs from {lock_path.name}",
                "never edit the dump by hand; re-dump it with `nox -s schema`",
            )


def _definitions_of(doc: object, file: str) -> dict[str, object]:
    loc = Location(file)
    if not isinstance(doc, dict):
        raise GeneratorError(loc, "expected a JSON object at the top level")
    defs = doc.get("definitions", doc.get("$defs"))
    if not isinstance(defs, dict):
        raise GeneratorError(loc, "expected a 'definitions' object")
    return defs


def collect_definitions(files: Mapping[str, bytes], prefix: str = "") -> dict[str, SchemaDef]:
    """All definitions: the v2 bundle, plus root-bundle ones the v2 bundle lacks.

    The root bundle nests the v2 definitions under ``definitions/v2``; its own
    top-level definitions add InitializeResponse, ServerRequest and the
    server-request params/responses that the v2 bundle leaves out.
    """
    v2_file, root_file = prefix + V2_BUNDLE, prefix + ROOT_BUNDLE
    if V2_BUNDLE not in files:
        raise GeneratorError(Location(v2_file), "the v2 schema bundle is missing from the schema dir")
    defs: dict[str, SchemaDef] = {}
    v2 = _definitions_of(_parse_json(files[V2_BUNDLE], Location(v2_file)), v2_file)
    for name, schema in v2.items():
        defs[name] = _schema_def(name, schema, Location(v2_file, join_pointer("/definitions", name)))
    if ROOT_BUNDLE in files:
        root = _definitions_of(_parse_json(files[ROOT_BUNDLE], Location(root_file)), root_file)
        for name, schema in root.items():
            if name == "v2" or name in defs:
                continue
            defs[name] = _schema_def(name, schema, Location(root_file, join_pointer("/definitions", name)))
    return defs


def _schema_def(name: str, schema: object, location: Location) -> SchemaDef:
    if not isinstance(schema, dict):
        raise GeneratorError(location, "a definition must be a JSON object")
    return SchemaDef(name, schema, location)


def read_manifest(manifest_path: Path, manifest_schema_path: Path) -> JsonObject:
    """The manifest as TOML data, checked against its JSON Schema (and free of nan/inf)."""
    loc = Location(manifest_path.as_posix())
    if not manifest_path.is_file():
        raise GeneratorError(loc, "method manifest is missing")
    try:
        manifest: JsonObject = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GeneratorError(loc, f"not valid TOML: {exc}") from None
    schema_loc = Location(manifest_schema_path.as_posix())
    if not manifest_schema_path.is_file():
        raise GeneratorError(schema_loc, "manifest schema is missing")
    schema = _parse_json(manifest_schema_path.read_bytes(), schema_loc)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        raise GeneratorError(loc.child(*first.absolute_path), f"invalid manifest: {first.message}")
    bad = _non_finite_path(manifest)
    if bad is not None:
        raise GeneratorError(loc.child(*bad), "invalid manifest: nan and inf are not JSON values")
    return manifest


def parse_manifest(data: JsonObject, file: str) -> Manifest:
    """Typed manifest from data that passed methods.schema.json (so every shape below holds)."""
    names = _object(data.get("names"))
    settings = _object(data.get("server_requests"))
    wrappers = data.get("wrappers")
    variants = _object(data.get("inputs")).get("variants")
    return Manifest(
        file=file,
        names=NameOverrides(
            types=_strings(names.get("types")),
            fields=_strings(names.get("fields")),
            variants=_strings(names.get("variants")),
        ),
        responses=_strings(data.get("responses")),
        method_names=_strings(data.get("method_names")),
        param_docs=_strings(data.get("param_docs")),
        server_requests={method: _server_request_setting(_object(entry)) for method, entry in sorted(settings.items())},
        wrappers=tuple(
            _wrapper_entry(_object(entry), Location(file, f"/wrappers/{index}"))
            for index, entry in enumerate(wrappers if isinstance(wrappers, list) else [])
        ),
        inputs=tuple(str(tag) for tag in variants) if isinstance(variants, list) else (),
    )


def _object(value: object) -> dict[str, object]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _strings(value: object) -> dict[str, str]:
    return {k: str(v) for k, v in _object(value).items()}


def _optional_string(value: object) -> str | None:
    return None if value is None else str(value)


def _server_request_setting(entry: Mapping[str, object]) -> ServerRequestSetting:
    default = entry.get("default")
    return ServerRequestSetting(
        handler=_optional_string(entry.get("handler")),
        default=_object(default) if isinstance(default, dict) else None,
        computed=_strings(entry.get("computed")),
    )


def _wrapper_entry(entry: Mapping[str, object], location: Location) -> WrapperEntry:
    positional = entry.get("positional")
    return WrapperEntry(
        owner=str(entry["owner"]),
        name=str(entry["name"]),
        method=str(entry["method"]),
        location=location,
        kind=str(entry.get("kind", "plain")),
        bind=_strings(entry.get("bind")),
        positional=tuple(str(p) for p in positional) if isinstance(positional, list) else (),
        fixed=_object(entry.get("fixed")),
        exclude=_strings(entry.get("exclude")),
        params={wire: _object(override) for wire, override in _object(entry.get("params")).items()},
        doc=_optional_string(entry.get("doc")),
        variant=_optional_string(entry.get("variant")),
        optional=entry.get("optional") is True,
    )


def load_inputs(schema_dir: Path, lock_path: Path | None = None, manifest_path: Path | None = None) -> Inputs:
    """Read and verify everything the generator needs; the only reading stage."""
    if not schema_dir.is_dir():
        raise GeneratorError(Location(schema_dir.as_posix()), "schema dir does not exist")
    files = schema_files(schema_dir)
    experimental = experimental_files(schema_dir)
    lock_path = lock_path or schema_dir.parent / LOCK_NAME
    version = verify_lock(lock_path, files, experimental)
    manifest_path = manifest_path or schema_dir.parent / MANIFEST_NAME
    manifest = read_manifest(manifest_path, manifest_path.parent / MANIFEST_SCHEMA_NAME)
    # The input hash covers the schema files and the manifest, so the header
    # of the generated code changes exactly when an input changes.
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    for name in sorted(experimental or {}):  # (only when there is one: the hash of a tree without it is unchanged)
        digest.update(b"experimental/" + name.encode() + b"\0" + (experimental or {})[name] + b"\0")
    digest.update(json.dumps(manifest, sort_keys=True).encode())
    stable = collect_definitions(files)
    if experimental is None:
        bundle = Bundle(version, digest.hexdigest()[:16], stable)
    else:
        prefix = experimental_dir(schema_dir).name + "/"
        bundle = Bundle(version, digest.hexdigest()[:16], collect_definitions(experimental, prefix), stable)
    return Inputs(bundle, parse_manifest(manifest, manifest_path.name))
