"""Loading a target named ``'package.module:function'`` or ``'path/to/file.py:function'``.

>>> load_target("convalg.reference:conv").__name__
'conv'
>>> target_label("convalg.reference:conv")
'convalg.reference:conv'
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["load_target", "target_label"]


def target_label(spec: str) -> str:
    """``spec`` with a file path made absolute, so a printed repro loads it from any directory."""
    mod_name, sep, attr = spec.rpartition(":")
    if sep and mod_name.endswith(".py"):
        return f"{Path(mod_name).resolve()}:{attr}"
    return spec


def load_target(spec: str) -> Callable[..., Any]:
    """Import ``'package.module:function'`` or ``'path/to/file.py:function'`` (dotted attributes allowed)."""
    if ":" not in spec:
        raise ValueError(f"target={spec!r}: expected 'package.module:function' or 'file.py:function'")
    mod_name, attr = spec.rsplit(":", 1)
    if mod_name.endswith(".py"):
        path = Path(mod_name).resolve()
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules.setdefault(path.stem, module)
        module_spec.loader.exec_module(module)
    else:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        module = importlib.import_module(mod_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"target={spec!r}: {attr} is not callable")
    return obj
