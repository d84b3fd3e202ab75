"""Stage 3b: the parameters of generated methods, from a params model's fields.

Shared by the client methods (:mod:`generator.protocol`) and the wrappers
(:mod:`generator.wrappers`, which may take one variant of a union of
params), so that a parameter gets the same type and the same doc text
wherever it appears.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from . import ir, naming


@dataclass(frozen=True)
class ParamDocs:
    """``[param_docs]`` of the manifest: doc text for params the schema does not describe.

    A key is a wire name (``"cwd"``: that param of every method) or a method
    and a wire name (``"thread/start.cwd"``: that method only, which wins).
    The schema's own description always wins over both.
    """

    texts: Mapping[str, str] = field(default_factory=dict)

    def text(self, rpc_method: str, wire_name: str, schema_text: str | None) -> str | None:
        return schema_text or self.texts.get(f"{rpc_method}.{wire_name}") or self.texts.get(wire_name)

    def unused(self, known: Collection[tuple[str, str]]) -> list[str]:
        """The keys that name no param of ``known`` ((method, wire name) pairs), sorted.

        Not an error when generating: an entry for a param an older or newer
        release lacks is simply not used, so ``bump`` needs no manifest edit.
        The tests check that every key is used by the pinned schema (typos).
        """
        wires = {wire for _, wire in known}
        unused = []
        for key in sorted(self.texts):
            rpc, dot, wire = key.rpartition(".")
            if (dot and (rpc, wire) not in known) or (not dot and wire not in wires):
                unused.append(key)
        return unused


def parameters(
    model: ir.Definition | None,
    defs: Mapping[str, ir.Definition],
    rpc_method: str,
    docs: ParamDocs,
    *,
    skip: Collection[str] = (),
) -> tuple[ir.Parameter, ...]:
    """One parameter per field of the params ``model`` (required first, then by name), but the ``skip`` wire names."""
    if not isinstance(model, ir.Model):
        return ()
    ordered = sorted((f for f in model.fields if f.wire_name not in skip), key=lambda f: (not f.required, f.py_name))
    return tuple(
        ir.Parameter(
            naming.parameter_name(f.py_name),
            f.py_name,
            f.wire_name,
            accepting_wire_strings(f.type, defs),
            f.required,
            docs.text(rpc_method, f.wire_name, f.description),
            f.experimental,
        )
        for f in ordered
    )


def accepting_wire_strings(t: ir.TypeExpr, defs: Mapping[str, ir.Definition]) -> ir.TypeExpr:
    """A parameter type where every enum also accepts its wire strings: ``SandboxMode | Literal["read-only", ...]``.

    The params model validates either spelling into the member, so a user may
    write ``sandbox="read-only"`` or ``sandbox=SandboxMode.read_only`` and
    both type-check.
    """
    if isinstance(t, ir.Named):
        enum = defs.get(t.name)
        if isinstance(enum, ir.Enum) and enum.members:
            return ir.UnionOf((t, ir.LiteralOf(tuple(m.value for m in enum.members))))
        return t
    if isinstance(t, ir.Nullable):
        return ir.Nullable(accepting_wire_strings(t.inner, defs))
    if isinstance(t, ir.ListOf):
        return ir.ListOf(accepting_wire_strings(t.item, defs))
    return t


def union_variants(t: ir.TypeExpr, defs: Mapping[str, ir.Definition]) -> dict[str, ir.Model]:
    """The model of each tag of a tagged union (``{"apiKey": ApiKeyLoginParams, ...}``); empty for anything else."""
    if not isinstance(t, ir.UnionOf) or not t.discriminator:
        return {}
    out: dict[str, ir.Model] = {}
    for member in t.members:
        model = defs.get(member.name) if isinstance(member, ir.Named) else None
        if not isinstance(model, ir.Model):
            continue
        tag = next((f for f in model.fields if f.py_name == t.discriminator), None)
        if tag is not None and isinstance(tag.type, ir.LiteralOf) and len(tag.type.values) == 1:
            out[str(tag.type.values[0])] = model
    return out


def params_variants(params_model: str | None, defs: Mapping[str, ir.Definition]) -> dict[str, ir.Model]:
    """The variants of a method's params when they are a tagged union (login by API key OR by ChatGPT ...)."""
    alias = defs.get(params_model or "")
    return union_variants(alias.type, defs) if isinstance(alias, ir.Alias) else {}


def paged_item(m: ir.Method, defs: Mapping[str, ir.Definition]) -> ir.TypeExpr | None:
    """The item type when ``m`` pages by cursor (params ``cursor``, response ``data`` + ``nextCursor``), else None."""
    if not any(p.wire_name == naming.PAGE_CURSOR_PARAM for p in m.parameters):
        return None
    response = defs.get(m.response_model)
    if not isinstance(response, ir.Model):
        return None
    by_wire = {f.wire_name: f for f in response.fields}
    items = by_wire.get(naming.PAGE_ITEMS)
    if naming.PAGE_NEXT_CURSOR not in by_wire or items is None:
        return None
    item_list = ir.strip_nullable(items.type)
    return item_list.item if isinstance(item_list, ir.ListOf) else None
