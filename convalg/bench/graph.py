"""Benchmark: a full-width ResNet-50 imported with ``from_torch``, propagated with symbolic ``H, W``,
and its accepted sizes solved on both axes (target < 2 s).  Needs torch.

    convalg bench graph [--runs 5]

Each run clears SymPy's cache first, so runs are cold and comparable.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import Any

from sympy.core.cache import clear_cache

from ..graph.torch_import import from_torch

__all__ = ["main", "resnet50", "time_resnet50"]


def resnet50() -> Any:
    """torchvision's ResNet-50 layout (bottlenecks 3, 4, 6, 3; widths 64..2048), written out."""
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = 4 * width
            self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
            self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
            self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                               nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, count in enumerate((3, 4, 6, 3)):
        for j in range(count):
            layers.append(Bottleneck(cin, 64 * 2**i, 2 if (j == 0 and i > 0) else 1))
            cin = 4 * 64 * 2**i
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers).eval()


def time_resnet50(model: Any) -> tuple[float, Any]:
    """Seconds for import + propagation + accepted sizes on H and W (cold SymPy cache)."""
    clear_cache()
    t0 = time.perf_counter()
    g = from_torch(model, (1, 3, "H", "W"))
    answer = (g.output_shape, str(g.accepted_sizes("H")), str(g.accepted_sizes("W")))
    return time.perf_counter() - t0, answer


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="convalg bench graph", description=__doc__)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    model = resnet50()
    times = []
    for _ in range(args.runs):
        seconds, answer = time_resnet50(model)
        times.append(seconds)
    print(f"ResNet-50 (torch.fx import + symbolic propagation + accepted sizes on H and W): "
          f"median {statistics.median(times):.3f} s, min {min(times):.3f} s over {args.runs} runs (target < 2 s)")
    print(f"output {answer[0]}; accepted {answer[1]}; {answer[2]}")
    return 0
