"""``python -m generator.automation COMMAND``: the steps the workflows run, runnable by hand.

Exit status: 0 done; 1 the check said no (tag mismatch); 2 bad input or the index could not be asked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from . import bump_check, index, pr_comment, release

DEFAULT_LOCK = Path("schemas/schema.lock")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generator.automation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("bump-check", help="is a codex release newer than schemas/schema.lock out? (prints)")
    check.add_argument("--lock", type=Path, default=DEFAULT_LOCK, help="default: %(default)s")
    check.add_argument(
        "--index-answer",
        type=Path,
        help="read the index's answer (what `pip index versions` prints) from this file instead of asking",
    )
    check.add_argument("--github-output", type=Path, help="append bump/version/branch/title/report (workflow outputs)")

    report = commands.add_parser("pr-report", help="the API-diff comment of a pull request and its verdict")
    report.add_argument("--base", required=True, help="git ref of the pull request's base")
    report.add_argument("--base-label", help="how the comment names the base (default: --base)")
    report.add_argument("--labels-json", default="[]", help="the pull request's label names as a JSON list")
    report.add_argument("--out", type=Path, default=Path("build/pr-report"), help="directory (default: %(default)s)")
    report.add_argument("--github-output", type=Path, help="append breaking/accepted/blocks (workflow outputs)")

    find = commands.add_parser("find-comment", help="print the id of the API-diff comment among a PR's comments")
    find.add_argument("comments", type=Path, help="the comments as JSON (an array, or one object per line)")

    tag = commands.add_parser("tag-check", help="fail unless the tag is v + the version in _version.py")
    tag.add_argument("tag", help="the pushed tag, e.g. v0.163.0 (or refs/tags/v0.163.0)")
    tag.add_argument("--version-file", type=Path, default=release.VERSION_FILE, help="default: %(default)s")
    return parser


def _append_outputs(path: Path | None, outputs: dict[str, str]) -> None:
    if path is None:
        return
    with path.open("a", encoding="utf-8") as out:
        for key, value in outputs.items():
            out.write(f"{key}={value}\n")


def _bump_check(args: argparse.Namespace) -> int:
    current = bump_check.locked_version(args.lock)
    if args.index_answer is not None:
        answer = args.index_answer.read_text(encoding="utf-8")
    else:
        answer = index.ask_index(bump_check.PACKAGE)
    decision = bump_check.BumpDecision(current=current, newest=index.newest_release(index.available_versions(answer)))
    print(decision.describe())
    _append_outputs(args.github_output, decision.github_outputs())
    return 0


def _api_diff(base: str, *extra: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "api-diff", "--against-git", base, *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"api-diff against {base} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _pr_report(args: argparse.Namespace) -> int:
    labels = json.loads(args.labels_json)
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ValueError(f"--labels-json: expected a JSON list of label names, got {args.labels_json!r}")
    markdown = _api_diff(args.base)
    try:  # "nothing to diff" (the base has no schema) is a sentence, not a report
        breaking = int(json.loads(_api_diff(args.base, "--json"))["breaking"])
    except json.JSONDecodeError:
        breaking = 0
    result = pr_comment.verdict(breaking, labels)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "comment.md").write_text(
        pr_comment.render_comment(markdown, result, args.base_label or args.base), encoding="utf-8"
    )
    print(result.status_line())
    _append_outputs(
        args.github_output,
        {"breaking": str(breaking), "accepted": str(result.accepted).lower(), "blocks": str(result.blocks).lower()},
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "bump-check":
            return _bump_check(args)
        if args.command == "pr-report":
            return _pr_report(args)
        if args.command == "find-comment":
            found = pr_comment.find_marked_comment(pr_comment.load_comments(args.comments.read_text(encoding="utf-8")))
            print("" if found is None else found)
            return 0
        problem = release.tag_problem(args.tag, release.read_version(args.version_file))
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        print(f"tag {args.tag} matches the package version")
        return 0
    except (index.IndexQueryError, OSError, ValueError, KeyError, RuntimeError) as exc:
        print(f"error: {args.command}: {exc}", file=sys.stderr)
        return 2
