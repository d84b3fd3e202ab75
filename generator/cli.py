"""Command line: ``python -m generator {generate,check,lock,api-diff}``.

Errors in the input print one line ``FILE#/pointer: message`` (plus a hint)
and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import write
from .errors import GeneratorError
from .load import load_inputs
from .pipeline import generate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA_DIR = Path("schemas/app-server")
DEFAULT_OUTPUT_DIR = Path("output")


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
        description="Generate the codex_app_server SDK from the app-server JSON Schema and the method manifest.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="regenerate output/ from the schema (atomic write)")
    _paths(gen)
    chk = sub.add_parser("check", help="fail (exit 1) if output/ differs from a fresh generation (drift)")
    _paths(chk)
    lock = sub.add_parser("lock", help="write SCHEMA_DIR/../schema.lock for a schema dump")
    lock.add_argument("--schema-dir", type=Path, default=DEFAULT_SCHEMA_DIR)
    lock.add_argument("--codex-version", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
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
