"""cnnlessons.shift_tolerance: shifts without wrap-around and the two change measures."""
import pytest
import torch
import torch.nn.functional as F

from cnnlessons import shift_tolerance as st


def test_shift_moves_right_and_down_with_zeros_entering():
    x = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    assert st.shift(x, 1, -1)[0, 0].tolist() == [[0, 1, 2], [0, 4, 5], [0, 7, 8]]
    assert st.shift(x, 2, -2)[0, 0].tolist() == [[0, 0, 0], [0, 0, 0], [1, 2, 3]]
    assert torch.equal(st.shift(x, 0), x)


@pytest.mark.parametrize("pixels", [-1, 3, 1.0])
def test_shift_bad_pixels(pixels):
    with pytest.raises(ValueError, match=r"pixels=.* must be an int in \[0, 3\)"):
        st.shift(torch.zeros(1, 1, 3, 3), pixels)


def test_measures_per_image():
    old = torch.tensor([[3.0, 4.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    new = torch.tensor([[3.0, 0.0, 4.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(st.relative_change(new, old),
                               torch.tensor([32 ** 0.5 / 5, 0.0]))
    # image 0: 3 positions with ink in either, 1 equal; image 1: 1 of 1
    torch.testing.assert_close(st.unchanged_fraction(new, old), torch.tensor([1 / 3, 1.0]))


def test_spike_inside_its_window_leaves_max_pooling_unchanged():
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 0] = 1.0                      # left column of the top-left 2x2 window
    table = st.shift_table(x, {"max pooled": lambda t: F.max_pool2d(t, 2)})
    assert table.unchanged["right"]["max pooled"].item() == 1.0
    assert table.unchanged["right"]["image"].item() == 0.0
    assert table.change["right"]["max pooled"].item() == 0.0
    assert table.change["down"]["max pooled"].item() > 0   # row 1 -> row 2: next window


def test_table_prints_every_transform_and_direction():
    torch.manual_seed(0)
    table = st.shift_table(torch.rand(3, 1, 8, 8), {"max pooled": lambda t: F.max_pool2d(t, 2)})
    text = str(table)
    assert "shift right" in text and "shift down" in text
    assert [line.split("|")[0].strip() for line in text.splitlines()[2:]] == ["image",
                                                                              "max pooled"]
    with pytest.raises(ValueError, match="expected"):
        st.shift_table(torch.rand(8, 8), {})
