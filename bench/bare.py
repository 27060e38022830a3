"""What the bare baselines of the server benchmarks do: parse an envelope and answer its
response event with Flask-Events' JSON library, and nothing else.
"""

from __future__ import annotations

from typing import Any

import msgspec

decode = msgspec.json.Decoder().decode
encode = msgspec.json.Encoder().encode


def answer(envelope: dict[str, Any]) -> dict[str, Any]:
    """The response event echoing ``envelope``'s payload."""
    return {
        "name": envelope["name"] + ":response",
        "version": envelope["version"],
        "id": envelope["id"],
        "flowId": envelope["flowId"],
        "payload": envelope["payload"],
        "identity": {},
        "auth": {},
        "metadata": {},
    }
