"""The SDK version: the codex protocol version it was generated from.

``X.Y.Z`` is the codex release whose schema generated this SDK (``[bin]``
pins ``openai-codex-cli-bin==X.Y.Z``); SDK-only fixes add a fourth part
(``X.Y.Z.N``). `nox -s bump` rewrites this file.
"""

__version__ = "0.163.0"
