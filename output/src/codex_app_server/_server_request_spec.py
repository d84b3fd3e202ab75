"""The record behind the generated ``SERVER_REQUESTS`` table: how to dispatch one server request.

Hand-written because it does not vary with the schema; the generated
table (``generated/server_requests.py``) holds one per server request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._lazy import model_named

__all__ = ["COMPUTED", "ServerRequestSpec", "computed_value"]

# The value providers of computed default answers (the manifest's ``computed``; the
# generator's ``protocol.COMPUTED_SAMPLES`` names the same ones).
COMPUTED: Mapping[str, Callable[[], object]] = {
    "unix_seconds": lambda: int(time.time()),
}


def computed_value(provider: str) -> object:
    """The value of a computed field of a default answer, now (e.g. the current time for ``currentTime/read``)."""
    return COMPUTED[provider]()


@dataclass(frozen=True)
class ServerRequestSpec:
    """How to dispatch one server request method."""

    handler: str
    params_name: str
    """Name in ``v2_all`` of the params model class, or of a union alias of models."""
    response_name: str
    """Name in ``v2_all`` of the response model class, or of a union alias of models."""

    @property
    def params(self) -> object:
        """The params model (imported on first use)."""
        from .generated import v2_all

        return model_named(v2_all, self.params_name)

    @property
    def response(self) -> object:
        """The response model (imported on first use)."""
        from .generated import v2_all

        return model_named(v2_all, self.response_name)
