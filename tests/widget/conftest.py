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
