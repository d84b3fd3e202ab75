"""Loading both sides of the API diff: a schema dir, or a git ref's schemas built by its own generator."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .. import ir
from ..errors import GeneratorError, Location
from ..load import LOCK_NAME, MANIFEST_NAME, load_inputs
from ..pipeline import build_api


@dataclass(frozen=True)
class Side:
    """A schema dump plus the lock and manifest to read it with."""

    schema_dir: Path
    lock: Path
    manifest: Path
    # A checkout of a git ref whose own generator/ builds this side: then a
    # change of the generator itself (a naming rule) shows in the diff too.
    generator_root: Path | None = None


def side_of_dir(schema_dir: Path, fallback_manifest: Path, generator_root: Path | None = None) -> Side:
    """A schema dir with schema.lock beside it; its own methods.toml if it has one, else the fallback."""
    own = schema_dir.parent / MANIFEST_NAME
    manifest = own if own.is_file() else fallback_manifest
    return Side(schema_dir, schema_dir.parent / LOCK_NAME, manifest, generator_root)


# Run by the git ref's own generator (in a subprocess, with that checkout
# first on the path): the same two calls on every version of the generator.
_BUILD_WITH_OWN_GENERATOR = """
import pickle, sys
from pathlib import Path
from generator.load import load_inputs
from generator.pipeline import build_api
api = build_api(load_inputs(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
sys.stdout.buffer.write(pickle.dumps(api))
"""


def load_api(side: Side) -> ir.Api:
    """The API of a side: built by the side's own generator when it has one, else by this one."""
    if side.generator_root is not None:
        api = _load_api_with_own_generator(side, side.generator_root)
        if api is not None:
            return api
    return build_api(load_inputs(side.schema_dir, side.lock, side.manifest))


def _load_api_with_own_generator(side: Side, root: Path) -> ir.Api | None:
    """None (with a note on stderr) when that generator cannot build it: this one then does."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    args = [sys.executable, "-c", _BUILD_WITH_OWN_GENERATOR, str(side.schema_dir), str(side.lock), str(side.manifest)]
    try:
        proc = subprocess.run(args, cwd=root, env=env, capture_output=True, timeout=300, check=False)
        if proc.returncode == 0:
            api = pickle.loads(proc.stdout)  # noqa: S301 - our own generator's output, from our own git history
            if isinstance(api, ir.Api):
                return api
        reason = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no API"]
    except (OSError, subprocess.TimeoutExpired, pickle.UnpicklingError, AttributeError, ImportError) as exc:
        reason = [str(exc)]
    print(
        f"api-diff: the ref's own generator could not build its API ({reason[0]}); using the working tree's",
        file=sys.stderr,
    )
    return None


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120, check=False)
    except FileNotFoundError:
        raise GeneratorError(Location("git"), "git is not installed") from None


def resolve_ref(ref: str, repo: Path) -> str | None:
    """The commit id of ``ref``, or None if it does not exist."""
    proc = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def default_ref(repo: Path) -> str:
    """The merge base with ``main`` when on another line of history, else ``HEAD~1``."""
    head = resolve_ref("HEAD", repo)
    if head and resolve_ref("main", repo):
        proc = _git(["merge-base", "HEAD", "main"], repo)
        base = proc.stdout.decode().strip()
        if proc.returncode == 0 and base and base != head:
            return base
    return "HEAD~1"


def checkout_schemas(ref: str, repo: Path, dest: Path, schemas: str = "schemas") -> bool:
    """Write ``schemas/`` of ``ref`` into ``dest``; False if ``ref`` has no schema dump."""
    return any(path.parts[1:2] == ("app-server",) for path in _checkout(ref, repo, dest, schemas))


def checkout_generator(ref: str, repo: Path, dest: Path) -> Path | None:
    """Write ``generator/`` of ``ref`` into ``dest``; ``dest`` if it is a generator package, else None."""
    files = _checkout(ref, repo, dest, "generator")
    return dest if PurePosixPath("generator", "pipeline.py") in files else None


def _checkout(ref: str, repo: Path, dest: Path, top: str) -> set[PurePosixPath]:
    """Write the regular files under ``top/`` of ``ref`` into ``dest``; the paths written.

    One ``git archive`` instead of a ``git show`` per file (40 of them): the
    same bytes, 25x faster.
    """
    proc = _git(["archive", "--format=tar", ref, "--", top], repo)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        if "did not match any files" in message:
            return set()
        raise GeneratorError(Location(ref), f"git archive failed: {message}")
    written: set[PurePosixPath] = set()
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        for member in archive.getmembers():
            name = PurePosixPath(member.name)
            if not member.isfile() or name.parts[0] != top or ".." in name.parts:
                continue
            extracted = archive.extractfile(member)
            assert extracted is not None
            path = dest.joinpath(*name.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(extracted.read())
            written.add(name)
    return written


def side_of(spec: str, repo: Path, fallback_manifest: Path, tmp: Path) -> Side:
    """OLD/NEW of the command line: a schema dir, else a git ref whose ``schemas/`` is checked out into ``tmp``."""
    if Path(spec).is_dir():
        return side_of_dir(Path(spec), fallback_manifest)
    commit = resolve_ref(spec, repo)
    if commit is None:
        raise GeneratorError(Location(spec), "neither a schema dir nor a git ref")
    dest = tmp / commit
    if not checkout_schemas(commit, repo, dest):
        raise GeneratorError(Location(spec), "this git ref has no schemas/app-server")
    return side_of_dir(dest / "schemas" / "app-server", fallback_manifest, checkout_generator(commit, repo, dest))
