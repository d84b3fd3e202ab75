"""Stage 3b: the protocol surface (methods, notifications, server requests, wrappers).

Read from the envelope unions of the bundle (ClientRequest,
ServerNotification, ServerRequest) and the manifest. Conventions make
ordinary additions need no manifest edit: ``thread/goal/set`` ->
``thread_goal_set``; ``XParams`` -> ``XResponse``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jsonschema

from . import experimental, ir, naming, wrappers
from . import schema_nodes as nodes
from .errors import GeneratorError, Location
from .load import V2_BUNDLE, Inputs, JsonObject, SchemaDef, ServerRequestSetting
from .params import ParamDocs, parameters, params_variants

CLIENT_REQUEST = "ClientRequest"
SERVER_NOTIFICATION = "ServerNotification"
SERVER_REQUEST = "ServerRequest"
USER_INPUT = "UserInput"  # the union of a turn's input items

# The providers of computed default answers ([server_requests."M"] computed = { wireName = "provider" }),
# with a sample value to check the answer against the schema. The runtime computes them
# (codex_app_server._server_request_spec.COMPUTED, the same names: a test keeps both in step).
COMPUTED_SAMPLES: Mapping[str, object] = {"unix_seconds": 0}


def _variants(sdef: SchemaDef) -> list[tuple[JsonObject, Location]]:
    raw = sdef.schema.get("oneOf", sdef.schema.get("anyOf"))
    if not isinstance(raw, list):
        raise GeneratorError(sdef.location, f"{sdef.name} must be a oneOf of method variants")
    key = "oneOf" if "oneOf" in sdef.schema else "anyOf"
    return [(v, sdef.location.child(key, i)) for i, v in enumerate(raw) if isinstance(v, dict)]


def _method_of(variant: JsonObject, loc: Location) -> str:
    prop = nodes.object_at(variant, "properties").get("method")
    enum = prop.get("enum") if isinstance(prop, dict) else None
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
        return enum[0]
    raise GeneratorError(loc.child("properties", "method"), "expected a single-valued 'method' enum")


def _params_of(variant: JsonObject, loc: Location, def_class: Mapping[str, str]) -> str | None:
    """The params class of one envelope variant; None when it takes no params."""
    params = nodes.object_at(variant, "properties").get("params")
    if params is None or (isinstance(params, dict) and params.get("type") == "null"):
        return None
    if not isinstance(params, dict):
        raise GeneratorError(loc.child("properties", "params"), "params must be a schema object")
    ref = params.get("$ref")
    if ref is None:
        alternatives = nodes.array_at(params, "anyOf" if "anyOf" in params else "oneOf")
        refs = [a["$ref"] for a in alternatives if isinstance(a, dict) and "$ref" in a]
        nulls = [a for a in alternatives if isinstance(a, dict) and a.get("type") == "null"]
        if len(refs) == 1 and len(refs) + len(nulls) == len(alternatives):
            ref = refs[0]
    if not isinstance(ref, str):
        raise GeneratorError(loc.child("properties", "params"), "params must be a $ref (optionally nullable)")
    name = ref.rsplit("/", 1)[-1]
    if name not in def_class:
        raise GeneratorError(loc.child("properties", "params"), f"unresolvable $ref {ref!r}")
    return def_class[name]


def _response_for(
    rpc_method: str, params_def: str | None, responses: Mapping[str, str], def_class: Mapping[str, str], loc: Location
) -> str:
    if rpc_method in responses:
        return responses[rpc_method]
    candidate = naming.response_definition(params_def)
    if candidate is not None and candidate in def_class:
        return def_class[candidate]
    raise GeneratorError(
        loc,
        f"method {rpc_method!r}: cannot find its response type by convention (XParams -> XResponse)",
        f'add `"{rpc_method}" = "TheResponseType"` under [responses] in schemas/methods.toml',
    )


def build_methods(
    inputs: Inputs,
    defs: Mapping[str, ir.Definition],
    def_class: Mapping[str, str],
    reserved: Mapping[str, tuple[str, Location]],
) -> tuple[ir.Method, ...]:
    """The client requests, each named by convention or ``[method_names]``.

    ``reserved``: the names the hand-written client bases define (name -> that
    member and its file); a method named like one would shadow it in the
    generated subclass, so it is a collision like any other.
    """
    bundle = inputs.bundle.definitions
    if CLIENT_REQUEST not in bundle:
        raise GeneratorError(Location(V2_BUNDLE, "/definitions"), f"definition {CLIENT_REQUEST!r} is missing")
    responses = inputs.manifest.responses
    renames = inputs.manifest.method_names
    docs = ParamDocs(inputs.manifest.param_docs)
    class_of_def = {v: k for k, v in def_class.items()}
    methods: list[ir.Method] = []
    seen: set[str] = set()
    table = naming.NameTable("method", 'add `"{source}" = "new_name"` under [method_names] in schemas/methods.toml')
    for name, (member, where) in reserved.items():
        table.claim(name, f"the hand-written {member}", where)
    stable = experimental.stable_methods(inputs.bundle.stable, CLIENT_REQUEST)
    for variant, loc in _variants(bundle[CLIENT_REQUEST]):
        rpc = _method_of(variant, loc)
        params_cls = _params_of(variant, loc, def_class)
        params_def = class_of_def.get(params_cls) if params_cls else None
        response = _response_for(rpc, params_def, responses, def_class, loc)
        if response not in defs:
            raise GeneratorError(
                inputs.manifest.location("responses", rpc), f"response type {response!r} does not exist"
            )
        py = table.claim(renames.get(rpc) or naming.method_name(rpc), rpc, loc)
        text = variant.get("description")
        description = text if isinstance(text, str) else None
        params = parameters(defs.get(params_cls or ""), defs, rpc, docs)
        methods.append(
            ir.Method(
                rpc,
                py,
                params_cls,
                response,
                params,
                description,
                experimental=experimental.is_experimental(stable, rpc),
            )
        )
        seen.add(rpc)
    _check_manifest_methods(inputs.manifest.location(), "responses", responses, seen)
    _check_manifest_methods(inputs.manifest.location(), "method_names", renames, seen)
    return tuple(sorted(methods, key=lambda m: m.rpc_method))


def param_names(methods: Sequence[ir.Method], defs: Mapping[str, ir.Definition]) -> set[tuple[str, str]]:
    """``(method, wire name)`` of every param a method or wrapper can take (each variant of union params too)."""
    out = {(m.rpc_method, p.wire_name) for m in methods for p in m.parameters}
    for m in methods:
        for variant in params_variants(m.params_model, defs).values():
            out.update((m.rpc_method, f.wire_name) for f in variant.fields)
    return out


def _check_manifest_methods(loc: Location, table: str, entries: Mapping[str, object], known: set[str]) -> None:
    for rpc in sorted(entries):
        if rpc not in known:
            raise GeneratorError(
                loc.child(table, rpc),
                f"manifest entry for method {rpc!r}, which the schema does not have",
                "remove the entry (the method was removed or renamed upstream)",
            )


def _variant_classes(union_def: str, defs: Mapping[str, ir.Definition], def_class: Mapping[str, str]) -> dict[str, str]:
    """method -> generated variant class of an envelope union (ServerNotification, ...)."""
    alias = defs.get(def_class.get(union_def, ""))
    if not isinstance(alias, ir.Alias) or not isinstance(alias.type, ir.UnionOf):
        return {}
    out: dict[str, str] = {}
    for member in alias.type.members:
        model = defs.get(member.name) if isinstance(member, ir.Named) else None
        if not isinstance(model, ir.Model):
            continue
        for f in model.fields:
            if f.wire_name == "method" and isinstance(f.type, ir.LiteralOf) and len(f.type.values) == 1:
                out[str(f.type.values[0])] = model.name
    return out


def _description_of(variant: JsonObject) -> str | None:
    text = variant.get("description")
    return text.strip() or None if isinstance(text, str) else None


def build_notifications(
    inputs: Inputs, defs: Mapping[str, ir.Definition], def_class: Mapping[str, str]
) -> tuple[ir.Notification, ...]:
    bundle = inputs.bundle.definitions
    if SERVER_NOTIFICATION not in bundle:
        return ()
    classes = _variant_classes(SERVER_NOTIFICATION, defs, def_class)
    stable = experimental.stable_methods(inputs.bundle.stable, SERVER_NOTIFICATION)
    out = []
    for variant, loc in _variants(bundle[SERVER_NOTIFICATION]):
        rpc = _method_of(variant, loc)
        params_cls = _params_of(variant, loc, def_class)
        if rpc not in classes:
            raise GeneratorError(loc, f"notification {rpc!r} has no generated variant class")
        out.append(
            ir.Notification(
                rpc, classes[rpc], params_cls, _description_of(variant), experimental.is_experimental(stable, rpc)
            )
        )
    return tuple(sorted(out, key=lambda n: n.rpc_method))


def build_server_requests(
    inputs: Inputs, defs: Mapping[str, ir.Definition], def_class: Mapping[str, str]
) -> tuple[ir.ServerRequest, ...]:
    bundle = inputs.bundle.definitions
    if SERVER_REQUEST not in bundle:
        return ()
    settings = inputs.manifest.server_requests
    classes = _variant_classes(SERVER_REQUEST, defs, def_class)
    class_of_def = {v: k for k, v in def_class.items()}
    handler_names = naming.NameTable("handler", 'set `handler = "new_name"` under [server_requests."{source}"]')
    stable = experimental.stable_methods(inputs.bundle.stable, SERVER_REQUEST)
    out = []
    for variant, loc in _variants(bundle[SERVER_REQUEST]):
        rpc = _method_of(variant, loc)
        params_cls = _params_of(variant, loc, def_class)
        params_def = class_of_def.get(params_cls) if params_cls else None
        response = def_class.get(naming.response_definition(params_def) or "")
        entry = settings.get(rpc, ServerRequestSetting())
        handler = handler_names.claim(entry.handler or naming.method_name(rpc), rpc, loc)
        default = entry.default
        computed = tuple(sorted(entry.computed.items()))
        if computed and default is None:
            default = {}
        if default is not None:
            _check_default(
                {**default, **{wire: COMPUTED_SAMPLES[provider] for wire, provider in computed}},
                class_of_def.get(response) if response else None,
                inputs,
                inputs.manifest.location("server_requests", rpc, "computed" if computed else "default"),
            )
        out.append(
            ir.ServerRequest(
                rpc,
                classes.get(rpc, naming.server_request_class_name(rpc)),
                handler,
                params_cls,
                response,
                _description_of(variant),
                default,
                experimental.is_experimental(stable, rpc),
                computed,
            )
        )
    known = {r.rpc_method for r in out}
    _check_manifest_methods(inputs.manifest.location(), "server_requests", settings, known)
    return tuple(sorted(out, key=lambda r: r.rpc_method))


def _check_default(default: object, response_def: str | None, inputs: Inputs, loc: Location) -> None:
    """A default answer must be valid for the schema, or every unhandled request would fail."""
    if response_def is None:
        raise GeneratorError(loc, "no response type to validate the default answer against")
    definitions = {name: sdef.schema for name, sdef in inputs.bundle.definitions.items()}
    root = {"definitions": {**definitions, "v2": definitions}, "$ref": f"#/definitions/{response_def}"}
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(root).iter_errors(default))
    if error is not None:
        raise GeneratorError(
            loc,
            f"default answer is not a valid {response_def}: {error.message}",
            "update the default in schemas/methods.toml to the current schema",
        )


def build_inputs(inputs: Inputs, defs: Mapping[str, ir.Definition], def_class: Mapping[str, str]) -> ir.Inputs | None:
    """The input dataclasses the manifest offers ([inputs]), one per listed UserInput variant.

    Each takes its variant's required fields and, where the variant wants
    one of several alternatives (an image by url OR by fileId), the first.
    """
    tags = inputs.manifest.inputs
    if not tags:
        return None
    loc = inputs.manifest.location("inputs", "variants")
    union = defs.get(def_class.get(USER_INPUT, ""))
    if not isinstance(union, ir.Alias) or not isinstance(union.type, ir.UnionOf) or not union.type.discriminator:
        raise GeneratorError(loc, f"the schema has no tagged {USER_INPUT} union to build input classes from")
    tag_field = union.type.discriminator
    variants: dict[str, ir.Model] = {}
    for member in union.type.members:
        model = defs.get(member.name) if isinstance(member, ir.Named) else None
        if isinstance(model, ir.Model):
            tag_type = next((f.type for f in model.fields if f.py_name == tag_field), None)
            if isinstance(tag_type, ir.LiteralOf) and len(tag_type.values) == 1:
                variants[str(tag_type.values[0])] = model
    names = naming.NameTable("input class", "rename or drop the variant under [inputs] in schemas/methods.toml")
    classes = []
    for index, tag in enumerate(tags):
        model = variants.get(tag)
        if model is None:
            raise GeneratorError(
                loc.child(index),
                f"{USER_INPUT} has no variant {tag!r} (it has {sorted(variants)})",
                "the schema dropped or renamed it: update [inputs] in schemas/methods.toml",
            )
        wanted = {f.py_name for f in model.fields if f.required and f.py_name != tag_field}
        wanted.update(model.alternatives[0] if model.alternatives else ())
        fields = tuple(
            ir.Parameter(
                naming.parameter_name(f.py_name), f.py_name, f.wire_name, ir.strip_nullable(f.type), True, f.description
            )
            for f in sorted(model.fields, key=lambda f: f.py_name)
            if f.py_name in wanted
        )
        name = names.claim(naming.input_class_name(tag), tag, loc.child(index))
        classes.append(ir.InputClass(name, model.name, tag_field, tag, fields, model.description))
    models = tuple(
        m.name for m in union.type.members if isinstance(m, ir.Named) and isinstance(defs.get(m.name), ir.Model)
    )
    return ir.Inputs(union.name, tuple(classes), models)


def build_api(
    inputs: Inputs,
    definitions: Sequence[ir.Definition],
    def_class: Mapping[str, str],
    reserved: Mapping[str, tuple[str, Location]],
) -> ir.Api:
    defs = {d.name: d for d in definitions}
    methods = build_methods(inputs, defs, def_class, reserved)
    notifications = build_notifications(inputs, defs, def_class)
    return ir.Api(
        schema_version=inputs.bundle.codex_version,
        input_hash=inputs.bundle.input_hash,
        definitions=tuple(definitions),
        methods=methods,
        notifications=notifications,
        server_requests=build_server_requests(inputs, defs, def_class),
        wrappers=wrappers.build_wrappers(inputs, defs, methods, notifications),
        inputs=build_inputs(inputs, defs, def_class),
    )
