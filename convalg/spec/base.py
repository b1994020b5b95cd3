"""The immutable, hashable, N-dimensional base of every layer specification."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

from ..checks import check_ndim, check_spatial, is_sequence
from ..display import ShapeTable, layer_latex, symbolic_sizes
from ..errors import SpecError
from ..index_map import index_map as build_index_map
from ..operators import matrix as operator_matrix
from ..shapes.formulas import Size, effective_kernel
from ..shapes.simplify import collapse_floors
from ..vocabulary import Kinded
from .padding import Pad

__all__ = ["Layer", "AxisSpec", "check_spatial"]


class AxisSpec(NamedTuple):
    """The parameters of a layer on one spatial axis, padding evaluated at the input size."""

    kernel: int
    stride: int
    dilation: int
    lo: Size
    hi: Size
    output_padding: int = 0


class Layer(Kinded):
    """Base class of layer specifications.

    Subclasses set ``_axis_fields`` (constructor arguments holding one entry
    per axis) and implement ``_params`` (the normalised constructor keyword
    arguments) and ``_output_size(axis_spec, n)``.  Specs are immutable and
    hashable, so they key caches; ``ndim=None`` means the layer applies to any
    number of spatial dims (scalars broadcast when it is applied).
    """

    #: What the layer computes, one of :data:`convalg.vocabulary.LAYER_KINDS`: the key every stage
    #: dispatches on (its tables have one entry per kind).
    kind: ClassVar[str]
    _axis_fields: ClassVar[tuple[str, ...]] = ()
    ndim: int | None

    # -- immutability, equality, repr ------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use .replace({name}=...)")

    def _set(self, **values: Any) -> None:
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def _params(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _key(self) -> tuple[Any, ...]:
        return (type(self).__name__, tuple(sorted(self._params().items(), key=lambda kv: kv[0])))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layer) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    #: Pools default ``stride`` to ``kernel_size`` (repr omits it only then).
    _stride_defaults_to_kernel: ClassVar[bool] = False

    def __repr__(self) -> str:
        shown = []
        params = self._params()
        for k, v in params.items():
            if v is None or k == "ndim" or (k in self._defaults and self._defaults[k] == v):
                continue
            if k in self._axis_fields and isinstance(v, tuple):
                if k == "stride" and self._stride_defaults_to_kernel:
                    default: Any = params.get("kernel_size")
                else:
                    default = {"stride": 1, "dilation": 1, "padding": (0, 0), "output_padding": 0}.get(k)
                    default = None if default is None else (default,) * len(v)
                if v == default:
                    continue
                if k == "padding":
                    if not all(lo == hi for lo, hi in v):  # asymmetric: keep the (lo, hi) pairs
                        shown.append(f"{k}={v!r}")
                        continue
                    v = tuple(lo for lo, _ in v)
                if len(set(v)) == 1 and None not in v and (self.ndim is None or len(v) == 1):
                    v = v[0]
            shown.append(f"{k}={v!r}")
        if self.ndim is not None:
            shown.append(f"ndim={self.ndim}")
        return f"{type(self).__name__}({', '.join(shown)})"

    _defaults: ClassVar[dict[str, Any]] = {}

    # -- notebook display (one renderer each, in convalg.display) ----------------------
    def shape_table(self, spatial: Sequence[Size]) -> ShapeTable:
        """The input shape and the output shape of each layer, as ``convalg shape`` prints it
        (a :class:`convalg.display.ShapeTable`; ``str`` gives the text, ``to_latex`` a tabular)."""
        return ShapeTable.of(getattr(self, "layers", (self,)), self.shapes(spatial))

    def shapes(self, spatial: Sequence[Size]) -> list[tuple[Size, ...]]:
        """The input shape and the output shape (nested floors collapsed), as a one-layer
        :meth:`convalg.Sequential.shapes`.

        >>> from convalg import MaxPool
        >>> MaxPool(2).shapes((7, 8))
        [(7, 8), (3, 4)]
        """
        spatial = check_spatial(spatial, self.ndim)
        return [spatial, tuple(n if isinstance(n, int) else collapse_floors(n) for n in self.output_shape(spatial))]

    def _repr_latex_(self) -> str:
        return f"${layer_latex(self)}$"

    def _repr_html_(self) -> str:
        try:
            return self.shape_table(symbolic_sizes(self.ndim)).to_html()
        except ValueError:
            return f"<code>{html.escape(repr(self))}</code>"

    def _repr_markdown_(self) -> str:
        try:
            return self.shape_table(symbolic_sizes(self.ndim)).to_markdown()
        except ValueError:
            return f"`{self!r}`"

    def replace(self, **changes: Any) -> Layer:
        """A copy with some constructor arguments changed (re-validated).

        A layer for any number of dims stays one unless a change fixes the
        number of dims (a tuple argument or ``ndim``).

        >>> from convalg import Conv
        >>> Conv(3).replace(stride=2), Conv(3).replace(stride=(2, 1))
        (Conv(kernel_size=3, stride=2), Conv(kernel_size=(3, 3), stride=(2, 1), ndim=2))
        """
        layer = self
        if self.ndim is None and changes.get("ndim") is not None:
            layer = self.bind(check_ndim(changes["ndim"]))
        elif self.ndim is None:
            lengths = {len(v) for k, v in changes.items() if k in self._axis_fields and is_sequence(v)}
            if len(lengths) == 1 and min(lengths) >= 1:
                layer = self.bind(lengths.pop())
            elif not lengths:
                new = type(self)(**{**self._params(), **changes, "ndim": 1})
                new._set(ndim=None)  # a 1-axis layer stored exactly like an any-ndim one
                return new
        return type(layer)(**{**layer._params(), **changes})

    def bind(self, ndim: int) -> Layer:
        """This layer with its number of spatial dims fixed to ``ndim``."""
        ndim = check_ndim(ndim)
        if self.ndim == ndim:
            return self
        if self.ndim is not None:
            raise SpecError(f"input: has {ndim} spatial dims but the layer has ndim={self.ndim}")
        return self._with_ndim(ndim)

    def _with_ndim(self, ndim: int) -> Layer:
        """This any-ndim layer built for ``ndim`` axes (each per-axis argument repeated)."""
        params = self._params()
        for f in self._axis_fields:
            if params.get(f) is not None:
                params[f] = tuple(params[f]) * ndim
        params["ndim"] = ndim
        return type(self)(**params)

    # -- geometry ------------------------------------------------------------------------
    def _axis_spec(self, axis: int, n: Size) -> AxisSpec:  # pragma: no cover - abstract
        raise NotImplementedError

    def _pads(self) -> tuple[tuple[Pad, Pad], ...]:
        return self._params().get("padding", ((0, 0),) * (self.ndim or 1))

    def axis_specs(self, spatial: Sequence[Size]) -> tuple[AxisSpec, ...]:
        """Per-axis parameters with padding evaluated at the input sizes ``spatial``."""
        spatial = check_spatial(spatial, self.ndim)
        layer = self.bind(len(spatial))
        return tuple(layer._axis_spec(a, n) for a, n in enumerate(spatial))

    def _output_size(self, axis: int, spec: AxisSpec, n: Size) -> Size:  # pragma: no cover - abstract
        raise NotImplementedError

    def output_shape(self, spatial: Sequence[Size]) -> tuple[Size, ...]:
        """Exact output spatial sizes for input spatial sizes ``spatial``.

        Ints give ints; SymPy expressions give simplified SymPy expressions.
        """
        spatial = check_spatial(spatial, self.ndim)
        layer = self.bind(len(spatial))
        out = []
        for a, n in enumerate(spatial):
            spec = layer._axis_spec(a, n)
            size = layer._output_size(a, spec, n)
            if isinstance(size, int) and size < 1:
                raise SpecError(
                    f"input[{a}]={n}: {type(self).__name__} gives output size {size} on axis {a}; "
                    + layer._too_small(spec, n)
                )
            out.append(size)
        return tuple(out)

    def _too_small(self, spec: AxisSpec, n: Size) -> str:
        """Why an output size came out < 1 (the rule broken, with the numbers)."""
        k_eff = effective_kernel(spec.kernel, spec.dilation)
        return (f"the dilated kernel ({k_eff}) is larger than the padded input "
                f"({n} + {spec.lo} + {spec.hi} = {n + spec.lo + spec.hi})")

    def output_channels(self, in_channels: int | None) -> int | None:
        """Number of output channels given ``in_channels`` (None if unknown)."""
        return in_channels

    # -- index map and operator (built by convalg.index_map / convalg.operators from the kind) --
    def index_map(self, spatial: Sequence[Size]) -> Any:
        """The symbolic index map of this layer at input sizes ``spatial`` (see :mod:`convalg.index_map`)."""
        return build_index_map(self, spatial)

    def matrix(self, spatial: Sequence[int], in_channels: int | None = None, **kwargs: Any) -> Any:
        """The operator as a SymPy ``SparseMatrix`` (see :func:`convalg.operators.matrix`)."""
        return operator_matrix(self, spatial, in_channels=in_channels, **kwargs)
