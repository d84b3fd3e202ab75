"""Command line: ``python -m generator {generate,check,lock,dump-schema,api-diff,bump}``.

Errors in the input print one line ``FILE#/pointer: message`` (plus a hint)
and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import types
from pathlib import Path

from . import write
from .errors import GeneratorError
from .load import load_inputs
from .pipeline import generate

DEFAULT_SCHEMA_DIR = Path("schemas/app-server")
DEFAULT_OUTPUT_DIR = Path("output")

DESCRIPTION = """\
Generate the codex_app_server SDK (output/src/codex_app_server/generated/)
from the Codex app-server JSON Schema (schemas/app-server/, verified against
schemas/schema.lock) and the method manifest (schemas/methods.toml)."""

EPILOG = """\
by task (in parentheses: the nox session that runs it):
  after a manifest, template or generator change
      python -m generator generate                      (nox -s generate)
  fail when output/ is stale (CI)
      python -m generator check                         (nox -s check)
  move to another codex release: dump, lock, regenerate, check, API diff
      python -m generator bump VERSION                  (nox -s bump -- VERSION)
  the public API diff of the working tree against the merge base with main
      python -m generator api-diff --against-git        (nox -s api-diff)
  re-dump the pinned codex's schema into schemas/app-server (+ -experimental)
      python -m generator dump-schema --codex-version 0.163.0  (nox -s schema)

exit status: 0 ok; 1 drift (check) or a breaking change (api-diff
--fail-on-breaking); 2 bad input, reported as one line `FILE#/pointer: what
is wrong` plus a hint, never a traceback.

