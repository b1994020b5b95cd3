"""Index maps (stage 3): the single source of index arithmetic for every operator and backend."""

from .affine import AdaptiveAxisMap, AxisMap, fold_index
from .maps import KINDS, ChannelMap, IndexMap, index_map

__all__ = ["AxisMap", "AdaptiveAxisMap", "fold_index", "IndexMap", "ChannelMap", "index_map", "KINDS"]
