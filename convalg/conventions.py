"""Other frameworks' padding conventions (``from convalg.conventions import ...``).

The implementation lives in :mod:`convalg.spec.conventions`; this module is
its public address.

>>> from convalg.conventions import explicit_padding
>>> explicit_padding("SAME", 3, stride=2, n=224)
((0, 1),)
"""

from .spec.conventions import CONVENTIONS, explicit_padding, onnx_pads, tf_output_size, torch_pad_tuple

__all__ = ["CONVENTIONS", "explicit_padding", "onnx_pads", "torch_pad_tuple", "tf_output_size"]
