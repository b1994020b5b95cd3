"""Analysis of layer stacks: receptive fields and admissible input sizes.

Receptive field, effective stride and effective padding follow Araujo, Norris
& Sim, "Computing Receptive Fields of CNNs", Distill 2019 (per axis, dilation
folded into the kernel as ``d*(k-1)+1``)::

    r = 1 + sum_l (k_l - 1) * prod_{i<l} s_i,   S = prod_l s_l,
    P = sum_l lo_l * prod_{i<l} s_i,            centre(y) = y*S - P + (r - 1)/2

Input-size sets use the fact that every size rule is *quasi-affine*: with
``D`` the product of the down-sampling strides and ``U`` the product of the
up-sampling strides, ``out(n + D) = out(n) + U`` for every valid ``n`` (a
constant for stacks containing adaptive pooling).  Conditions that only
depend on sizes are therefore periodic in ``n`` with period ``D`` and are
computed exactly from one representative per residue class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sympy as sp

from ..checks import check_int, check_ndim
from ..errors import SpecError
from ..vocabulary import kind_of
from .formulas import Size, as_size, effective_kernel, padding_depends_on_size
from .simplify import collapse_floors, format_size, latex_size

__all__ = ["ReceptiveField", "SizeSet", "receptive_field", "exact_sizes", "size_preserving_sizes", "flatten_layers",
           "SLIDING_WINDOW"]


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of a stack on one axis (Araujo et al. 2019).

    ``size`` r, effective ``stride`` S and effective ``padding`` P: output
    ``y`` sees inputs ``[y*S - P, y*S - P + r - 1]``, centred at
    ``y*S - P + (r-1)/2``.
    """

    size: Size
    stride: Size
    padding: Size

    def region(self, y: Size) -> tuple[Size, Size]:
        """First and last input index (inclusive, may be negative = padding) seen by output ``y``."""
        u = as_size(sp.sympify(y) * self.stride - self.padding)
        return u, as_size(u + self.size - 1)

    def center(self, y: Size) -> sp.Expr:
        """Centre of the receptive field of output ``y`` (may be a half-integer)."""
        return sp.nsimplify(sp.sympify(y) * self.stride - self.padding + sp.Rational(1, 2) * (self.size - 1))

    def __str__(self) -> str:
        """``receptive field 7, stride 4, padding 3: output y sees inputs [4*y - 3, 4*y + 3]``."""
        lo, hi = self.region(_Y)
        return (f"receptive field {format_size(self.size)}, stride {format_size(self.stride)}, padding "
                f"{format_size(self.padding)}: output y sees inputs [{format_size(lo)}, {format_size(hi)}]")

    def _latex(self) -> str:
        lo, hi = self.region(_Y)
        return (rf"r = {latex_size(self.size)},\ S = {latex_size(self.stride)},\ P = {latex_size(self.padding)}:\ "
                rf"y \mapsto [{latex_size(lo)}, {latex_size(hi)}]")

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"


#: The output index in printed receptive-field regions.
_Y = sp.Symbol("y", integer=True, nonnegative=True)


#: Per layer kind: whether it slides a window of fixed size and stride over its input (the layers a receptive
#: field and an exact size are defined for).  A transposed conv up-samples; an adaptive pool's window depends on
#: the input size; a stack is flattened into its layers first.
SLIDING_WINDOW: dict[str, bool] = {
    "conv": True, "max_pool": True, "avg_pool": True,
    "conv_transpose": False, "adaptive_avg_pool": False, "adaptive_max_pool": False, "sequential": False,
}


def _check_layer(layer: object, index: int) -> None:
    if kind_of(layer) is None:
        raise SpecError(f"layers[{index}]={layer!r}: must be a convalg layer specification")


def flatten_layers(layers: Iterable[object]) -> list[object]:
    """The layers of ``layers``, nested stacks (kind ``'sequential'``) replaced by their layers.

    >>> from convalg import Conv, MaxPool, Sequential
    >>> flatten_layers([Conv(3), Sequential(MaxPool(2), Sequential(Conv(1)))])
    [Conv(kernel_size=3), MaxPool(kernel_size=2), Conv(kernel_size=1)]
    """
    out: list[object] = []
    for layer in layers:
        out.extend(flatten_layers(layer.layers) if kind_of(layer) == "sequential" else [layer])  # type: ignore[attr-defined]
    return out


def _windowed(layer: object) -> bool:
    kind = kind_of(layer)
    return kind is not None and SLIDING_WINDOW[kind]


