from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import dsviz_widget as dv
from dsviz_widget.media import MAX_IMAGE_PIXELS

CLASSES = dv.Classes([{"id": 0, "name": "road"}, {"id": 1, "name": "car", "color": "#FF0000"}])


def rgb(h: int = 12, w: int = 20, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("shape", [(12, 20), (12, 20, 1), (12, 20, 3), (12, 20, 4)])
def test_uint8_arrays_keep_their_pixels(shape: tuple[int, ...]) -> None:
    arr = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    img = dv.Image(arr)
    assert (img.width, img.height, img.format) == (20, 12, "png")
    expected = arr[:, :, 0] if shape == (12, 20, 1) else arr
    assert np.array_equal(img.to_numpy(), expected)


def test_float_arrays_in_unit_range_become_uint8_truncated_as_in_wandb() -> None:
    arr = np.linspace(0, 1, 60).reshape(6, 10)
    assert np.array_equal(dv.Image(arr).to_numpy(), (arr * 255).astype(np.uint8))


@pytest.mark.parametrize(
    ("arr", "message"),
    [
        (np.zeros((4, 4, 2), np.uint8), "must number 1, 3 or 4"),
        (np.zeros((2, 4, 4, 3), np.uint8), r"shape \(2, 4, 4, 3\)"),
        (np.full((4, 4), np.nan), "NaN"),
        (np.zeros((0, 4), np.uint8), "no pixels"),
    ],
)
def test_bad_arrays_are_rejected_with_the_reason(arr: np.ndarray, message: str) -> None:
    with pytest.raises(dv.ValidationError, match=message):
        dv.Image(arr)


def test_pil_path_and_bytes_inputs(tmp_path: Path) -> None:
    arr = rgb()
    pil = PILImage.fromarray(arr)
    path = tmp_path / "x.jpg"
    pil.save(path, quality=90)
    from_pil = dv.Image(pil)
    from_path = dv.Image(path)
    from_bytes = dv.Image(path.read_bytes())
    assert np.array_equal(from_pil.to_numpy(), arr)
    # Files are stored as they are: a JPEG stays the same JPEG bytes.
    assert from_path.format == "jpeg" and from_path.to_bytes() == path.read_bytes()
    assert from_bytes == from_path
    assert str(path) not in repr(from_path)


def test_reference_shares_pixels_without_copying() -> None:
    base = dv.Image(rgb(), caption="base", boxes={"p": {"box_data": [_box(1)]}})
    ref = dv.Image(base, classes=CLASSES)
    assert ref.digest == base.digest
    assert ref._blob is base._blob
    # As in W&B: the caption carries over, the overlays do not.
    assert ref.caption == "base" and ref.boxes is None and ref.classes == CLASSES
    assert dv.Image(base, caption="new").caption == "new"


def test_attributes_read_back_as_given() -> None:
    mask = np.zeros((12, 20), np.int64)
    mask[:3] = 1
    boxes = {
        "predictions": {"box_data": [_box(1, scores={"conf": np.float32(0.5)}), _middle_box()]}
    }
    img = dv.Image(
        rgb(), caption="c", classes=CLASSES, boxes=boxes, masks={"gt": {"mask_data": mask}}
    )
    assert img.caption == "c" and img.classes == CLASSES
    assert img.boxes == {
        "predictions": {"box_data": [_box(1, scores={"conf": 0.5}), _middle_box()]}
    }
    assert img.masks is not None and np.array_equal(img.masks["gt"]["mask_data"], mask)


def test_equality_compares_content() -> None:
    a, b = dv.Image(rgb(seed=1)), dv.Image(rgb(seed=1))
    assert a == b
    assert a != dv.Image(rgb(seed=2))
    assert a != dv.Image(rgb(seed=1), caption="x")
    assert dv.Image(rgb(), classes=CLASSES, boxes={"p": {"box_data": [_box(0)]}}) != dv.Image(
        rgb(), classes=CLASSES, boxes={"p": {"box_data": [_box(1)]}}
    )


def test_pixel_cap_is_checked_from_the_header_before_decoding(tmp_path: Path) -> None:
    # A 1-bit PNG claiming 10000 x 10000 pixels: tiny file, 100 megapixels.
    big = PILImage.new("1", (10_000, 10_000))
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    assert len(buf.getvalue()) < 100_000 and MAX_IMAGE_PIXELS < 10_000 * 10_000
    with pytest.raises(dv.ValidationError, match="over the limit"):
        dv.Image(buf.getvalue())
    with pytest.raises(dv.ValidationError, match="over the limit"):
        dv.Image(np.zeros((1, MAX_IMAGE_PIXELS + 1), np.uint8))


def test_truncated_and_garbage_files_are_rejected(tmp_path: Path) -> None:
    buf = io.BytesIO()
    PILImage.fromarray(rgb(64, 64)).save(buf, format="PNG")
    with pytest.raises(dv.ValidationError, match=r"corrupt or truncated|not a readable image"):
        dv.Image(buf.getvalue()[:200])
    with pytest.raises(dv.ValidationError, match="not a readable image"):
        dv.Image(b"not an image at all")
    with pytest.raises(dv.ValidationError, match="no such image file"):
        dv.Image(tmp_path / "missing.png")
    with pytest.raises(dv.ValidationError, match="NUL"):
        dv.Image("a\x00b.png")


def _box(class_id: int, **extra: object) -> dict[str, object]:
    return {
        "position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": 0.6},
        "class_id": class_id,
        **extra,
    }


def _middle_box() -> dict[str, object]:
    return {
        "position": {"middle": [10, 6], "width": 4, "height": 2},
        "domain": "pixel",
        "class_id": 0,
        "box_caption": "road 0.9",
        "scores": {"conf": 0.9},
    }
