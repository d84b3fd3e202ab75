"""Stage 4b: render view objects with Jinja2.

StrictUndefined turns a template typo into an error; autoescape is off
because the output is Python, and every schema string was already made a
safe literal by :mod:`generator.pyexpr`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from .pyexpr import pyrepr

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=4)
def environment(template_dir: Path = TEMPLATE_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Schema strings placed in templates (e.g. JSON-RPC method names) must go
    # through this filter: it makes a safe Python literal of any text.
    env.filters["pyrepr"] = pyrepr
    env.filters["code"] = markdown_code
    return env


def markdown_code(text: str) -> str:
    """A Markdown code span that survives backticks inside ``text``."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
