"""Index maps (stage 3): the single source of index arithmetic for every operator and backend."""

from .affine import AdaptiveAxisMap, AxisMap, effective_kernel, fold_index
from .maps import KINDS, ChannelMap, IndexMap, index_map
from .slab import SlabAxis, slab_axis, slab_geometry

__all__ = ["AxisMap", "AdaptiveAxisMap", "fold_index", "IndexMap", "ChannelMap", "index_map", "KINDS",
           "effective_kernel", "SlabAxis", "slab_axis", "slab_geometry"]