`python -m generator COMMAND --help` shows the options of a command."""


def _paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schema-dir", type=Path, default=DEFAULT_SCHEMA_DIR, help="schema dump dir (default: %(default)s)"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="package dir (default: %(default)s)"
    )
    parser.add_argument("--lock", type=Path, default=None, help="lock file (default: SCHEMA_DIR/../schema.lock)")
    parser.add_argument(
        "--manifest", type=Path, default=None, help="method manifest (default: SCHEMA_DIR/../methods.toml)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m generator",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    gen = sub.add_parser(
        "generate",
        help="regenerate output/ from the schema (atomic write)",
        description="Render every generated module and replace output/src/codex_app_server/generated/ at once "
        "(nothing is written when an input is bad). Prints a summary: models, methods, notifications, "
        "server requests, time.",
    )
    _paths(gen)
    chk = sub.add_parser(
        "check",
        help="fail (exit 1) if output/ differs from a fresh generation (drift)",
        description="Generate in memory and compare with output/: exit 1 with a diff of every stale file, "
        "0 when output/ is up to date. Writes nothing.",
    )
    _paths(chk)
    lock = sub.add_parser(
        "lock",
        help="write SCHEMA_DIR/../schema.lock for a schema dump",
        description="Record the codex version and the sha256 of every schema file in SCHEMA_DIR/../schema.lock; "
        "generate and check refuse a schema dir that does not match its lock.",
    )
    lock.add_argument(
        "--schema-dir", type=Path, default=DEFAULT_SCHEMA_DIR, help="schema dump dir (default: %(default)s)"
    )
    lock.add_argument("--codex-version", required=True, help="the codex release the dump came from, e.g. 0.163.0")
    _protocol_commands(sub)
    return parser


def _protocol_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """dump-schema, api-diff and bump: moving between codex releases (generator.bump, generator.api_diff)."""
    dump = sub.add_parser(
        "dump-schema",
        help="dump the codex binary's schema into SCHEMA_DIR and lock it",
        description="Run `codex app-server generate-json-schema` (and again with --experimental) with the codex "
        "binary ($CODEX_BIN, else the installed openai-codex-cli-bin package), check its version, and replace "
        "SCHEMA_DIR, SCHEMA_DIR-experimental (the experimental dump's two bundles) and their schema.lock together.",
    )
    dump.add_argument("--codex-version", required=True, help="the version `codex --version` must report")
    dump.add_argument(
        "--schema-dir", type=Path, default=DEFAULT_SCHEMA_DIR, help="where to write the dump (default: %(default)s)"
    )
    diff = sub.add_parser(
        "api-diff",
        help="public API changes between two schema dirs or git refs",
        description="Compare what a user of the SDK sees, generated from two schemas: client and wrapper methods "
        "and their keywords, models and fields, enum and literal values, notifications and server requests; "
        "every change is marked breaking or not. Markdown by default, JSON with --json.",
    )
    diff.add_argument("old", nargs="?", help="schema dir (schema.lock beside it) or git ref")
    diff.add_argument("new", nargs="?", help="schema dir or git ref")
    diff.add_argument(
        "--against-git",
        nargs="?",
        const="",
        default=None,
        metavar="REF",
        help="compare the working tree's schemas/ with REF's (default: merge base with main, else HEAD~1)",
    )
    diff.add_argument("--schema-dir", type=Path, default=DEFAULT_SCHEMA_DIR, help="working tree schema (--against-git)")
    diff.add_argument("--manifest", type=Path, default=None, help="manifest for a side without one beside it")
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.add_argument("--fail-on-breaking", action="store_true", help="exit 1 when a change is breaking")
    bump = sub.add_parser(
        "bump",
        help="move schemas/ and output/ to another codex release (see generator/bump.py)",
        description="Install openai-codex-cli-bin==VERSION in a temporary venv, dump and lock its schema, "
        "regenerate, check, lint and typecheck in a staging copy, write the API diff, then swap the result "
        "into the tree (untouched when any step fails). Prints progress per step.",
    )
    bump.add_argument("version", help="codex version, e.g. 0.163.0")
    bump.add_argument(
        "--prune-manifest", action="store_true", help="park manifest entries of methods the release lacks"
    )
    bump.add_argument("--codex-bin", type=Path, default=None, help="use this codex binary instead of installing")
    bump.add_argument("--pip-option", action="append", default=[], help="extra pip install option (repeatable)")
    bump.add_argument("--root", type=Path, default=Path("."), help="the repository root (default: .)")


def _protocol_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import api_diff, bump

    if args.command == "dump-schema":
        lock = bump.dump_schema(args.schema_dir, args.codex_version)
        print(f"dumped codex {args.codex_version} into {args.schema_dir} and wrote {lock}")
        return 0
    if args.command == "bump":
        result = bump.bump(
            args.root,
            args.version,
            prune_manifest=args.prune_manifest,
            codex_bin=args.codex_bin,
            pip_options=args.pip_option,
        )
        changed = ", ".join(result.changed) or "nothing (already there)"
        print(
            f"bumped codex {result.old_version} -> {result.new_version} (SDK {result.sdk_version}); replaced: {changed}"
        )
        print(f"API diff ({result.summary}): {result.diff_path}")
        return 0
    return _api_diff(args, api_diff, parser)


def _api_diff(args: argparse.Namespace, api_diff: types.ModuleType, parser: argparse.ArgumentParser) -> int:
    fallback = args.manifest or args.schema_dir.parent / "methods.toml"
    with tempfile.TemporaryDirectory(prefix="api-diff-") as tmp:
        if args.against_git is not None:
            if args.old or args.new:
                parser.error("api-diff: give either OLD NEW or --against-git [REF], not both")
            repo = Path(".").resolve()
            ref = args.against_git or api_diff.default_ref(repo)
            commit = api_diff.resolve_ref(ref, repo)
            if commit is None:
                if args.against_git:
                    parser.error(f"api-diff: --against-git {ref}: no such git ref")
                print(f"api-diff: no {ref} to compare with (first commit?): nothing to diff")
                return 0
            dest = Path(tmp) / commit
            if not api_diff.checkout_schemas(commit, repo, dest):
                print(f"api-diff: {ref} has no schemas/app-server: nothing to diff")
                return 0
            generator_root = api_diff.checkout_generator(commit, repo, dest)
            old = api_diff.side_of_dir(dest / "schemas" / "app-server", fallback, generator_root)
            new = api_diff.side_of_dir(args.schema_dir, fallback)
            print(f"api-diff: {ref} ({commit[:12]}) -> working tree", file=sys.stderr)
        else:
            if not (args.old and args.new):
                parser.error("api-diff: give OLD and NEW (schema dirs or git refs), or --against-git [REF]")
            old = api_diff.side_of(args.old, Path("."), fallback, Path(tmp))
            new = api_diff.side_of(args.new, Path("."), fallback, Path(tmp))
        report = api_diff.diff_apis(api_diff.load_api(old), api_diff.load_api(new))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.to_markdown(), end="")
    return 1 if args.fail_on_breaking and report.breaking else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in ("dump-schema", "api-diff", "bump"):
            return _protocol_command(args, parser)
        if args.command == "lock":
            path = write.write_lock(args.schema_dir, args.codex_version)
            print(f"wrote {path}")
            return 0
        inputs = load_inputs(args.schema_dir, args.lock, args.manifest)
        result = generate(inputs)
        if args.command == "generate":
            write.write_output(args.output_dir, result.files)
            print(f"generated {result.summary()}")
            return 0
        drift = write.drift(args.output_dir, result.files)
        if drift:
            print("generated output is out of date (regenerate with `python -m generator generate`):", file=sys.stderr)
            for line in drift:
                print(f"  {line}", file=sys.stderr)
            return 1
        print(f"output is up to date: {result.summary()}")
        return 0
    except GeneratorError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return 2
