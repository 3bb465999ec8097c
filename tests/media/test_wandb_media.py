"""W&B code that handles lists of media runs unchanged: numpy keeps media objects whole, W&B's
static helpers exist, and ``wandb.data_types`` has an import path of its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dsviz_widget as dv
from tests.media._wandb import logged


def _images(n: int) -> list[dv.Image]:
    return [dv.Image(np.full((4, 4, 3), 40 * i, np.uint8)) for i in range(n)]


def test_numpy_keeps_images_whole_in_a_column_stack(run: dv.Run) -> None:
    ids, images, labels = [0, 1, 2], _images(3), ["a", "b", "c"]
    rows = np.array([ids, images, labels]).T  # a common W&B idiom for building table rows
    assert rows.shape == (3, 3) and rows.dtype == object
    assert rows[1, 1] is images[1]
    table = dv.Table(columns=["id", "image", "label"], data=rows)
    back = logged(table)
    assert [img.to_numpy()[0, 0, 0] for img in back.get_column("image")] == [0, 40, 80]


def test_numpy_keeps_audio_whole() -> None:
    clips = [dv.Audio(np.zeros(10 + i, np.int16), sample_rate=8000) for i in range(2)]
    arr = np.array([[1, 2], clips])
    assert arr.shape == (2, 2) and arr[1, 0] is clips[0]


def test_to_numpy_gives_the_pixels_and_the_samples() -> None:
    pixels = np.arange(12, dtype=np.uint8).reshape(2, 2, 3) + 2
    assert np.array_equal(dv.Image(pixels).to_numpy(), pixels)
    samples = np.array([0, 3, -7], np.int16)
    assert np.array_equal(dv.Audio(samples, 8000).to_numpy(), samples)


def test_all_captions_lists_captions_or_says_false() -> None:
    cool = dv.Image(np.zeros((2, 2)), caption="Cool")
    nice = dv.Image(np.zeros((2, 2)), caption="Nice")
    plain = dv.Image(np.zeros((2, 2)))
    assert dv.Image.all_captions([cool, nice]) == ["Cool", "Nice"]
    assert dv.Image.all_captions([cool, plain]) == ["Cool", None]
    assert dv.Image.all_captions([plain, cool]) is False  # W&B looks at the first image only


def test_to_data_array_called_on_the_class_with_an_image() -> None:
    img = dv.Image(np.array([[0.2, 0.3]]))
    assert dv.Image.to_data_array(img) == [[51, 76]]


def test_audio_sample_rates_and_durations() -> None:
    one = dv.Audio(np.random.default_rng(0).uniform(-1, 1, 44100), sample_rate=44100)
    two = dv.Audio(np.random.default_rng(1).uniform(-1, 1, 88200), sample_rate=44100)
    assert dv.Audio.sample_rates([one, two]) == [44100, 44100]
    assert dv.Audio.durations([one, two]) == [1.0, 2.0]


def test_audio_captions_fill_missing_ones_with_empty_strings() -> None:
    samples = np.zeros(100, np.float32)
    dog = dv.Audio(samples, sample_rate=100, caption="dog")
    chicken = dv.Audio(samples, sample_rate=100, caption="chicken")
    silent = dv.Audio(samples, sample_rate=100)
    assert dv.Audio.captions([dog, chicken]) == ["dog", "chicken"]
    assert dv.Audio.captions([silent, silent]) is False
    assert dv.Audio.captions([silent, chicken]) == ["", "chicken"]


def test_audio_takes_wandb_arguments_positionally(tmp_path: Path) -> None:
    clip = dv.Audio(np.zeros(800, np.int16), 8000, "hum")
    assert (clip.sample_rate, clip.caption, clip.duration) == (8000, "hum", 0.1)
    path = tmp_path / "hum.wav"
    path.write_bytes(clip.to_bytes())
    assert dv.Audio(path).sample_rate == 8000 and dv.Audio(str(path)).duration == 0.1
    with pytest.raises(ValueError, match="sample_rate"):
        dv.Audio(np.zeros(800))


def test_wandb_data_types_import_path() -> None:
    from dsviz_widget import data_types
    from dsviz_widget.data_types import Audio, Classes, Image, JoinedTable, Table

    assert (Audio, Classes, Image, JoinedTable, Table) == (
        dv.Audio,
        dv.Classes,
        dv.Image,
        dv.JoinedTable,
        dv.Table,
    )
    assert sorted(data_types.__all__) == ["Audio", "Classes", "Image", "JoinedTable", "Table"]
