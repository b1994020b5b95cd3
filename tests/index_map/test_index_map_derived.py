"""What the index map derives for the kernels, checked against brute force over small sizes: the tap inversion,
the integer gather form, the effective kernel and the FFT slab geometry."""

from __future__ import annotations

import itertools

import pytest
import sympy as sp

from convalg import Conv, ConvTranspose
from convalg.index_map import AxisMap, effective_kernel, index_map, slab_axis, slab_geometry

# (n, kernel, stride, dilation, lo, hi): every small case with a non-empty output
SMALL = [(n, k, s, d, lo, hi) for n, k, s, d, lo, hi in itertools.product((1, 4, 7), (1, 2, 3), (1, 2, 3), (1, 2), (0, 2),
                                                                          (0, 1))
         if n + lo + hi - d * (k - 1) - 1 >= 0]


def _map(n, k, s, d, lo, hi):
    n_out = (n + lo + hi - d * (k - 1) - 1) // s + 1
    return AxisMap(n=n, n_out=n_out, kernel=k, stride=s, dilation=d, lo=lo, hi=hi)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("kernel", [1, 2, 3, 5])
def test_tap_for_weight_inverts_tap(kernel, flip):
    m = AxisMap(n=9, n_out=9, kernel=kernel)
    w = sp.Symbol("w0", integer=True, nonnegative=True)
    inverse = m.tap_for_weight(w, flip)
    for k in range(kernel):  # brute force: the tap k whose weight index is tap(k) is k again
        stored = sp.sympify(m.tap(flip)).subs(m.k, k)
        assert inverse.subs(w, stored) == k
    found = [[k for k in range(kernel) if sp.sympify(m.tap(flip)).subs(m.k, k) == wi] for wi in range(kernel)]
    assert [[inverse.subs(w, wi)] for wi in range(kernel)] == found


def test_tap_for_weight_symbolic():
    m = AxisMap.symbolic()
    w = sp.Symbol("w0", integer=True)
    assert sp.expand(m.tap_for_weight(w, flip=True) - (m.kernel - 1 - w)) == 0
    assert m.tap_for_weight(w) == w


@pytest.mark.parametrize("case", SMALL, ids=str)
def test_gather_index_is_gather_output_under_its_condition(case):
    m = _map(*case)
    n_out = int(m.n_out)
    for i, k in itertools.product(range(-2, int(m.n) + 2), range(int(m.kernel))):
        # brute force: the outputs o whose tap k reads input i
        hits = [o for o in range(n_out) if m.stride * o - m.lo + m.dilation * k == i]
        pt = {m.i: i, m.k: k}
        cond = bool(m.gather_index_condition.xreplace(pt))
        assert cond == bool(m.gather_condition.xreplace(pt)) == bool(hits), (case, i, k)
        if hits:
            assert m.gather_index.xreplace(pt) == hits[0] == m.gather_output.xreplace(pt)
        assert m.gather_index.xreplace(pt) == sp.floor(m.gather_output.xreplace(pt))


@pytest.mark.parametrize("case", SMALL, ids=str)
def test_effective_kernel_is_the_span_of_the_taps(case):
    m = _map(*case)
    reads = [int(m.input_index.subs({m.o: 0, m.k: k})) for k in range(int(m.kernel))]
    assert m.effective_kernel == max(reads) - min(reads) + 1 == effective_kernel(m.kernel, m.dilation)


def test_effective_kernel_symbolic():
    m = AxisMap.symbolic()
    assert sp.expand(m.effective_kernel - (m.dilation * (m.kernel - 1) + 1)) == 0


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("case", SMALL, ids=str)
def test_slab_geometry_brute_force(case, flip):
    m = _map(*case)
    s = slab_axis(m, flip)
    n, n_out, kernel = int(m.n), int(m.n_out), int(m.kernel)
    reads = {(o, k): m.stride * o - m.lo + m.dilation * k for o in range(n_out) for k in range(kernel)}
    assert (s.first, s.last) == (min(reads.values()), max(reads.values()))
    assert s.length == s.last - s.first + 1
    # the stride-1 correlation of the slab with the spread filter: output o at step*o, tap k at tap_offsets[k]
    for (o, k), i in reads.items():
        assert s.first + s.step * o + s.tap_offsets[k] == i
    assert s.effective_kernel == m.effective_kernel
    assert list(range(*s.keep.indices(s.length - s.effective_kernel + 1))) == [s.step * o for o in range(n_out)]
    # crop + pads rebuild the slab from the input: zeros outside [0, n)
    slab = [i if 0 <= i < n else None for i in range(s.first, s.last + 1)]
    rebuilt = [None] * s.pads[0] + list(range(n))[slice(*s.crop)] + [None] * s.pads[1]
    assert rebuilt == slab
    assert list(s.weight_taps) == [kernel - 1 - k if flip else k for k in range(kernel)]


def test_slab_geometry_of_an_index_map_follows_its_flip():
    m = index_map(Conv(3, stride=2, padding=1, dilation=2, ndim=2), (9, 8))
    assert slab_geometry(m) == tuple(slab_axis(a) for a in m.axes)
    t = index_map(ConvTranspose(3, stride=2, ndim=1), (5,))
    assert slab_geometry(t)[0].n == int(t.axes[0].n)
