#!/usr/bin/python3
"""Export torchvision's ImageNet VGG-16 with RANDOM weights to ONNX (benchmark input).

Purpose
-------
A large model (138 M parameters, about 550 MB of ONNX) for tscc's import and
compile benchmarks.  Built with ``torchvision.models.vgg16(weights=None)``:
torchvision's own seeded random initialisation, NO pretrained weights are
downloaded (there is no network here anyway).  Accuracy is meaningless; the
file only exercises size and speed (protobuf parsing, large initializers,
conversion of big Conv/Gemm layers).

The graph: 13 Conv+ReLU, 5 MaxPool, AdaptiveAvgPool2d((7,7)) (exported as an
AveragePool with a 1x1 kernel for a 224x224 input), Flatten, 3 Gemm (with
Dropout removed in eval mode).  torchvision initialises every bias to zero,
and torch 1.13's exporter de-duplicates equal initializers: 10 of the 16
biases become ``Identity`` nodes reading another layer's (equal) bias
initializer, so an importer must resolve Identity-of-initializer.

Export: eval mode, opset 13, constant folding, input ``input``
[batch,3,224,224], output ``logits`` [batch,1000], dynamic batch axis.  The
file (553 MB) is not committed: generate it when needed.

How to run (from the repository root, with Debian's python which has torch):

    /usr/bin/python3 bench/make_vgg16_imagenet.py /tmp/vgg16.onnx

It takes well under a minute and about 2-3 GB of memory on 2 cores.
"""

import argparse
import os
import sys
import time

import torch


def main(argv=None):
    ap = argparse.ArgumentParser(description="Export torchvision vgg16 (random weights) to ONNX.")
    ap.add_argument("output", nargs="?", default="vgg16.onnx", help="ONNX path (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="torch seed for the random init (default: %(default)s)")
    ap.add_argument("--no-check", action="store_true", help="skip onnx.checker (saves time and memory)")
    args = ap.parse_args(argv)

    import torchvision

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    t0 = time.time()
    model = torchvision.models.vgg16(weights=None).eval()
    n_params = sum(p.numel() for p in model.parameters())
    t1 = time.time()
    torch.onnx.export(
        model, torch.zeros(1, 3, 224, 224), args.output,
        opset_version=13,
        do_constant_folding=True,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    t2 = time.time()
    size = os.path.getsize(args.output)
    msg = (f"wrote {args.output}: {size / 1e6:.1f} MB ({size} bytes), {n_params / 1e6:.1f} M params; "
           f"build {t1 - t0:.1f}s, export {t2 - t1:.1f}s")
    if not args.no_check:
        import onnx

        onnx.checker.check_model(args.output)  # path form: works for models > 2 GB too
        m = onnx.load(args.output)
        counts = {}
        for n in m.graph.node:
            counts[n.op_type] = counts.get(n.op_type, 0) + 1
        msg += f", check {time.time() - t2:.1f}s; ops: " + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))
    print(msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
