"""The 15 numbered relationships of Dumoulin & Visin, "A guide to convolution arithmetic for deep
learning" (2016, arXiv:1603.07285, relationships 1-15), as properties of 2-D square layers.

Transposed relationships use ConvTranspose / Conv.transpose(); each is also checked against its
"equivalent direct convolution" (unit stride on the stretched input i~' with s-1 zeros between inputs).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convalg import AvgPool, Conv, ConvTranspose, MaxPool, SpecError


@st.composite
def square(draw: st.DrawFn, *, stride: bool = False, pad: bool = False, dilation: bool = False):
    k = draw(st.integers(1, 7))
    s = draw(st.integers(1, 5)) if stride else 1
    p = draw(st.integers(0, 6)) if pad else 0
    d = draw(st.integers(1, 3)) if dilation else 1
    k_hat = k + (k - 1) * (d - 1)
    i = draw(st.integers(max(1, k_hat - 2 * p), 40))
    return i, k, s, p, d


def out2(layer, i: int) -> int:
    o = layer.output_shape((i, i))
    assert o[0] == o[1]
    return o[0]


def stretched(i_prime: int, s: int) -> int:
    """Size of the input with s-1 zeros inserted between its elements (i~' in the paper)."""
    return i_prime + (i_prime - 1) * (s - 1)


@given(square())
def test_relationship_1_no_padding_unit_stride(c) -> None:
    i, k, *_ = c
    assert out2(Conv(k), i) == (i - k) + 1


@given(square(pad=True))
def test_relationship_2_padding_unit_stride(c) -> None:
    i, k, _, p, _ = c
    assert out2(Conv(k, padding=p), i) == (i - k) + 2 * p + 1


@given(st.integers(0, 4), st.integers(1, 40))
def test_relationship_3_half_same_padding(half, i) -> None:
    k = 2 * half + 1
    assert out2(Conv(k, padding=k // 2), i) == i
    assert out2(Conv(k, padding="same"), i) == i


@given(square())
def test_relationship_4_full_padding(c) -> None:
    i, k, *_ = c
    assert out2(Conv(k, padding=k - 1), i) == i + (k - 1)


@given(square(stride=True))
def test_relationship_5_no_padding_stride(c) -> None:
    i, k, s, *_ = c
    assert out2(Conv(k, stride=s), i) == (i - k) // s + 1


@given(square(stride=True, pad=True))
def test_relationship_6_padding_stride(c) -> None:
    i, k, s, p, _ = c
    o = out2(Conv(k, stride=s, padding=p), i)
    assert o == (i + 2 * p - k) // s + 1
    if (i + 2 * p - k) % s == 0:  # every j = i + a, a < s, gives the same output size
        assert all(out2(Conv(k, stride=s, padding=p), i + a) == o for a in range(s))


@given(square(stride=True))
def test_relationship_7_pooling(c) -> None:
    i, k, s, *_ = c
    expected = (i - k) // s + 1
    assert out2(MaxPool(k, stride=s), i) == expected
    assert out2(AvgPool(k, stride=s), i) == expected


@given(square())
def test_relationship_8_transpose_of_no_padding_unit_stride(c) -> None:
    i, k, *_ = c
    i_prime = out2(Conv(k), i)
    t = Conv(k).transpose((i, i))
    assert t.kernel_size == (k, k) and t.stride == (1, 1)
    assert out2(t, i_prime) == i_prime + (k - 1) == i
    assert out2(Conv(k, padding=k - 1), i_prime) == i_prime + (k - 1)  # direct conv: k' = k, s' = 1, p' = k-1


@given(square(pad=True))
def test_relationship_9_transpose_of_padding_unit_stride(c) -> None:
    i, k, _, p, _ = c
    p = min(p, k - 1)
    i = max(i, k - 2 * p)
    i_prime = out2(Conv(k, padding=p), i)
    assert out2(ConvTranspose(k, padding=p), i_prime) == i_prime + (k - 1) - 2 * p == i
    assert out2(Conv(k, padding=p).transpose((i, i)), i_prime) == i_prime + (k - 1) - 2 * p
    assert out2(Conv(k, padding=k - p - 1), i_prime) == i_prime + (k - 1) - 2 * p  # p' = k - p - 1


@given(st.integers(0, 4), st.integers(1, 40))
def test_relationship_10_transpose_of_half_padding(half, i) -> None:
    k, p = 2 * half + 1, half
    i_prime = out2(Conv(k, padding=p), i)
    assert out2(ConvTranspose(k, padding=p), i_prime) == i_prime == i
    assert out2(Conv(k, padding=p), i_prime) == i_prime  # p' = p


@given(square())
def test_relationship_11_transpose_of_full_padding(c) -> None:
    i, k, *_ = c
    i_prime = out2(Conv(k, padding=k - 1), i)
    if i_prime - (k - 1) >= 1:
        assert out2(ConvTranspose(k, padding=k - 1), i_prime) == i_prime - (k - 1) == i
        assert out2(Conv(k), i_prime) == i_prime - (k - 1)  # p' = 0


@given(square(stride=True))
def test_relationship_12_transpose_of_no_padding_stride(c) -> None:
    i, k, s, *_ = c
    i -= (i - k) % s  # the relationship assumes (i - k) mod s == 0
    i_prime = out2(Conv(k, stride=s), i)
    t = Conv(k, stride=s).transpose((i, i))
    assert t.output_padding == (0, 0)
    assert out2(t, i_prime) == s * (i_prime - 1) + k == i
    assert out2(Conv(k, padding=k - 1), stretched(i_prime, s)) == s * (i_prime - 1) + k


@given(square(stride=True, pad=True))
def test_relationship_13_transpose_of_padding_stride(c) -> None:
    i, k, s, p, _ = c
    p = min(p, k - 1)
    i -= (i + 2 * p - k) % s  # assumes (i + 2p - k) mod s == 0
    if i < 1 or i + 2 * p < k:  # no input of that size fits the kernel: the layer must say so
        with pytest.raises(SpecError):
            out2(Conv(k, stride=s, padding=p), i)
        return
    i_prime = out2(Conv(k, stride=s, padding=p), i)
    assert out2(ConvTranspose(k, stride=s, padding=p), i_prime) == s * (i_prime - 1) + k - 2 * p == i
    assert out2(Conv(k, padding=k - p - 1), stretched(i_prime, s)) == s * (i_prime - 1) + k - 2 * p


@given(square(stride=True, pad=True))
def test_relationship_14_transpose_general_output_padding(c) -> None:
    i, k, s, p, _ = c
    p = min(p, k - 1)
    i = max(i, k - 2 * p)
    a = (i + 2 * p - k) % s
    i_prime = out2(Conv(k, stride=s, padding=p), i)
    t = Conv(k, stride=s, padding=p).transpose((i, i))
    assert t.output_padding == (a, a)  # a is PyTorch's output_padding
    expected = s * (i_prime - 1) + a + k - 2 * p
    assert out2(ConvTranspose(k, stride=s, padding=p, output_padding=a), i_prime) == expected == i
    assert out2(t, i_prime) == i
    assert ConvTranspose(k, stride=s, padding=p, ndim=2).output_padding_for((i_prime,) * 2, (i, i)) == (a, a)
    # direct conv on the stretched input with a extra zeros at the bottom/right
    direct = Conv(k, padding=((k - p - 1, k - p - 1 + a),) * 2)
    assert out2(direct, stretched(i_prime, s)) == expected


@given(square(stride=True, pad=True, dilation=True))
def test_relationship_15_dilation(c) -> None:
    i, k, s, p, d = c
    k_hat = k + (k - 1) * (d - 1)
    expected = (i + 2 * p - k - (k - 1) * (d - 1)) // s + 1
    assert out2(Conv(k, stride=s, padding=p, dilation=d), i) == expected
    assert out2(Conv(k_hat, stride=s, padding=p), i) == expected  # same as an undilated kernel of size k_hat
