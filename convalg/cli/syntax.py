"""A compact layer-list syntax for the command line.

::

    conv(k=3,s=2,p=1) maxpool(k=2) convt(k=2,s=2) conv(k=3,p=same)*2

=========================  ====================================================
layer names                ``conv``, ``convt`` (transposed), ``maxpool``,
                           ``avgpool``, ``adaptiveavgpool``, ``adaptivemaxpool``,
                           ``gap`` (global average), ``gmp`` (global max)
keys                       ``k`` kernel, ``s`` stride, ``p`` padding, ``d``
                           dilation, ``g`` groups, ``op`` output_padding,
                           ``ceil`` ceil_mode (0/1), ``mode`` padding_mode,
                           ``cin``/``cout`` channels, ``o`` adaptive output size,
                           ``flip`` true convolution (0/1), ``cip``
                           count_include_pad, ``div`` divisor_override
values                     ``3``; per axis ``3x5``; a padding pair ``lo:hi``
                           (per axis ``1:2x0:1``); ``same`` / ``valid``
repetition                 ``layer*N``
=========================  ====================================================

>>> parse_layers("conv(k=3,s=2,p=1)*2 maxpool(k=2)")
[Conv(kernel_size=3, stride=2, padding=1), Conv(kernel_size=3, stride=2, padding=1), MaxPool(kernel_size=2)]
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import sympy as sp

from .. import spec
from ..errors import SpecError
from ..spec import Layer

__all__ = ["parse_layers", "parse_input", "MAX_REPEAT", "syntax_help"]

#: Largest ``layer*N`` repetition count.
MAX_REPEAT = 10_000

_NAMES: dict[str, type[Layer]] = {
    "conv": spec.Conv, "convt": spec.ConvTranspose, "convtranspose": spec.ConvTranspose,
    "deconv": spec.ConvTranspose, "maxpool": spec.MaxPool, "avgpool": spec.AvgPool,
    "adaptiveavgpool": spec.AdaptiveAvgPool, "aap": spec.AdaptiveAvgPool, "adaptivemaxpool": spec.AdaptiveMaxPool,
    "amp": spec.AdaptiveMaxPool, "gap": spec.GlobalAvgPool, "gmp": spec.GlobalMaxPool,
}
_KEYS = {
    "k": "kernel_size", "s": "stride", "p": "padding", "d": "dilation", "g": "groups", "op": "output_padding",
    "ceil": "ceil_mode", "mode": "padding_mode", "cin": "in_channels", "cout": "out_channels", "o": "output_size",
    "flip": "flip_kernel", "cip": "count_include_pad", "div": "divisor_override",
}
_BOOL_KEYS = {"ceil_mode", "flip_kernel", "count_include_pad", "bias"}
_TOKEN = re.compile(r"\s*([A-Za-z_]\w*)\s*(?:\(([^()]*)\))?\s*(?:\*\s*(\d+))?\s*")


def _scalar(text: str) -> Any:
    if ":" in text:
        lo, hi = text.split(":", 1)
        return (_scalar(lo), _scalar(hi))
    try:
        return int(text)
    except ValueError:
        raise SpecError(f"value {text!r}: must be an integer (or lo:hi, or AxB for per-axis values)") from None


def _value(key: str, text: str) -> Any:
    text = text.strip()
    if key in _BOOL_KEYS:
        if text.lower() in ("1", "true", "yes"):
            return True
        if text.lower() in ("0", "false", "no"):
            return False
        raise SpecError(f"{key}={text!r}: must be 0/1 or true/false")
    if key == "padding_mode" or text in ("same", "valid"):
        return text
    if key == "output_size" and text.lower() == "none":
        return None
    if "x" in text:
        return tuple(None if key == "output_size" and t.lower() == "none" else _scalar(t) for t in text.split("x"))
    value = _scalar(text)
    if key == "padding" and isinstance(value, tuple):
        return (value,)
    return value


def parse_layers(text: str | list[str]) -> list[Layer]:
    """Parse a layer list (see the module docstring) into layer specifications."""
    if isinstance(text, list):
        text = " ".join(text)
    layers: list[Layer] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SpecError(f"layers: cannot parse {text[pos:]!r} (expected e.g. conv(k=3,s=2,p=1))")
        name, args, times = m.group(1).lower(), m.group(2) or "", m.group(3)
        if m.group(2) is None and text[m.end(1):].lstrip().startswith("("):
            raise SpecError(f"layers: unbalanced parentheses in {text[m.start(1):]!r} (expected e.g. conv(k=3,s=2,p=1))")
        if times is not None and not 1 <= int(times) <= MAX_REPEAT:
            raise SpecError(f"{name}(...)*{times}: a repetition count must be between 1 and {MAX_REPEAT}")
        layers.extend([_layer(name, args)] * (int(times) if times else 1))
        pos = m.end()
    if not layers:
        raise SpecError("layers: empty layer list")
    return layers


def _layer(name: str, args: str) -> Layer:
    """One layer ``name(args)``: its keys checked against the layer class's signature."""
    if name not in _NAMES:
        raise SpecError(f"layer {name!r}: unknown; use one of {', '.join(sorted(_NAMES))}")
    kwargs: dict[str, Any] = {}
    for item in filter(None, (a.strip() for a in args.split(","))):
        if "=" not in item:
            raise SpecError(f"{name}({args}): argument {item!r} must be key=value")
        key, val = (t.strip() for t in item.split("=", 1))
        full = _KEYS.get(key, key)
        kwargs[full] = _value(full, val)
    cls = _NAMES[name]
    parameters = inspect.signature(cls).parameters
    short = {v: k for k, v in _KEYS.items()}
    for key in kwargs:
        if key not in parameters:
            allowed = ", ".join(f"{short[k]} ({k})" if k in short else k for k in parameters)
            raise SpecError(f"{name}({args}): unknown key {key!r}; {name} takes {allowed}")
    required = [k for k, p in parameters.items() if p.default is inspect.Parameter.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for needed in required:  # kernel_size, or output_size for the adaptive pools; none for the global pools
        if needed not in kwargs:
            raise SpecError(f"{name}: needs {short[needed]}=<{needed.replace('_', ' ')}>")
    return cls(**kwargs)


def syntax_help() -> str:
    """The layer syntax for ``--help``, generated from the parser's own tables of names and keys.

    >>> print(syntax_help().splitlines()[0])
    layer syntax: NAME(key=value,...)[*N], e.g. conv(k=3,s=2,p=1)*2 maxpool(k=2)
    """
    names: dict[type, list[str]] = {}
    for short, cls in _NAMES.items():
        names.setdefault(cls, []).append(short)
    lines = ["layer syntax: NAME(key=value,...)[*N], e.g. conv(k=3,s=2,p=1)*2 maxpool(k=2)", "  names:"]
    lines += [f"    {' / '.join(shorts):<40} {cls.__name__}" for cls, shorts in names.items()]
    lines.append("  keys:")
    lines += [f"    {short:<6} {full}{' (0/1)' if full in _BOOL_KEYS else ''}" for short, full in _KEYS.items()]
    lines.append("  values: 3; per axis 3x5; a padding pair lo:hi (per axis 1:2x0:1); same / valid")
    return "\n".join(lines)


def parse_input(text: str) -> tuple[Any, ...]:
    """``'H,W'`` or ``'224,224'`` or ``'H,64'``: ints stay ints, names become positive integer symbols."""
    out: list[Any] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise SpecError(f"--input {text!r}: empty entry")
        if re.fullmatch(r"-?\d+", part):
            out.append(int(part))
        elif re.fullmatch(r"[A-Za-z_]\w*", part):
            out.append(sp.Symbol(part, integer=True, positive=True))
        else:
            raise SpecError(f"--input {text!r}: entry {part!r} must be an integer or a name")
    return tuple(out)
