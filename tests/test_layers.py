"""The embedded default's channel layer (interview_rt/runtime/layers.py): `receive_nowait` takes
what is queued, in order, and never strands a `receive()` that is already waiting."""

from __future__ import annotations

import asyncio

from interview_rt.runtime.layers import InMemoryChannelLayer


async def test_receive_nowait_takes_queued_messages_in_order() -> None:
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    assert layer.receive_nowait(channel) is None
    for n in range(3):
        await layer.send(channel, {"type": "m", "n": n})
    assert [layer.receive_nowait(channel)["n"] for _ in range(3)] == [0, 1, 2]  # type: ignore[index]
    assert layer.receive_nowait(channel) is None


async def test_a_waiting_receive_still_gets_what_is_sent_after_the_queue_was_emptied() -> None:
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "m", "n": 0})
    assert (await layer.receive(channel))["n"] == 0
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    await layer.send(channel, {"type": "m", "n": 1})
    taken = layer.receive_nowait(channel)  # a consumer draining while a receive waits
    await layer.send(channel, {"type": "m", "n": 2})
    got = await asyncio.wait_for(waiting, 10)
    assert [taken and taken["n"], got["n"]] == [1, 2]
