#!/usr/bin/python3
"""Export the CIFAR-10 VGG-16 of the TSC paper to ONNX, with RANDOM weights.

Purpose
-------
Builds the VGG-16 used for CIFAR-10 in the Temporal-Switch-Coding (TSC)
conversion literature and exports it for tscc:

* 13 conv layers, 3x3, pad 1, each + ReLU, channels
  64,64,A,128,128,A,256,256,256,A,512,512,512,A,512,512,512,A where
  A = AvgPool2d(2) (this line of conversion work uses average pooling and no
  BatchNorm); 32x32 -> 1x1 after five pools;
* ``torch.flatten(x, 1)`` (512) -> Linear 4096 -> ReLU -> Dropout(0.5) ->
  Linear 4096 -> ReLU -> Dropout(0.5) -> Linear 10 (logits).

IMPORTANT: no CIFAR-10 data (and no pretrained weights) is reachable from
this environment, so the weights are random: seeded Kaiming-normal (fan_in,
ReLU gain) for conv and linear weights, small seeded random biases
(N(0, 0.01^2)).  The network's accuracy is meaningless; only the agreement
between tscc's spiking network and this ANN (same inputs) is meaningful.

Export: torch.onnx.export in eval mode, opset 13, constant folding, input
``input`` [batch,3,32,32], output ``logits`` [batch,10], dynamic batch axis.
The file is about 135 MB (33.6 M parameters; the two 4096-wide FC layers hold
half of them) and is NOT committed: regenerate it when needed.

With ``--calib OUT.npy [--n 256]`` the script also writes a seeded set of
stand-in calibration images, float32 [n,3,32,32] in [0,1]: Fashion-MNIST
*training* images (Debian package dataset-fashion-mnist) resized to 32x32
(bilinear) and replicated to 3 channels, which gives activation statistics
closer to natural images than uniform noise would.

How to run (from the repository root, with Debian's python which has torch):

    /usr/bin/python3 examples/vgg16-cifar/export.py [OUT.onnx] [--calib calib.npy --n 256]

OUT.onnx defaults to ``vgg16-cifar.onnx`` in the current directory.
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

SEED = 16
CFG = [64, 64, "A", 128, 128, "A", 256, 256, 256, "A", 512, 512, 512, "A", 512, 512, 512, "A"]
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
CALIB_SEED = 2024  # same seed in examples/vgg16-cifar and examples/resnet20-cifar: same stand-in images


class Vgg16Cifar(nn.Module):
    def __init__(self, num_classes=10, pool="avg", bn=False, width=4096):
        super().__init__()
        layers, c_in = [], 3
        for v in CFG:
            if v == "A":
                layers.append(nn.AvgPool2d(2) if pool == "avg" else nn.MaxPool2d(2))
            else:
                # With BatchNorm the conv has no bias (the BN's shift replaces it), as in torchvision.
                layers.append(nn.Conv2d(c_in, v, 3, padding=1, bias=not bn))
                if bn:
                    layers.append(nn.BatchNorm2d(v))
                layers.append(nn.ReLU(inplace=True))
                c_in = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512, width), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(width, width), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(width, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def build_model(seed=SEED, pool="avg", bn=False, width=4096):
    torch.manual_seed(seed)
    model = Vgg16Cifar(pool=pool, bn=bn, width=width)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(0.01 * torch.randn(m.bias.shape, generator=gen))
            elif isinstance(m, nn.BatchNorm2d):
                # Seeded non-trivial statistics (as in examples/resnet20-cifar), so folding them matters.
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


def make_noise(n, size=32, channels=3, seed=CALIB_SEED):
    """Seeded uniform noise in [0, 1): float32 [n,channels,size,size] (what a new user tries first)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, channels, size, size), dtype=np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Export the CIFAR-10 VGG-16 (random weights) to ONNX.")
    ap.add_argument("output", nargs="?", default="vgg16-cifar.onnx", help="ONNX path (default: %(default)s)")
    ap.add_argument("--calib", metavar="OUT.npy", help="also write stand-in calibration images here")
    ap.add_argument("--n", type=int, default=256, help="number of calibration images (default: %(default)s)")
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="Fashion-MNIST idx folder")
    ap.add_argument("--calib-source", choices=["images", "noise"], default="images",
                    help="calibration set: Fashion-MNIST stand-in images or seeded uniform noise in [0,1)")
    ap.add_argument("--pool", choices=["avg", "max"], default="avg", help="pooling layers (default: %(default)s)")
    ap.add_argument("--bn", action="store_true",
                    help="BatchNorm after every conv (kept as BatchNormalization nodes; tscc folds them)")
    ap.add_argument("--width", type=int, choices=[512, 4096], default=4096,
                    help="width of the two hidden classifier layers (default: %(default)s)")
    ap.add_argument("--skip-onnx", action="store_true", help="do not export the model")
    args = ap.parse_args(argv)

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)

    if not args.skip_onnx:
        import onnx

        t0 = time.time()
        model = build_model(pool=args.pool, bn=args.bn, width=args.width)
        n_params = sum(p.numel() for p in model.parameters())
        # BN models keep their BatchNormalization nodes (PRESERVE, model in eval mode) so that tscc
        # folds them; torch's default (EVAL) would fold them into the convs itself.
        training = torch.onnx.TrainingMode.PRESERVE if args.bn else torch.onnx.TrainingMode.EVAL
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
        bn_note = ", random BN stats" if args.bn else ""
        entry.key, entry.value = "tscc.weights", f"random (seeded Kaiming-normal{bn_note}); accuracy is meaningless"
        onnx.save(m, args.output)
        onnx.checker.check_model(args.output)
        ops = sorted({n.op_type for n in m.graph.node})
        print(f"wrote {args.output}: {os.path.getsize(args.output) / 1e6:.1f} MB, {n_params / 1e6:.2f} M params, "
              f"{len(m.graph.node)} nodes ({', '.join(ops)}), {time.time() - t0:.1f}s")

    if args.calib:
        if args.calib_source == "noise":
            x, what = make_noise(args.n), "seeded uniform noise in [0,1)"
        else:
            x, what = make_calib(args.n, args.data_dir), "Fashion-MNIST training images, seeded sample, 32x32 bilinear, 3 channels"
        os.makedirs(os.path.dirname(os.path.abspath(args.calib)), exist_ok=True)
        np.save(args.calib, x)
        print(f"wrote {args.calib}: float32 {list(x.shape)}, range [{x.min():.3f}, {x.max():.3f}], "
              f"mean {x.mean():.4f} ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
