"""The record behind the generated ``SERVER_REQUESTS`` table: how to dispatch one server request.

Hand-written because it does not vary with the schema; the generated
table (``generated/server_requests.py``) holds one per server request.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._lazy import model_named

__all__ = ["ServerRequestSpec"]


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
