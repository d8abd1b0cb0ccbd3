#!/usr/bin/python3
"""Export a CIFAR-10 ResNet-20 to ONNX, with RANDOM weights.

Purpose
-------
Builds the standard CIFAR ResNet-20 of He et al. (2016) and exports it for
tscc:

* conv3x3(3->16) + BN + ReLU;
* 3 stages x 3 basic blocks (conv3x3-BN-ReLU-conv3x3-BN, add, ReLU) with
  16, 32, 64 channels; the first block of stages 2 and 3 has stride 2 and a
  1x1 stride-2 conv + BN projection shortcut (option B), the others an
  identity shortcut;
* global average pooling (GlobalAveragePool) -> ``torch.flatten(x, 1)`` ->
  Linear 64 -> 10 (logits).

IMPORTANT: no CIFAR-10 data (and no pretrained weights) is reachable from
this environment, so the weights are random: seeded Kaiming-normal (fan_in,
ReLU gain) conv/linear weights, and every BatchNorm gets seeded non-trivial
weight, bias, running_mean and running_var.  The accuracy is meaningless;
only the agreement between tscc's spiking network and this ANN is meaningful.

Export: eval mode, opset 13, constant folding, input ``input``
[batch,3,32,32], output ``logits`` [batch,10], dynamic batch axis.  By default
the export uses training=TrainingMode.PRESERVE (with the model in eval mode),
which keeps the 21 BatchNormalization nodes in the graph so that tscc folds
them itself; ``--fold-bn`` uses torch's default (TrainingMode.EVAL), which
folds every BN into its Conv.  The file is about 1.1 MB and is not
committed.

With ``--calib OUT.npy [--n 256]`` the script also writes a seeded set of
stand-in calibration images, float32 [n,3,32,32] in [0,1]: Fashion-MNIST
*training* images (Debian package dataset-fashion-mnist) resized to 32x32
(bilinear) and replicated to 3 channels.

How to run (from the repository root, with Debian's python which has torch):

    /usr/bin/python3 examples/resnet20-cifar/export.py [OUT.onnx] [--calib calib.npy --n 256]

OUT.onnx defaults to ``resnet20-cifar.onnx`` in the current directory.
``--skip-onnx`` writes only the calibration set.  Everything is seeded and
deterministic.
"""

import argparse
import gzip
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
CALIB_SEED = 2024  # same seed in examples/vgg16-cifar and examples/resnet20-cifar: same stand-in images


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        if stride != 1 or c_in != c_out:
            # option B: 1x1 projection + BN where the shape changes
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, num_classes=10, blocks_per_stage=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages, c_in = [], 16
        for i, c in enumerate([16, 32, 64]):
            blocks = []
            for j in range(blocks_per_stage):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock(c_in, c, stride))
                c_in = c
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def build_model(seed=SEED):
    torch.manual_seed(seed)
    model = ResNet20()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(0.01 * torch.randn(m.bias.shape, generator=gen))
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))          # [0.5, 1.5)
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.2 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))     # [0.5, 1.5)
    return model.eval()


# --------------------------------------------------------------------------
# stand-in calibration data
# --------------------------------------------------------------------------
def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[4 * i: 4 * i + 4], "big") for i in (1, 2, 3))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, h, w)


def make_calib(n, data_dir=DEFAULT_DATA_DIR, size=32, channels=3, seed=CALIB_SEED):
    """Seeded sample of Fashion-MNIST training images -> float32 [n,channels,size,size] in [0,1]."""
    imgs = read_idx_images(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(imgs), size=n, replace=False))
    x = torch.from_numpy(imgs[idx].astype(np.float32) / 255.0)[:, None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)
    return x.repeat(1, channels, 1, 1).contiguous().numpy()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Export a CIFAR-10 ResNet-20 (random weights) to ONNX.")
    ap.add_argument("output", nargs="?", default="resnet20-cifar.onnx", help="ONNX path (default: %(default)s)")
    ap.add_argument("--calib", metavar="OUT.npy", help="also write stand-in calibration images here")
    ap.add_argument("--n", type=int, default=256, help="number of calibration images (default: %(default)s)")
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="Fashion-MNIST idx folder")
    ap.add_argument("--fold-bn", action="store_true", help="let torch fold BatchNorm into Conv (its default)")
    ap.add_argument("--skip-onnx", action="store_true", help="do not export the model")
    args = ap.parse_args(argv)

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)

    if not args.skip_onnx:
        import onnx

        t0 = time.time()
        model = build_model()
        n_params = sum(p.numel() for p in model.parameters())
        training = torch.onnx.TrainingMode.EVAL if args.fold_bn else torch.onnx.TrainingMode.PRESERVE
        with warnings.catch_warnings():
            # PRESERVE + constant folding warns about models in *training* mode; ours is in eval mode.
            warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
            torch.onnx.export(
                model, torch.zeros(1, 3, 32, 32), args.output,
                opset_version=13,
                do_constant_folding=True,
                training=training,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            )
        m = onnx.load(args.output)
        entry = m.metadata_props.add()
        entry.key, entry.value = "tscc.weights", "random (seeded Kaiming-normal, random BN stats); accuracy is meaningless"
        onnx.save(m, args.output)
        onnx.checker.check_model(args.output)
        counts = {}
        for n in m.graph.node:
            counts[n.op_type] = counts.get(n.op_type, 0) + 1
        ops = ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))
        print(f"wrote {args.output}: {os.path.getsize(args.output) / 1e6:.2f} MB, {n_params / 1e6:.3f} M params, "
              f"ops: {ops}, {time.time() - t0:.1f}s")

    if args.calib:
        x = make_calib(args.n, args.data_dir)
        os.makedirs(os.path.dirname(os.path.abspath(args.calib)), exist_ok=True)
        np.save(args.calib, x)
        print(f"wrote {args.calib}: float32 {list(x.shape)}, range [{x.min():.3f}, {x.max():.3f}], "
              f"mean {x.mean():.4f} (Fashion-MNIST training images, seeded sample, 32x32 bilinear, 3 channels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
