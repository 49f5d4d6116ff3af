"""A Kafka client that asks for every contract topic's metadata as fast as it can, reconnecting whenever the
broker goes away: the services' clients at their most eager, run as one of a test stack's processes.

``python -m tests.integration.metadata_client <bootstrap>``
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from aiokafka import AIOKafkaClient
from zhongshi_contracts.topics import ALL_TOPICS


async def ask_forever(bootstrap: str) -> None:
    while True:
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        with contextlib.suppress(Exception):
            await client.bootstrap()
            client.set_topics([topic.name for topic in ALL_TOPICS])
            while await client.force_metadata_update():  # names the topics: a broker may create them
                pass
        await client.close()


if __name__ == "__main__":
    asyncio.run(ask_forever(sys.argv[1]))