def receptive_field(layers: Sequence[object], spatial: Sequence[Size]) -> tuple[ReceptiveField, ...]:
    """Per-axis receptive fields of ``layers`` applied to input sizes ``spatial``.

    Sizes may be symbols; they matter only for size-dependent padding (TF
    ``'SAME'``), which is evaluated at each layer's own input size.

    >>> from convalg import Conv, MaxPool
    >>> receptive_field([Conv(3, padding=1), MaxPool(2)], (224,))
    (ReceptiveField(size=4, stride=2, padding=1),)
    """
    layers = flatten_layers(layers)
    sizes = tuple(spatial)
    # later sizes matter only to size-dependent pads; symbolic ones are not propagated without need (the
    # nested floors of a deep strided stack grow until SymPy recurses too deep) and are collapsed when they are
    size_dependent = [padding_depends_on_size(getattr(layer, "padding", ())) for layer in layers]
    r: list[Size] = [1] * len(sizes)
    jump: list[Size] = [1] * len(sizes)
    pad: list[Size] = [0] * len(sizes)
    for i, layer in enumerate(layers):
        if not _windowed(layer):
            raise SpecError(
                f"layers[{i}]={layer!r}: the receptive field is defined for Conv, MaxPool and AvgPool only "
                "(a transposed conv up-samples; adaptive pooling's window depends on the input size)"
            )
        specs = layer.axis_specs(sizes)  # type: ignore[attr-defined]
        for a, spec in enumerate(specs):
            r[a] = as_size(r[a] + (effective_kernel(spec.kernel, spec.dilation) - 1) * jump[a])
            pad[a] = as_size(pad[a] + spec.lo * jump[a])
            jump[a] = as_size(jump[a] * spec.stride)
        if all(isinstance(n, int) for n in sizes) or any(size_dependent[i + 1:]):
            sizes = tuple(n if isinstance(n, int) else collapse_floors(n)
                          for n in layer.output_shape(sizes))  # type: ignore[attr-defined]
    return tuple(ReceptiveField(*t) for t in zip(r, jump, pad))


@dataclass(frozen=True)
class SizeSet:
    """A set of admissible input sizes on one axis.

    Either periodic (``n >= minimum`` and ``n mod modulus in residues``) or
    finite (``values``).  ``condition`` is the same set as a SymPy boolean in
    ``symbol``.
    """

    symbol: sp.Symbol
    minimum: int
    modulus: int
    residues: tuple[int, ...] | None = None
    values: tuple[int, ...] | None = None

    @property
    def condition(self) -> sp.Basic:
        n = self.symbol
        if self.values is not None:
            return sp.Or(*[sp.Eq(n, v) for v in self.values]) if self.values else sp.false
        if not self.residues:
            return sp.false
        if len(self.residues) == self.modulus:
            return sp.Ge(n, self.minimum)
        return sp.And(sp.Ge(n, self.minimum), sp.Or(*[sp.Eq(sp.Mod(n, self.modulus), r) for r in self.residues]))

    def __contains__(self, n: object) -> bool:
        if not isinstance(n, int) or n < self.minimum:
            return False
        if self.values is not None:
            return n in self.values
        return n % self.modulus in (self.residues or ())

    def __str__(self) -> str:
        """The set as a congruence: ``n ≡ 1 (mod 16), n ≥ 1`` (or ``n ∈ {18, 19}``, ``n ≥ 3``, ``∅``)."""
        n = self.symbol
        if self.values is not None:
            return f"{n} ∈ {{{', '.join(map(str, self.values))}}}" if self.values else "∅"
        if not self.residues:
            return "∅"
        if len(self.residues) == self.modulus:
            return f"{n} ≥ {self.minimum}"
        return f"{n} ≡ {', '.join(map(str, self.residues))} (mod {self.modulus}), {n} ≥ {self.minimum}"

    def _latex(self) -> str:
        n = sp.latex(self.symbol)
        if self.values is not None:
            return rf"{n} \in \{{{', '.join(map(str, self.values))}\}}" if self.values else r"\emptyset"
        if not self.residues:
            return r"\emptyset"
        if len(self.residues) == self.modulus:
            return rf"{n} \geq {self.minimum}"
        return rf"{n} \equiv {', '.join(map(str, self.residues))} \pmod{{{self.modulus}}},\ {n} \geq {self.minimum}"

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"

    def smallest(self, at_least: int = 1) -> int | None:
        """The smallest admissible size ``>= at_least`` (None if there is none)."""
        start = max(at_least, self.minimum)
        if self.values is not None:
            bigger = [v for v in self.values if v >= start]
            return min(bigger) if bigger else None
        if not self.residues:
            return None
        return min(start + (r - start) % self.modulus for r in self.residues)


def _axis_chain(layers: Sequence[object], axis: int, ndim: int) -> list[Callable[[int], tuple[int, bool]]]:
    ndim = check_ndim(ndim)
    axis = check_int("axis", axis, minimum=0)
    if axis >= ndim:
        raise SpecError(f"axis={axis}: must be < ndim={ndim}")
    if not isinstance(layers, (list, tuple)) or not layers:
        raise SpecError(f"layers={layers!r}: must be a non-empty list of layer specifications")
    for i, layer in enumerate(flatten_layers(layers)):
        _check_layer(layer, i)
    steps = []
    for layer in flatten_layers(layers):
        bound = layer.bind(ndim)  # type: ignore[attr-defined]

        def step(n: int, bound: object = bound) -> tuple[int, bool]:
            spec = bound._axis_spec(axis, n)  # type: ignore[attr-defined]
            out = bound._output_size(axis, spec, n)  # type: ignore[attr-defined]
            if not isinstance(out, int) or out < 1:
                raise SpecError(f"input size {n} too small")
            exact = True
            if _windowed(bound):
                rem = n + spec.lo + spec.hi - effective_kernel(spec.kernel, spec.dilation)
                exact = rem % spec.stride == 0
            return out, exact

        steps.append(step)
    return steps


