"""What the GitHub workflows (.github/workflows/) decide, as small tested functions.

Standard library only: the workflows call these with a bare Python
(``python -m generator.automation --help``), and every decision runs the
same way on a developer's machine.

* :mod:`.index`: the newest final release of a package on the package index.
* :mod:`.bump_check`: is there a codex release newer than ``schemas/schema.lock``?
* :mod:`.pr_comment`: the API-diff comment of a pull request, the hidden marker
  that finds it again, and whether its breaking changes are accepted.
* :mod:`.release`: a release tag must name the version in ``_version.py``.
"""
