"""``Image`` takes what ``wandb.Image`` takes and makes the same pixels.

Expected values come from W&B's documented behaviour (the ``wandb.Image`` docstring: data in
[0, 1] times 255, [-1, 1] mapped onto [0, 255], anything else clipped) and the values its own
unit tests assert.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import dsviz_widget as dv
from tests.media._wandb import logged, one_image_table


def test_unit_range_floats_are_scaled_by_255_and_truncated() -> None:
    assert dv.Image(np.array([[0.2, 0.3]])).to_data_array() == [[51, 76]]


def test_minus_one_to_one_floats_are_mapped_onto_0_255() -> None:
    assert dv.Image(np.array([[-0.2, 0.6]])).to_data_array() == [[102, 204]]


def test_values_outside_0_255_are_clipped_with_a_warning() -> None:
    with pytest.warns(UserWarning, match=r"clipped to 0\.\.255 as W&B does"):
        img = dv.Image(np.array([[-9, 0.1, 100, 254.5, 270]]))
    assert img.to_data_array() == [[0, 0, 100, 254, 255]]


def test_integer_data_in_0_1_is_scaled_too_as_wandb_documents() -> None:
    # "all values in the range [0, 1]" are normalised whatever the dtype: a 0/1 uint8 image
    # shows black and white, not black and near-black.
    assert dv.Image(np.array([[0, 1]], np.uint8)).to_data_array() == [[0, 255]]
    assert dv.Image(np.array([[0, 2]], np.uint8)).to_data_array() == [[0, 2]]


def test_normalize_false_stores_values_as_they_are() -> None:
    assert dv.Image(np.array([[0, 1]], np.uint8), normalize=False).to_data_array() == [[0, 1]]
    assert dv.Image(np.array([[0.5, 200.9]]), normalize=False).to_data_array() == [[0, 200]]


def test_normalize_false_refuses_values_that_would_wrap() -> None:
    with pytest.raises(ValueError, match="W&B would wrap them around modulo 256"):
        dv.Image(np.array([[0, 300]]), normalize=False)


def test_nan_pixels_are_refused() -> None:
    with pytest.raises(dv.ValidationError, match="image contains NaN"):
        dv.Image(np.array([[0.1, np.nan]]))


def test_the_mode_is_guessed_from_the_channels() -> None:
    rng = np.random.default_rng(0)
    assert dv.Image(rng.integers(0, 255, (4, 5))).image.mode == "L"
    assert dv.Image(rng.integers(0, 255, (4, 5, 3))).image.mode == "RGB"
    assert dv.Image(rng.integers(0, 255, (4, 5, 4))).image.mode == "RGBA"
    with pytest.raises(ValueError, match=r"unsupported shape for an image \[4, 5, 2\]"):
        dv.Image(rng.integers(0, 255, (4, 5, 2)))


def test_mode_converts_array_data() -> None:
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 255
    img = dv.Image(rgb, "L")
    assert img.image.mode == "L" and img.to_numpy().shape == (2, 3)
    assert img.to_numpy()[0, 0] == PILImage.fromarray(rgb).convert("L").getpixel((0, 0))


def test_caption_is_the_third_positional_argument_after_mode() -> None:
    assert dv.Image(np.zeros((2, 2)), None, "a cat").caption == "a cat"
    with pytest.raises(ValueError, match="second positional argument of Image is mode"):
        dv.Image(np.zeros((2, 2)), "a cat")  # the W&B signature is (data, mode, caption, ...)


def test_trivial_dimensions_are_dropped() -> None:
    assert dv.Image(np.zeros((1, 4, 5, 3), np.uint8)).image.size == (5, 4)
    assert dv.Image(np.zeros((4, 5, 1), np.uint8)).image.mode == "L"


def test_channel_first_arrays_are_transposed_when_unambiguous() -> None:
    chw = np.zeros((3, 4, 6), np.uint8)
    chw[0] = 200  # red
    img = dv.Image(chw)
    assert img.image.size == (6, 4) and img.image.getpixel((0, 0)) == (200, 0, 0)


def test_file_type_chooses_how_in_memory_data_is_stored() -> None:
    pixels = np.random.default_rng(1).integers(0, 255, (8, 8, 4), dtype=np.uint8)
    jpg = dv.Image(pixels, file_type="jpg")
    assert jpg.format == "jpg" and jpg.to_bytes()[:3] == b"\xff\xd8\xff"  # echoed, as W&B
    assert dv.Image(pixels, file_type="jpeg").format == "jpeg"
    assert jpg.image.mode == "RGB"  # JPEG has no alpha: W&B drops it too
    assert dv.Image(pixels, file_type="bmp").to_bytes()[:2] == b"BM"
    with pytest.raises(
        ValueError, match=r"file_type must be one of \['png', 'jpg', 'jpeg', 'bmp'\]"
    ):
        dv.Image(pixels, file_type="gif")


def test_a_pil_image_is_taken_as_it_is() -> None:
    pil = PILImage.new("L", (28, 28), color=9)
    assert np.array_equal(dv.Image(pil).to_numpy(), np.asarray(pil))


def test_image_property_is_a_pil_image() -> None:
    img = dv.Image(np.full((3, 4, 3), 7, np.uint8))
    assert isinstance(img.image, PILImage.Image) and img.image.size == (4, 3)


def test_to_data_array_gives_rows_of_pixels() -> None:
    rgb = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3) + 10
    assert dv.Image(rgb).to_data_array() == [
        [(10, 11, 12), (13, 14, 15)],
        [(16, 17, 18), (19, 20, 21)],
    ]


def test_grouping_is_kept_on_the_object_but_not_stored(run: dv.Run) -> None:
    img = dv.Image(np.zeros((2, 2)), grouping=3)
    assert img.grouping == 3
    assert logged(one_image_table(img)).get_column("image")[0].grouping is None


def test_an_image_from_an_image_keeps_caption_and_classes_not_overlays() -> None:
    base = dv.Image(
        np.zeros((4, 4)),
        caption="frame 1",
        boxes={"gt": {"box_data": [], "class_labels": {0: "car"}}},
    )
    again = dv.Image(base, masks={"pred": {"mask_data": np.zeros((4, 4), int)}})
    assert again.caption == "frame 1" and again.classes == base.classes
    assert again.boxes is None and again.digest == base.digest


def test_matplotlib_figures_and_pyplot_are_rendered() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.plot([1, 2, 2, 4])
    try:
        assert (
            dv.Image(plt).image.width == 640
        )  # W&B's own test: the current figure, 6.4in at 100 dpi
        fig, ax = plt.subplots(1, 2)
        assert dv.Image(fig).image.size == dv.Image(ax[0]).image.size == (640, 480)
        for file_type in ("jpeg", "jpg", "png"):  # W&B's own test
            assert dv.Image(fig, file_type=file_type).format == file_type
    finally:
        plt.close("all")


def test_torch_tensors_are_channel_first() -> None:
    torch = pytest.importorskip("torch")
    hwc = np.random.default_rng(0).uniform(0, 1, (4, 5, 3))
    from_tensor = dv.Image(torch.from_numpy(hwc.transpose(2, 0, 1)).requires_grad_())
    assert np.array_equal(from_tensor.to_numpy(), dv.Image(hwc).to_numpy())


class _TensorLike:
    """What ``dv.Image`` uses of a torch tensor, to run where torch is not installed."""

    def __init__(self, data: np.ndarray) -> None:
        self._data = data
        self.requires_grad = True

    def detach(self) -> _TensorLike:
        out = type(self)(self._data)
        out.requires_grad = False
        return out

    def cpu(self) -> _TensorLike:
        return self

    def numpy(self) -> np.ndarray:
        if self.requires_grad:  # as torch refuses
            raise RuntimeError("Can't call numpy() on Tensor that requires grad")
        return self._data


#: Named as torch names its tensors: W&B (and dv) tell a tensor by its type's module and name.
Tensor = type("Tensor", (_TensorLike,), {"__module__": "torch"})


def test_a_tensor_is_recognised_by_its_type_name_without_importing_torch() -> None:
    chw = np.zeros((3, 2, 2), np.uint8)
    chw[2] = 100  # blue
    img = dv.Image(Tensor(chw), masks={"m": {"mask_data": Tensor(np.eye(2, dtype=np.uint8))}})
    assert img.image.getpixel((0, 0)) == (0, 0, 100)
    assert img._masks() is not None and img._masks()["m"].tolist() == [[1, 0], [0, 1]]


def test_unsupported_objects_are_refused_by_type() -> None:
    data: Any = {"pixels": 1}
    with pytest.raises(ValueError, match="got dict"):
        dv.Image(data)