def _run(chain: Sequence[Callable[[int], tuple[int, bool]]], n: int) -> tuple[int, bool] | None:
    exact = True
    try:
        for step in chain:
            n, ok = step(n)
            exact = exact and ok
    except SpecError:
        return None
    return n, exact


#: Largest stride product whose residues exact_sizes / size_preserving_sizes enumerate.
MAX_PERIOD = 1 << 16


def _down_strides(layers: Sequence[object], axis: int, ndim: int) -> int:
    period = 1
    for layer in flatten_layers(layers):
        if _windowed(layer):
            period *= layer.bind(ndim).stride[axis]  # type: ignore[attr-defined]
    if period > MAX_PERIOD:
        raise SpecError(f"stride product={period}: the size sets enumerate one size per residue, "
                        f"so the product of the down-sampling strides must be <= {MAX_PERIOD}")
    return period


def _minimum(chain: Sequence[Callable[[int], tuple[int, bool]]]) -> int:
    hi = 1
    while _run(chain, hi) is None:
        hi *= 2
        if hi > 2**40:
            raise SpecError("the stack has no valid input size")
    lo = hi // 2 + 1 if hi > 1 else 1
    while lo < hi:  # sizes are monotone in n, so validity is too
        mid = (lo + hi) // 2
        if _run(chain, mid) is None:
            lo = mid + 1
        else:
            hi = mid
    return hi


def _symbol(symbol: sp.Symbol | str) -> sp.Symbol:
    return sp.Symbol(symbol, integer=True, positive=True) if isinstance(symbol, str) else symbol


def exact_sizes(layers: Sequence[object], axis: int = 0, ndim: int = 1, symbol: sp.Symbol | str = "n") -> SizeSet:
    """Input sizes on ``axis`` for which no stride drops pixels.

    A stride drops pixels when a layer's size division is inexact, i.e.
    ``(n + lo + hi - d*(k-1) - 1) mod s != 0``: the last window does not end on
    the last (padded) element (in a ceil-mode pool it overhangs the end
    instead).  These are also the sizes at which :meth:`Conv.transpose` needs
    no ``output_padding``.

    >>> from convalg import Conv
    >>> s = exact_sizes([Conv(3, stride=2, padding=1)] * 4)
    >>> s.condition, s.smallest(224)
    (Eq(Mod(n, 16), 1), 225)
    >>> print(s)
    n ≡ 1 (mod 16), n ≥ 1
    """
    chain = _axis_chain(layers, axis, ndim)
    low, period = _minimum(chain), _down_strides(layers, axis, ndim)
    residues = []
    for r in range(period):
        rep = low + (r - low) % period
        result = _run(chain, rep)
        if result is not None and result[1]:
            residues.append(r)
    return SizeSet(_symbol(symbol), low, period, residues=tuple(residues))


def size_preserving_sizes(
    layers: Sequence[object], axis: int = 0, ndim: int = 1, symbol: sp.Symbol | str = "n"
) -> SizeSet:
    """Input sizes on ``axis`` for which the stack's output size equals its input size (e.g. a U-Net).

    >>> from convalg import Conv, ConvTranspose, MaxPool
    >>> down = [Conv(3, padding=1), MaxPool(2)]
    >>> up = [ConvTranspose(2, stride=2), Conv(3, padding=1)]
    >>> s = size_preserving_sizes(down * 4 + up * 4)
    >>> s.condition, s.smallest(100)
    ((n >= 16) & Eq(Mod(n, 16), 0), 112)
    """
    chain = _axis_chain(layers, axis, ndim)
    low, period = _minimum(chain), _down_strides(layers, axis, ndim)

    def gap(n: int) -> int:
        result = _run(chain, n)
        assert result is not None
        return result[0] - n

    residues, values = [], []
    drifting = False
    for r in range(period):
        rep = low + (r - low) % period
        g0, g1 = gap(rep), gap(rep + period)
        drift = g1 - g0
        if drift == 0:
            if g0 == 0:
                residues.append(r)
        else:
            drifting = True
            m, rem = divmod(-g0, drift)
            if rem == 0 and m >= 0:
                values.append(rep + m * period)
    if drifting:
        return SizeSet(_symbol(symbol), low, period, values=tuple(sorted(values)))
    return SizeSet(_symbol(symbol), low, period, residues=tuple(residues))
