"""Move the SDK to another codex release in one command: ``python -m generator bump VERSION``.

Steps (each timed on stderr; nothing in the tree changes before the last one):

1. install ``openai-codex-cli-bin==VERSION`` into a temporary venv;
2. dump its schema (``codex app-server generate-json-schema``) into a staging
   copy of ``schemas/`` and lock it;
3. bring the manifest along (see "Manifest entries for vanished methods");
4. regenerate into a staging copy of ``output/`` and set the version
   everywhere it lives (below);
5. check (drift), lint (ruff check, ruff format --check, black --check) and
   typecheck (mypy --strict) the staged package;
6. compute the public API diff old -> new and write it to
   ``build/api-diff/api-diff-OLD-to-NEW.md`` (+ ``.json``; ``build/`` is
   gitignored, the path is printed);
7. swap every changed file and directory into the tree (:class:`Swap`:
   everything is first copied beside its target, then renamed in one quick
   sequence that is rolled back if a rename fails).

A version that does not exist, a failed download, a failing dump, a manifest
that no longer fits or a failing check is one clear message (exit 2) and the
tree is left untouched.

Versioning: the SDK version IS the codex version whose schema generated it
(``X.Y.Z``; SDK-only fixes add a fourth part ``X.Y.Z.N``, see
``output/src/codex_app_server/_version.py``). A bump to another codex version
sets the SDK version to exactly VERSION; a re-bump to the current codex
version keeps an existing ``X.Y.Z.N``. The version lives in four places,
rewritten together: ``schemas/schema.lock`` (``codex_version``),
``_version.py`` (``__version__``), ``output/pyproject.toml`` (the ``[bin]``
extra ``openai-codex-cli-bin==VERSION``) and ``noxfile.py``
(``CODEX_VERSION = "..."``).

Manifest entries for vanished methods (a downgrade, or an upstream removal):
the generator rejects a manifest entry for a method the schema does not have
(a silent skip would hide a real mistake). A bump therefore stops, naming
every such entry. With ``--prune-manifest`` it instead *parks* the entries of
the tables that only tune a method (``[responses]``, ``[method_names]``,
``[server_requests.*]``): each of their lines is commented out in place as
``#parked[METHOD] <original line>``. Every bump un-parks the lines of methods
the new schema has again, restoring them byte for byte, so
``bump 0.144.4 --prune-manifest`` followed by ``bump 0.163.0`` gives back the
original manifest. Deleting the entries instead would lose them for the way
back. ``[[wrappers]]`` entries are public API decisions, never parked: one
that calls a vanished method or param stays a hard error from the generator.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from . import api_diff, write
from .errors import GeneratorError
from .experimental import envelope_methods
from .load import (
    EXPERIMENTAL_FILES,
    LOCK_NAME,
    MANIFEST_NAME,
    MANIFEST_SCHEMA_NAME,
    SchemaDef,
    experimental_dir,
    load_inputs,
    render_lock,
    schema_files,
)
from .pipeline import GENERATED_PACKAGE, build_api, generate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

PACKAGE = "openai-codex-cli-bin"
# What a codex release version looks like on the package index (0.163.0, 0.133.0a3).
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?$")
SDK_VERSION_FILE = "output/src/codex_app_server/_version.py"
SDK_PYPROJECT = "output/pyproject.toml"
NOXFILE = "noxfile.py"
SCHEMA_DIR = "schemas/app-server"
DIFF_DIR = "build/api-diff"
INSTALL_TIMEOUT = 1800.0  # a codex wheel is ~90 MB; slow links need the time
COMMAND_TIMEOUT = 600.0
# Caches and build leftovers never copied into the staging tree.
_STAGING_IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.egg-info", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".generate-*", "build", "dist"
)


# ---------------------------------------------------------------- progress


class Progress:
    """Step name and seconds on stderr, so a slow step is visible while it runs."""

    def __init__(self, prefix: str = "bump", stream: TextIO | None = None):
        self.prefix = prefix
        self.stream = stream

    def note(self, text: str) -> None:
        print(f"[{self.prefix}] {text}", file=self.stream or sys.stderr, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.note(f"{name} ...")
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self.note(f"{name}: FAILED after {time.perf_counter() - start:.1f} s")
            raise
        self.note(f"{name}: done in {time.perf_counter() - start:.1f} s")


# ---------------------------------------------------------------- subprocesses


def _run(args: Sequence[str], *, what: str, timeout: float = COMMAND_TIMEOUT, **kwargs: object) -> str:
    """Run a command; its failure becomes a GeneratorError quoting the tail of its output."""
    try:
        proc = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,  # type: ignore[call-overload]
        )
    except FileNotFoundError:
        raise GeneratorError(None, f"{what}: {args[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise GeneratorError(None, f"{what}: no result after {timeout:.0f} s (killed)") from None
    if proc.returncode != 0:
        raise GeneratorError(None, f"{what} failed (exit {proc.returncode}):\n{_tail(proc.stdout + proc.stderr)}")
    return str(proc.stdout)


def _tail(text: str, lines: int = 25) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in kept)


# ---------------------------------------------------------------- the codex binary


def find_codex_binary() -> Path:
    """``$CODEX_BIN``, else the binary of the installed ``openai-codex-cli-bin``."""
    env = os.environ.get("CODEX_BIN")
    if env:
        path = Path(env)
        if not path.is_file():
            raise GeneratorError(
                None, f"CODEX_BIN={env} does not exist", "point CODEX_BIN at a codex binary or unset it"
            )
        return path
    try:
        import codex_cli_bin

        return Path(codex_cli_bin.bundled_codex_path())
    except ImportError:
        raise GeneratorError(
            None,
            "no codex binary: set CODEX_BIN or install openai-codex-cli-bin",
            "`nox -s schema` installs the pinned openai-codex-cli-bin and runs this command",
        ) from None
    except (FileNotFoundError, OSError) as exc:
        raise GeneratorError(None, f"openai-codex-cli-bin is installed but broken: {exc}") from None


def codex_version(binary: Path) -> str:
    """The version ``codex --version`` reports (``codex-cli 0.163.0`` -> ``0.163.0``)."""
    out = _run([str(binary), "--version"], what=f"{binary} --version", timeout=60)
    words = out.split()
    if not words:
        raise GeneratorError(None, f"{binary} --version printed nothing")
    return words[-1]


def check_codex_version(binary: Path, expected: str) -> None:
    found = codex_version(binary)
    if found != expected:
        raise GeneratorError(
            None,
            f"codex at {binary} is version {found}, expected {expected}",
            f"install openai-codex-cli-bin=={expected} or point CODEX_BIN at that version",
        )


def dump_schema_to(binary: Path, out_dir: Path, *, experimental: bool = False) -> None:
    """Run the binary's schema dump (``--experimental``: with the experimental API) into the new, empty ``out_dir``.

    CODEX_HOME and HOME point at an empty temp dir so a user's config cannot
    change what is dumped.
    """
    flags = ["--experimental"] if experimental else []
    with tempfile.TemporaryDirectory(prefix="codex-home-") as home:
        env = {**os.environ, "CODEX_HOME": home, "HOME": home}
        _run(
            [str(binary), "app-server", "generate-json-schema", *flags, "--out", str(out_dir)],
            what=f"codex app-server generate-json-schema {' '.join(flags)}".strip(),
            env=env,
        )
    if not any(out_dir.rglob("*.json")):
        raise GeneratorError(None, f"codex app-server generate-json-schema wrote no schema files into {out_dir}")


def dump_schemas_to(binary: Path, schema_dir: Path, version: str) -> str:
    """The stable dump into ``schema_dir``, the experimental one's bundles beside it; returns the lock text.

    Of the experimental dump only the bundles the generator reads are kept
    (:data:`~generator.load.EXPERIMENTAL_FILES`): the per-method files repeat them.
    """
    dump_schema_to(binary, schema_dir)
    with tempfile.TemporaryDirectory(prefix="codex-schema-experimental-") as tmp:
        whole = Path(tmp) / "dump"
        dump_schema_to(binary, whole, experimental=True)
        target = experimental_dir(schema_dir)
        target.mkdir(parents=True)
        for name in EXPERIMENTAL_FILES:
            if not (whole / name).is_file():
                raise GeneratorError(None, f"the --experimental schema dump has no {name}")
            shutil.copy2(whole / name, target / name)
    return render_lock(version, schema_files(schema_dir), schema_files(experimental_dir(schema_dir)))


def install_codex(version: str, venv_dir: Path, pip_options: Sequence[str] = ()) -> Path:
    """Install ``openai-codex-cli-bin==version`` into a new venv; return its codex binary."""
    _run([sys.executable, "-m", "venv", str(venv_dir)], what="creating a temporary venv", timeout=300)
    python = venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    args = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *pip_options]
    proc = subprocess.run(
        [*args, f"{PACKAGE}=={version}"], capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
    )
    if proc.returncode != 0:
        raise _install_error(version, proc.stdout + proc.stderr)
    locate = "import codex_cli_bin; print(codex_cli_bin.bundled_codex_path())"
    return Path(_run([str(python), "-c", locate], what=f"locating the codex binary of {PACKAGE}=={version}").strip())


_NETWORK_ERRORS = (
    "Connection refused",
    "NewConnectionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ProxyError",
    "SSLError",
    "Read timed out",
    "ConnectTimeoutError",
    "Network is unreachable",
)


def _install_error(version: str, output: str) -> GeneratorError:
    """A missing version and a failed download are different problems with different fixes.

    pip reports an unreachable index as "no matching distribution" too, so
    network errors are looked for first.
    """
    if any(marker in output for marker in _NETWORK_ERRORS):
        return GeneratorError(
            None,
            f"downloading {PACKAGE}=={version} failed (the package index is unreachable):\n{_tail(output, 8)}",
            "check the network/proxy and retry; pip's cache keeps what was already downloaded",
        )
    if "No matching distribution found" in output or "Could not find a version" in output:
        found = re.search(r"\(from versions: ([^)]*)\)", output)
        available = found.group(1).strip() if found else "none"
        if available == "none":  # the package exists: seeing no release at all means no index was reached
            return GeneratorError(
                None,
                f"no {PACKAGE} release is visible on the package index, so {version} cannot be installed",
                "the index is unreachable or misconfigured (network, proxy, --index-url); check and retry",
            )
        return GeneratorError(
            None,
            f"{PACKAGE}=={version} does not exist on the package index (available: {available})",
            "pick a released codex version, e.g. the latest one listed",
        )
    return GeneratorError(
        None,
        f"installing {PACKAGE}=={version} failed (download or install error):\n{_tail(output)}",
        "check the network/proxy and retry; pip's cache keeps what was already downloaded",
    )


# ---------------------------------------------------------------- swapping into the tree


@dataclass
class Swap:
    """Replace several files and directories of the tree together.

    ``file``/``directory`` copy the new content beside its target (same file
    system, hidden name); ``commit`` then renames them over the targets one
    after the other, rolling back the renames already done if one fails.
    Nothing in the tree changes before ``commit``.
    """

    pending: list[tuple[Path, Path]] = field(default_factory=list)  # (staged sibling, target)

    def file(self, target: Path, content: bytes) -> None:
        if target.is_file() and target.read_bytes() == content:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        if target.exists():
            shutil.copymode(target, name)
        else:  # mkstemp makes 0600 files; a new file gets the usual mode
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(name, 0o666 & ~umask)
        self.pending.append((Path(name), target))

    def directory(self, target: Path, source: Path) -> None:
        if target.is_dir() and _same_tree(target, source):
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent))
        staged.rmdir()
        shutil.copytree(source, staged, ignore=_STAGING_IGNORE)
        self.pending.append((staged, target))

    @property
    def targets(self) -> list[Path]:
        return [target for _, target in self.pending]

    def commit(self) -> None:
        done: list[tuple[Path, Path | None]] = []  # (target, its previous content moved aside)
        try:
            for staged, target in self.pending:
                old: Path | None = None
                if target.exists():
                    old = target.with_name(f".{target.name}.old-{os.getpid()}")
                    _remove(old)
                    os.replace(target, old)
                done.append((target, old))
                os.replace(staged, target)
        except BaseException:
            for target, old in reversed(done):
                _remove(target)
                if old is not None:
                    os.replace(old, target)
            self.abort()
            raise
        for _, old in done:
            if old is not None:
                _remove(old)
        self.pending.clear()

    def abort(self) -> None:
        for staged, _ in self.pending:
            _remove(staged)
        self.pending.clear()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _same_tree(a: Path, b: Path) -> bool:
    return _tree_files(a) == _tree_files(b)


def _tree_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` except interpreter caches, keyed by relative POSIX path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


# ---------------------------------------------------------------- dump-schema


def dump_schema(schema_dir: Path, version: str, binary: Path | None = None, progress: Progress | None = None) -> Path:
    """Dump the codex schema into ``schema_dir`` and write the lock beside it, together.

    Returns the lock path. The dump goes to a temp dir first; a failing dump
    leaves the previous schema and lock untouched.
    """
    progress = progress or Progress("dump-schema")
    binary = binary or find_codex_binary()
    check_codex_version(binary, version)
    with tempfile.TemporaryDirectory(prefix="codex-schema-") as tmp:
        out = Path(tmp) / "app-server"
        with progress.step(f"dump schema of codex {version} (stable and --experimental)"):
            lock_text = dump_schemas_to(binary, out, version)
        swap = Swap()
        try:
            swap.directory(schema_dir, out)
            swap.directory(experimental_dir(schema_dir), experimental_dir(out))
            lock = schema_dir.parent / LOCK_NAME
            swap.file(lock, lock_text.encode())
            swap.commit()
        finally:
            swap.abort()
    return schema_dir.parent / LOCK_NAME


# ---------------------------------------------------------------- manifest parking

PARKABLE_TABLES = ("responses", "method_names", "server_requests")
_PARKED = re.compile(r"^#parked\[(?P<method>[^\]]+)\] (?P<line>.*)$")
_HEADER = re.compile(r"^\s*\[(?!\[)")


@dataclass(frozen=True)
class ManifestEntry:
    """A manifest line that tunes a method: where it is and which method it names."""

    line: int  # 1-based
    table: str
    method: str
    text: str


def _parse_toml_line(line: str) -> dict[str, object] | None:
    try:
        return dict(tomllib.loads(line))
    except tomllib.TOMLDecodeError:
        return None


def _header_path(line: str) -> list[str]:
    """``[server_requests."a/b"]`` -> ``["server_requests", "a/b"]`` (TOML quoting handled by tomllib)."""
    doc: object = _parse_toml_line(line)
    path: list[str] = []
    while isinstance(doc, dict) and len(doc) == 1:
        key, doc = next(iter(doc.items()))
        path.append(key)
    return path if doc == {} else ["?"]


def _first_key(line: str) -> str | None:
    doc = _parse_toml_line(line)
    return next(iter(doc)) if doc is not None and len(doc) == 1 else None


def manifest_entries(text: str) -> list[ManifestEntry]:
    """Every line of ``text`` that belongs to a parkable per-method entry.

    ``[responses]``/``[method_names]``/``[server_requests]`` key lines, and
    every key line of a ``[server_requests."METHOD"]`` table (its header
    included). A line that does not parse alone is the continuation of a
    multi-line value and belongs to the entry before it.
    """
    entries: list[ManifestEntry] = []
    table: list[str] = []
    previous: ManifestEntry | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[["):
            table, previous = ["[[array]]"], None
            continue
        if _HEADER.match(stripped):
            table, previous = _header_path(stripped), None
            if len(table) >= 2 and table[0] == "server_requests":
                previous = ManifestEntry(number, "server_requests", table[1], line)
                entries.append(previous)
            continue
        if len(table) >= 2 and table[0] == "server_requests":
            entries.append(ManifestEntry(number, "server_requests", table[1], line))
        elif len(table) == 1 and table[0] in PARKABLE_TABLES:
            key = _first_key(stripped)
            if key is not None:
                previous = ManifestEntry(number, table[0], key, line)
                entries.append(previous)
            elif previous is not None:
                entries.append(ManifestEntry(number, previous.table, previous.method, line))
    return entries


def stale_entries(text: str, client_methods: frozenset[str], server_methods: frozenset[str]) -> list[ManifestEntry]:
    """Entries for methods the schema does not have (the table says which kind of method)."""
    known = {"responses": client_methods, "method_names": client_methods, "server_requests": server_methods}
    return [e for e in manifest_entries(text) if e.method not in known[e.table]]


def park(text: str, stale: Sequence[ManifestEntry]) -> str:
    lines = text.splitlines(keepends=True)
    for entry in stale:
        lines[entry.line - 1] = f"#parked[{entry.method}] {lines[entry.line - 1]}"
    return "".join(lines)


def unpark(text: str, methods: frozenset[str]) -> tuple[str, list[str]]:
    """Restore the parked lines of methods in ``methods``; return the text and those methods."""
    restored: list[str] = []
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        found = _PARKED.match(line.rstrip("\r\n"))
        if found and found.group("method") in methods:
            lines[index] = line[len(f"#parked[{found.group('method')}] ") :]
            restored.append(found.group("method"))
    return "".join(lines), sorted(set(restored))


def schema_methods(bundle: Mapping[str, SchemaDef], union: str) -> frozenset[str]:
    """The JSON-RPC methods of an envelope union (``ClientRequest``, ``ServerRequest``) of a bundle."""
    return envelope_methods(bundle, union)


def fit_manifest(
    text: str, client_methods: frozenset[str], server_methods: frozenset[str], *, prune: bool, version: str, where: str
) -> tuple[str, list[str], list[ManifestEntry]]:
    """The manifest for the new schema: (text, un-parked methods, parked entries)."""
    text, restored = unpark(text, client_methods | server_methods)
    stale = stale_entries(text, client_methods, server_methods)
    if stale and not prune:
        listing = "\n".join(f"    {where}:{e.line}: [{e.table}] {e.method!r}" for e in stale)
        raise GeneratorError(
            None,
            f"{len(stale)} manifest entr{'y' if len(stale) == 1 else 'ies'} for methods codex {version} "
            f"does not have:\n{listing}",
            "rerun with --prune-manifest to park them (commented out in place, restored by a later bump "
            "to a version that has them), or edit the manifest by hand",
        )
    return (park(text, stale) if stale else text), restored, stale


# ---------------------------------------------------------------- version files


def _replace_once(text: str, pattern: str, replacement: str, where: str) -> str:
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count != 1:
        raise GeneratorError(
            None, f"{where}: expected exactly one match of {pattern!r}, found {count}", "restore the line by hand"
        )
    return new


def read_sdk_version(text: str, where: str) -> str:
    found = re.search(r'^__version__ = "([^"]*)"$', text, flags=re.MULTILINE)
    if not found:
        raise GeneratorError(None, f'{where}: no `__version__ = "..."` line')
    return found.group(1)


def sdk_version(codex: str, current_sdk: str, current_codex: str) -> str:
    """X.Y.Z of codex; a re-bump to the current codex version keeps an SDK-fix X.Y.Z.N."""
    if codex == current_codex and current_sdk.startswith(codex + "."):
        return current_sdk
    return codex


def set_sdk_version(text: str, version: str, where: str) -> str:
    return _replace_once(text, r'^__version__ = "[^"]*"$', f'__version__ = "{version}"', where)


def set_bin_pin(text: str, version: str, where: str) -> str:
    return _replace_once(text, re.escape(PACKAGE) + r'==[^"\s,\]]+', f"{PACKAGE}=={version}", where)


def set_nox_version(text: str, version: str, where: str) -> str:
    return _replace_once(text, r'^CODEX_VERSION = "[^"]*"', f'CODEX_VERSION = "{version}"', where)


# ---------------------------------------------------------------- checks on the staged tree


def _tool(module: str) -> list[str]:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise GeneratorError(None, f"{module} is not installed here", "run the bump through `nox -s bump -- VERSION`")
    return [sys.executable, "-m", module]


def lint_and_typecheck(stage: Path, progress: Progress) -> None:
    """What `nox -s lint` and `nox -s typecheck` run, on the staged output/ (config: the staged pyproject)."""
    with progress.step("lint the staged output (ruff check, ruff format --check, black --check)"):
        _run([*_tool("ruff"), "check", "--quiet", "output"], what="ruff check", cwd=stage)
        _run([*_tool("ruff"), "format", "--check", "--quiet", "output"], what="ruff format --check", cwd=stage)
        _run([*_tool("black"), "--check", "--quiet", "output"], what="black --check", cwd=stage)
    with progress.step("typecheck the staged package (mypy --strict)"):
        _run(
            [*_tool("mypy"), "--strict", "--cache-dir", str(stage / ".mypy_cache"), "output/src/codex_app_server"],
            what="mypy --strict",
            cwd=stage,
        )


# ---------------------------------------------------------------- the bump


@dataclass(frozen=True)
class BumpResult:
    old_version: str
    new_version: str
    sdk_version: str
    diff_path: Path
    summary: str
    changed: tuple[str, ...]  # paths of the tree that were replaced, relative to the root
    restored: tuple[str, ...]  # methods whose parked manifest entries came back
    parked: tuple[str, ...]  # methods whose manifest entries were parked


def bump(
    root: Path,
    version: str,
    *,
    prune_manifest: bool = False,
    codex_bin: Path | None = None,
    pip_options: Sequence[str] = (),
    progress: Progress | None = None,
) -> BumpResult:
    """Move the tree at ``root`` to codex ``version`` (see the module docstring)."""
    if not VERSION_RE.match(version):
        raise GeneratorError(None, f"{version!r} is not a codex release version", "expected X.Y.Z, e.g. 0.163.0")
    progress = progress or Progress()
    schema_dir, schemas = root / SCHEMA_DIR, root / "schemas"
    manifest = schemas / MANIFEST_NAME
    with progress.step("load the current tree"):
        old_inputs = load_inputs(schema_dir)
        old_api = build_api(old_inputs)
    old_version = old_inputs.bundle.codex_version
    version_file = root / SDK_VERSION_FILE
    current_sdk = read_sdk_version(version_file.read_text(encoding="utf-8"), SDK_VERSION_FILE)
    new_sdk = sdk_version(version, current_sdk, old_version)
    with tempfile.TemporaryDirectory(prefix="codex-bump-") as tmp_name:
        tmp = Path(tmp_name)
        if codex_bin is None:
            with progress.step(f"install {PACKAGE}=={version} into a temporary venv"):
                binary = install_codex(version, tmp / "venv", pip_options)
        else:
            binary = codex_bin
        check_codex_version(binary, version)
        stage = tmp / "tree"
        staged_schema = stage / SCHEMA_DIR
        with progress.step(f"dump the schema of codex {version} (stable and --experimental)"):
            lock_text = dump_schemas_to(binary, staged_schema, version)
            (stage / "schemas" / LOCK_NAME).write_text(lock_text, encoding="utf-8")
            shutil.copy2(schemas / MANIFEST_SCHEMA_NAME, stage / "schemas" / MANIFEST_SCHEMA_NAME)
            old_manifest = manifest.read_text(encoding="utf-8")
            (stage / "schemas" / MANIFEST_NAME).write_text(old_manifest, encoding="utf-8")
        with progress.step("fit the manifest to the new schema"):
            bundle = load_inputs(staged_schema).bundle.definitions
            new_manifest, restored, parked = fit_manifest(
                old_manifest,
                schema_methods(bundle, "ClientRequest"),
                schema_methods(bundle, "ServerRequest"),
                prune=prune_manifest,
                version=version,
                where=f"schemas/{MANIFEST_NAME}",
            )
            for method in restored:
                progress.note(f"manifest: restored the parked entries of {method!r}")
            for entry in parked:
                progress.note(f"manifest: parked line {entry.line} ([{entry.table}] {entry.method!r})")
            (stage / "schemas" / MANIFEST_NAME).write_text(new_manifest, encoding="utf-8")
        with progress.step("regenerate"):
            result = generate(load_inputs(staged_schema))
        with progress.step("stage output/ and set the version"):
            shutil.copytree(root / "output", stage / "output", ignore=_STAGING_IGNORE)
            shutil.copy2(root / "pyproject.toml", stage / "pyproject.toml")  # lint/typecheck configuration
            write.write_output(stage / "output", result.files)
            versioned = {
                SDK_VERSION_FILE: set_sdk_version(version_file.read_text(encoding="utf-8"), new_sdk, SDK_VERSION_FILE),
                SDK_PYPROJECT: set_bin_pin((root / SDK_PYPROJECT).read_text(encoding="utf-8"), version, SDK_PYPROJECT),
                NOXFILE: set_nox_version((root / NOXFILE).read_text(encoding="utf-8"), version, NOXFILE),
            }
            for rel, text in versioned.items():
                (stage / rel).write_text(text, encoding="utf-8")
        with progress.step("check (drift of the staged output)"):
            problems = write.drift(stage / "output", result.files)
            if problems:
                raise GeneratorError(None, "the staged output differs from its generation:\n" + "\n".join(problems[:5]))
        lint_and_typecheck(stage, progress)
        with progress.step(f"API diff {old_version} -> {version}"):
            report = api_diff.diff_apis(old_api, result.api)
        with progress.step("swap into the tree"):
            swap = Swap()
            try:
                swap.directory(schema_dir, staged_schema)
                swap.directory(experimental_dir(schema_dir), experimental_dir(staged_schema))
                swap.file(schemas / LOCK_NAME, lock_text.encode())
                swap.file(manifest, new_manifest.encode())
                swap.directory(root / "output" / GENERATED_PACKAGE, stage / "output" / GENERATED_PACKAGE)
                for rel, content in sorted(result.files.items()):
                    if not rel.startswith(GENERATED_PACKAGE + "/"):
                        swap.file(root / "output" / rel, content.encode())
                for rel, text in versioned.items():
                    swap.file(root / rel, text.encode())
                changed = tuple(sorted(p.relative_to(root).as_posix() for p in swap.targets))
                swap.commit()
            finally:
                swap.abort()
    diff_path = write_diff(root / DIFF_DIR, report)
    return BumpResult(
        old_version,
        version,
        new_sdk,
        diff_path,
        report.summary_line(),
        changed,
        tuple(restored),
        tuple(sorted({e.method for e in parked})),
    )


def write_diff(directory: Path, report: api_diff.Report) -> Path:
    """``api-diff-OLD-to-NEW.md`` and ``.json`` in ``directory``; returns the Markdown path."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"api-diff-{report.old_version}-to-{report.new_version}"
    (directory / f"{stem}.json").write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    path = directory / f"{stem}.md"
    path.write_text(report.to_markdown(), encoding="utf-8")
    return path
