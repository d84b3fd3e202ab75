"""The workflows call what exists and pin what they run (actionlint checks the rest, in `nox -s lint`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
NOX_SESSION = re.compile(r"python -m nox -s ((?:\"[^\"]+\"|[A-Za-z][\w.-]*)(?:[ ]+[A-Za-z][\w.-]*)*)")


def test_the_three_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["bump.yml", "ci.yml", "release.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(workflow: Path) -> None:
    uses = [m for m in map(USES.match, workflow.read_text(encoding="utf-8").splitlines()) if m]
    assert uses, f"{workflow.name} uses no action?"
    for match in uses:
        ref, rest = match.group(1), match.group(2)
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{workflow.name}: {ref} is not pinned by SHA"
        assert re.fullmatch(r"\s+# v\d+(\.\d+)*", rest), f"{workflow.name}: {ref} has no `# vX.Y.Z` comment"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_says_its_permissions_and_the_workflow_grants_none(workflow: Path) -> None:
    text = workflow.read_text(encoding="utf-8")
    assert "\npermissions: {}\n" in text
    jobs = re.findall(r"^  ([\w-]+):\n((?:    .*\n|\n)*)", text.split("\njobs:\n", 1)[1], flags=re.M)
    assert jobs
    for name, body in jobs:
        assert "\n    permissions:" in "\n" + body, f"{workflow.name}: job {name} has no permissions block"


def test_the_sessions_the_workflows_run_are_sessions_of_the_noxfile() -> None:
    noxfile = (REPO_ROOT / "noxfile.py").read_text(encoding="utf-8")
    defined = set(re.findall(r'@nox\.session\([^)]*name="([\w-]+)"', noxfile))
    defined |= set(re.findall(r"@nox\.session(?:\([^)]*\))?\ndef (\w+)\(", noxfile))
    for workflow in WORKFLOWS:
        for match in NOX_SESSION.finditer(workflow.read_text(encoding="utf-8")):
            for session in re.findall(r'"[^"]+"|\S+', match.group(1)):
                name = session.strip('"')
                name = re.sub(r"-\$\{\{ matrix\.python \}\}$", "", name)
                assert name in defined, f"{workflow.name} runs `nox -s {name}`, which the noxfile lacks"


def test_publishing_uses_trusted_publishing_and_attests_what_it_uploads() -> None:
    text = (REPO_ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    publish = text.split("\n  publish:\n", 1)[1]
    assert "id-token: write" in publish and "attestations: write" in publish
    assert "pypa/gh-action-pypi-publish@" in publish and "actions/attest-build-provenance@" in publish
    assert "password" not in publish and "secrets." not in text  # no stored token
    check = text.split("\n  check:\n", 1)[1].split("\n  publish:\n", 1)[0]
    assert check.index("tag-check") < check.index("nox -s release-check")
