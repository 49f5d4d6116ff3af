"""Completes FastStream's AsyncAPI 3.0 document into the published contract: payloads and headers from the
event models with every reference resolvable in the document, and the deployment's servers."""

from __future__ import annotations

from typing import Any

from zhongshi_contracts.events import Event
from zhongshi_contracts.published import message_headers, payload_schemas

# The broker addresses are the deployment's: a variable, with the listener of docker-compose.yml as default.
SERVERS: dict[str, Any] = {
    "production": {
        "host": "{bootstrap}",
        "protocol": "kafka-secure",
        "description": "Apache Kafka over TLS, clients authenticated with SASL SCRAM-SHA-512 (docs/operations.md).",
        "variables": {"bootstrap": {"default": "kafka:9093", "description": "A bootstrap broker, host:port."}},
        "security": [{"$ref": "#/components/securitySchemes/scram"}],
    },
    "development": {
        "host": "127.0.0.1:9092",
        "protocol": "kafka",
        "description": "The embedded development broker (`zhongshi up`): plaintext, no authentication.",
    },
}
SECURITY_SCHEMES: dict[str, Any] = {
    "scram": {"type": "scramSha512", "description": "One SCRAM user per service; ACLs let only the owner write."},
}


def finish(document: dict[str, Any], models: dict[str, type[Event]]) -> dict[str, Any]:
    """``document`` with each channel's message given its model's payload and headers (``models`` by topic)."""
    payloads, definitions = payload_schemas(list(models.values()))
    components = document.setdefault("components", {})
    messages = components.get("messages", {})
    for channel in document.get("channels", {}).values():
        channel.pop("servers", None)  # every channel is on every server
        for ref in channel.get("messages", {}).values():
            message = messages[ref["$ref"].rsplit("/", 1)[1]]
            message["headers"] = message_headers(models[channel["address"]])
            message["payload"] = payloads[channel["address"]]
    components["schemas"] = definitions
    components["securitySchemes"] = SECURITY_SCHEMES
    document["servers"] = SERVERS
    return document
