"""Real architectures written out (no downloads), with small channel counts so that running them is cheap."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn


def _cbr(cin: int, cout: int, k: int = 3, s: int = 1, p: int = 1, groups: int = 1, d: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, dilation=d, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU())


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.down = None
        if stride != 1 or cin != width:
            self.down = nn.Sequential(nn.Conv2d(cin, width, 1, stride, bias=False), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        cout = width * 4
        self.body = nn.Sequential(_cbr(cin, width, 1, 1, 0), _cbr(width, width, 3, stride, 1),
                                  nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.down is None else self.down(x)
        return torch.relu(self.body(x) + identity)


class ResNet(nn.Module):
    def __init__(self, block: type, layers: list[int], width: int = 2, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        stages, cin = [], width
        for i, count in enumerate(layers):
            w = width * 2**i
            for j in range(count):
                stages.append(block(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w * block.expansion
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stages(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


def resnet18() -> nn.Module:
    return ResNet(BasicBlock, [2, 2, 2, 2])


def resnet50() -> nn.Module:
    return ResNet(Bottleneck, [3, 4, 6, 3], width=1)


class VGG16(nn.Module):
    """VGG-16 with its Linear head on the flattened 7x7 map (no adaptive pool)."""

    def __init__(self, width: int = 1) -> None:
        super().__init__()
        cfg = [1, 1, "M", 2, 2, "M", 4, 4, 4, "M", 8, 8, 8, "M", 8, 8, 8, "M"]
        layers: list[nn.Module] = []
        cin = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v * width, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v * width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(cin * 7 * 7, 16), nn.ReLU(True), nn.Dropout(), nn.Linear(16, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


class UNetValid(nn.Module):
    """The U-Net of Ronneberger et al. (valid convs, crop and concat): 572 -> 388."""

    def __init__(self, c: int = 1, depth: int = 4) -> None:
        super().__init__()
        self.downs = nn.ModuleList()
        cin = 1
        for i in range(depth):
            self.downs.append(self._double(cin, c * 2**i))
            cin = c * 2**i
        self.bottom = self._double(cin, c * 2**depth)
        self.ups = nn.ModuleList()
        self.convs = nn.ModuleList()
        cin = c * 2**depth
        for i in reversed(range(depth)):
            self.ups.append(nn.ConvTranspose2d(cin, c * 2**i, 2, stride=2))
            self.convs.append(self._double(2 * c * 2**i, c * 2**i))
            cin = c * 2**i
        self.head = nn.Conv2d(cin, 2, 1)

    @staticmethod
    def _double(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.Conv2d(cout, cout, 3), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, conv, skip in zip(self.ups, self.convs, reversed(skips)):
            x = up(x)
            dh = (skip.size(2) - x.size(2)) // 2
            dw = (skip.size(3) - x.size(3)) // 2
            skip = skip[:, :, dh:dh + x.size(2), dw:dw + x.size(3)]
            x = conv(torch.cat([skip, x], dim=1))
        return self.head(x)


class UNetSame(nn.Module):
    """U-Net with same padding: skips concatenate without crops."""

    def __init__(self, c: int = 1, depth: int = 4) -> None:
        super().__init__()
        self.downs = nn.ModuleList([_cbr(1 if i == 0 else c * 2 ** (i - 1), c * 2**i) for i in range(depth)])
        self.pool = nn.MaxPool2d(2)
        self.bottom = _cbr(c * 2 ** (depth - 1), c * 2**depth)
        self.ups = nn.ModuleList([nn.ConvTranspose2d(c * 2 ** (i + 1), c * 2**i, 2, 2) for i in reversed(range(depth))])
        self.convs = nn.ModuleList([_cbr(c * 2 ** (i + 1), c * 2**i) for i in reversed(range(depth))])
        self.head = nn.Conv2d(c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for up, conv, skip in zip(self.ups, self.convs, reversed(skips)):
            x = conv(torch.cat([up(x), skip], 1))
        return self.head(x)


class FPN(nn.Module):
    """A three-level feature pyramid: strided backbone, 1x1 laterals, nearest upsample + add."""

    def __init__(self, c: int = 2) -> None:
        super().__init__()
        self.c1 = _cbr(3, c, 3, 2, 1)
        self.c2 = _cbr(c, 2 * c, 3, 2, 1)
        self.c3 = _cbr(2 * c, 4 * c, 3, 2, 1)
        self.l1, self.l2, self.l3 = nn.Conv2d(c, c, 1), nn.Conv2d(2 * c, c, 1), nn.Conv2d(4 * c, c, 1)
        self.smooth = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f1 = self.c1(x)
        f2 = self.c2(f1)
        f3 = self.c3(f2)
        p3 = self.l3(f3)
        p2 = self.l2(f2) + F.interpolate(p3, scale_factor=2, mode="nearest")
        p1 = self.l1(f1) + F.interpolate(p2, scale_factor=2.0, mode="nearest")
        return self.smooth(p1), p2, p3


class MobileNetBlocks(nn.Module):
    """Two inverted-residual blocks (MobileNetV2): 1x1 expand, 3x3 depthwise, 1x1 project; residual at stride 1."""

    def __init__(self, c: int = 4, expand: int = 2) -> None:
        super().__init__()
        self.stem = _cbr(3, c, 3, 2, 1)
        h = c * expand
        self.block1 = nn.Sequential(_cbr(c, h, 1, 1, 0), _cbr(h, h, 3, 1, 1, groups=h), nn.Conv2d(h, c, 1, bias=False),
                                    nn.BatchNorm2d(c))
        self.block2 = nn.Sequential(_cbr(c, h, 1, 1, 0), _cbr(h, h, 3, 2, 1, groups=h), nn.Conv2d(h, 2 * c, 1),
                                    nn.ReLU6())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = x + self.block1(x)
        return self.block2(x)


class ASPP(nn.Module):
    """DeepLab's atrous spatial pyramid pooling: dilated branches + image pooling, concatenated."""

    def __init__(self, cin: int = 3, c: int = 2, rates: tuple[int, ...] = (6, 12, 18)) -> None:
        super().__init__()
        self.stem = _cbr(cin, c, 3, 2, 1)
        self.branches = nn.ModuleList([_cbr(c, c, 1, 1, 0)] + [_cbr(c, c, 3, 1, r, d=r) for r in rates])
        self.image = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1), nn.ReLU())
        self.project = _cbr(c * (len(rates) + 2), c, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        outs = [b(x) for b in self.branches]
        outs.append(F.interpolate(self.image(x), size=x.shape[-2:], mode="bilinear", align_corners=False))
        return self.project(torch.cat(outs, dim=1))


class TCN(nn.Module):
    """A 1-D temporal conv net: causal dilated convs (pad both sides, chomp the end) with residuals."""

    def __init__(self, c: int = 2, k: int = 3, levels: int = 3) -> None:
        super().__init__()
        self.k = k
        self.convs = nn.ModuleList([nn.Conv1d(1 if i == 0 else c, c, k, padding=(k - 1) * 2**i, dilation=2**i)
                                    for i in range(levels)])
        self.skip = nn.Conv1d(1, c, 1)
        self.pool = nn.MaxPool1d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.skip(x)
        for i, conv in enumerate(self.convs):
            chomp = (self.k - 1) * 2**i
            x = torch.relu(conv(x)[:, :, :-chomp])
            x = x + res
            res = x
        return self.pool(x)


class Net3D(nn.Module):
    """A small 3-D conv net: strided conv, pool, transposed conv, global pool, linear head."""

    def __init__(self, c: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(1, c, 3, stride=(1, 2, 2), padding=1)
        self.pool = nn.MaxPool3d(2, ceil_mode=True)
        self.conv2 = nn.Conv3d(c, 2 * c, (3, 3, 3), padding=(0, 1, 1))
        self.up = nn.ConvTranspose3d(2 * c, c, 2, stride=2)
        self.gap = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(c, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.up(F.relu(self.conv2(self.pool(F.relu(self.conv1(x))))))
        return self.fc(self.gap(x).flatten(1))


#: name -> (factory, input shape with symbol names, fixed value of every other size for the 1-axis sweeps)
MODELS = {
    "resnet18": (resnet18, (1, 3, "H", "W"), {"H": 64, "W": 64}),
    "resnet50": (resnet50, (1, 3, "H", "W"), {"H": 64, "W": 64}),
    "vgg16": (VGG16, (1, 3, "H", "W"), {"H": 224, "W": 224}),
    "unet_valid": (UNetValid, (1, 1, "H", "W"), {"H": 188, "W": 188}),
    "unet_same": (UNetSame, (1, 1, "H", "W"), {"H": 32, "W": 32}),
    "fpn": (FPN, (1, 3, "H", "W"), {"H": 32, "W": 32}),
    "mobilenet": (MobileNetBlocks, (1, 3, "H", "W"), {"H": 32, "W": 32}),
    "aspp": (ASPP, (1, 3, "H", "W"), {"H": 32, "W": 32}),
    "tcn": (TCN, (1, 1, "T"), {"T": 32}),
    "net3d": (Net3D, (1, 1, "D", "H", "W"), {"D": 16, "H": 16, "W": 16}),
}
