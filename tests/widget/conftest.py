from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from dsviz_widget.engine import Source
from dsviz_widget.widget._handler import MessageHandler
from tests.widget import _synth


@pytest.fixture
def images() -> tuple[Source, Callable[[str], bytes], pa.Table]:
    t, read, _ = _synth.image_table(12)
    return Source.from_arrow(t), read, t


@pytest.fixture
def handler(images: tuple[Source, Callable[[str], bytes], pa.Table]) -> MessageHandler:
    source, read, _ = images
    return MessageHandler(source, read, name="images")


def decode(buffers: list[bytes]) -> pa.Table:
    assert len(buffers) == 1
    return pa.ipc.open_stream(buffers[0]).read_all()


def ask(handler: MessageHandler, **msg: Any) -> tuple[dict[str, Any], list[bytes]]:
    msg.setdefault("id", "t1")
    return handler.handle(msg)


def group_page(
    handler: MessageHandler, query: dict[str, Any], offset: int = 0, limit: int = 100
) -> tuple[dict[str, Any], pa.Table]:
    """A group page as the browser gets it: the page reply (keys and counts alone while its
    ``pending`` names fields), then the ``groups`` reply with every field. Returns the page
    reply and every field; checks the first reply's groups are the same groups in the same
    order as the second's."""
    reply, buffers = ask(handler, kind="page", query=query, offset=offset, limit=limit)
    assert reply["kind"] == "page-response", reply
    first = decode(buffers)
    if not reply["pending"]:
        return reply, first
    more, buffers = ask(handler, kind="groups", query=query, offset=offset, limit=limit)
    assert more["kind"] == "groups-response", more
    assert more["roles"] == reply["roles"]
    full = decode(buffers)
    assert full.column_names == [*first.column_names, *reply["pending"]]
    assert full.select(first.column_names).equals(first)
    return reply, full
