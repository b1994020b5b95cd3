"""Array adapters: the target receives NumPy, torch or CuPy arrays on the CPU or a CUDA device.

=========  ========  =============================================================
array      device    the target gets
=========  ========  =============================================================
``numpy``  ``cpu``   ``numpy.ndarray`` (bfloat16: float32 storage of bf16 values)
``torch``  ``cpu``,  ``torch.Tensor`` (bfloat16: ``torch.bfloat16``); integer
           ``cuda``  arrays (indices) as ``torch.int64``
``cupy``   ``cuda``  ``cupy.ndarray`` (bfloat16: float32 storage)
=========  ========  =============================================================

A missing library or device is a :class:`convalg.SpecError` saying which.

>>> a = load_adapter("numpy")
>>> a.output_dtype("bfloat16"), a.layouts[-1]
('float32', 'channels_last')
>>> as_target(np.ones((1, 1, 2)), "numpy").dtype
dtype('float64')
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SpecError
from .arrays import LAYOUTS, with_layout

__all__ = ["Adapter", "load_adapter", "as_target", "ARRAYS", "DEVICES"]

ARRAYS = ("numpy", "torch", "cupy")
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Adapter:
    """Conversions between NumPy (the harness) and the target's array library on one device."""

    array: str
    device: str

    @property
    def layouts(self) -> tuple[str, ...]:
        return tuple(x for x in LAYOUTS if not (self.array == "torch" and x == "negative_stride"))

    def _lib(self) -> Any:
        return importlib.import_module(self.array)

    def output_dtype(self, dtype: str) -> str:
        """The dtype name the target must return for ``dtype`` inputs."""
        return dtype if (dtype != "bfloat16" or self.array == "torch") else "float32"

    def to_target(self, a: np.ndarray, dtype: str | None = None, layout: str = "contiguous") -> Any:
        """``a`` as the target's array (a fresh copy), stored with ``layout``."""
        a = np.array(a, copy=True)
        if self.array == "numpy":
            return with_layout(a, layout)
        if self.array == "cupy":
            return with_layout(self._lib().asarray(a), layout)
        torch = self._lib()
        t = torch.from_numpy(a).to(self.device)
        if dtype == "bfloat16" and a.dtype.kind == "f":
            t = t.to(torch.bfloat16)
        return with_layout(t, layout)

    def is_native(self, obj: Any) -> bool:
        if self.array == "numpy":
            return isinstance(obj, np.ndarray)
        return isinstance(obj, self._lib().Tensor if self.array == "torch" else self._lib().ndarray)

    def dtype_name(self, obj: Any) -> str:
        return str(obj.dtype).replace("torch.", "")

    def describe(self, obj: Any) -> str:
        """What the target returned, in words (type, shape, dtype, device)."""
        if self.is_native(obj):
            where = f" on {obj.device}" if self.array != "numpy" else ""
            return f"{type(obj).__module__}.{type(obj).__name__} of shape {tuple(obj.shape)}, " \
                   f"dtype {self.dtype_name(obj)}{where}"
        if isinstance(obj, (list, tuple)):
            return f"a {type(obj).__name__} of {len(obj)} item(s)"
        return f"{type(obj).__module__}.{type(obj).__name__}"

    def contract(self, obj: Any, shape: tuple[int, ...], dtype: str) -> str | None:
        """``None`` when ``obj`` is this library's array of ``shape`` and ``dtype`` on the device, else why not."""
        want = f"{self.array} array of shape {shape}, dtype {dtype}" + (
            f" on {self.device}" if self.array != "numpy" else "")
        if not self.is_native(obj):
            return f"the target returned {self.describe(obj)}; expected a {want}"
        device_ok = self.array == "numpy" or str(obj.device).split(":")[0] == self.device or (
            self.array == "cupy")
        if tuple(obj.shape) != tuple(shape) or self.dtype_name(obj) != dtype or not device_ok:
            return f"the target returned a {self.describe(obj)}; expected a {want}"
        return None

    def to_numpy(self, obj: Any) -> np.ndarray:
        """A NumPy copy of ``obj`` (bfloat16 as float32); anything array-like goes through ``np.asarray``."""
        if self.array == "torch" and hasattr(obj, "detach"):
            t = obj.detach()
            if str(t.dtype) == "torch.bfloat16":
                t = t.float()
            return np.array(t.cpu().numpy(), copy=True)
        if hasattr(obj, "get") and not isinstance(obj, np.ndarray):
            return obj.get()
        return np.array(obj, copy=True)

    def synchronize(self) -> None:
        if self.device == "cuda":
            if self.array == "torch":
                self._lib().cuda.synchronize()
            else:
                self._lib().cuda.runtime.deviceSynchronize()


def load_adapter(array: str = "numpy", device: str = "cpu") -> Adapter:
    """The adapter for ``array`` on ``device``; :class:`SpecError` when the library or the device is missing."""
    if array not in ARRAYS:
        raise SpecError(f"array={array!r}: must be one of {', '.join(ARRAYS)}")
    if device not in DEVICES:
        raise SpecError(f"device={device!r}: must be one of {', '.join(DEVICES)}")
    if array == "numpy" and device != "cpu":
        raise SpecError(f"array='numpy', device={device!r}: NumPy arrays live on the CPU (use --array cupy or torch)")
    if array == "cupy" and device != "cuda":
        raise SpecError(f"array='cupy', device={device!r}: CuPy arrays live on a CUDA device (use --device cuda)")
    if array != "numpy":
        try:
            lib = importlib.import_module(array)
        except ImportError:
            raise SpecError(f"array={array!r}: {array} is not installed (pip install "
                            f"{'torch' if array == 'torch' else 'cupy-cuda12x'})") from None
        if device == "cuda":
            try:
                count = lib.cuda.device_count() if array == "torch" else lib.cuda.runtime.getDeviceCount()
            except Exception:  # noqa: BLE001 - a broken driver raises anything
                count = 0
            if not count:
                raise SpecError(f"device='cuda': {array} sees no CUDA device on this machine")
    return Adapter(array, device)


def as_target(a: np.ndarray, array: str = "numpy", device: str = "cpu", layout: str = "contiguous",
              dtype: str | None = None) -> Any:
    """``a`` converted for a target (used in printed repros)."""
    return load_adapter(array, device).to_target(a, dtype, layout)
