#!/usr/bin/python3
"""Train the Fashion-MNIST example networks for tscc and export them to ONNX.

Purpose
-------
tscc converts trained ReLU networks (ONNX) into Temporal-Switch-Coded spiking
networks.  This script produces the small, *real* (trained) models and data
subsets that the examples and end-to-end tests use:

* ``cnn-small.onnx`` -- small CNN on raw pixels in [0, 1] (no normalisation):
  Conv(1->16,3x3,p1)+ReLU+MaxPool2 -> Conv(16->32,3x3,p1)+ReLU+MaxPool2 ->
  ``x.view(x.size(0), -1)`` (exports Shape->Gather->Unsqueeze->Concat->Reshape)
  -> Linear(1568->128)+ReLU -> Linear(128->10).  Output: logits.
* ``vgg-bn.onnx`` -- VGG-style net, 7 conv layers (3x3, pad 1) each followed by
  BatchNorm2d + ReLU, average pooling (AvgPool2d(2)):
  16,16,A,32,32,A,64,64,64,A -> ``torch.flatten(x, 1)`` -> Dropout(0.2) ->
  Linear(576->128)+ReLU -> Linear(128->10).  Trained on *normalised* input
  ``x_norm = (x - INPUT_MEAN) / INPUT_STD`` with INPUT_MEAN = 0.2860 and
  INPUT_STD = 0.3530; the ONNX model expects normalised input (tscc folds the
  normalisation into layer 1 via ``--mean 0.2860 --std 0.3530``).  The
  constants are also stored in the model's metadata_props as
  ``tscc.input_mean`` / ``tscc.input_std`` (comma-separated, one per channel).
* ``vgg-bn-qat{2,4,8}.onnx`` -- vgg-bn with every hidden ReLU replaced
  by a QCFS activation of L = 2 / 4 / 8 levels (Bu et al., ICLR 2022:
  lam * clip(floor(z * L / lam + 1/2) / L, 0, 1), trainable lam per layer,
  straight-through floor), on raw pixels in [0,1] quantised at the input with
  lam = 1.  Fine-tuned (``--qat 2,4,8``) from the float weights in vgg-bn.onnx;
  exported as plain ONNX ops (qat2 and qat4 floor first, qat8 clamp first).
* ``test-images.npy`` float32 [1000,1,28,28] in [0,1]: first 1000 t10k images.
* ``test-labels.npy`` int64 [1000]: their labels.
* ``calib-images.npy`` float32 [1000,1,28,28] in [0,1]: a seeded random sample
  of the *training* set (calibration never sees test data).
* ``calib-labels.npy`` int64 [1000]: their training-set labels.
* ``training-log.json``: measured record (epochs, final train loss, accuracy on
  the full 10k test set and on the 1000-image subset, seconds, torch version).

Training: 3 epochs, Adam with a per-step cosine learning-rate decay to 0, no
augmentation; cnn-small lr 2e-3 and batch 64, vgg-bn lr 1e-3 and batch 128.

Both models are exported with torch.onnx.export, opset 13, constant folding,
input name ``input``, output name ``logits`` and a dynamic batch axis, in eval
mode, and checked with ``onnx.checker.check_model``.  torch 1.13's default
export (training=TrainingMode.EVAL) folds BatchNorm into the preceding Conv;
vgg-bn is therefore exported with training=TrainingMode.PRESERVE (model still
in eval mode: same inference graph, running statistics used, Dropout dropped)
so that its 7 BatchNormalization nodes stay in the ONNX graph for tscc to fold.

Data source: the Debian package ``dataset-fashion-mnist``
(/usr/share/datasets/fashion-mnist/*.gz, idx format, read with gzip + numpy).
Nothing is downloaded.

How to rerun (from the repository root, with Debian's python which has torch):

    /usr/bin/python3 examples/fashion-mnist/train.py

Options: ``--out-dir DIR`` (default: this script's folder), ``--data-dir DIR``,
``--epochs N`` (default 3), ``--only NAME``, ``--qat L[,L...]`` (only the QAT
variants, fine-tuned from OUT_DIR/vgg-bn.onnx), ``--qat-epochs N`` (default 2).  Training is seeded and
uses deterministic algorithms on 2 CPU threads, so a rerun on the same software
stack gives byte-identical outputs; the float nets take about 10-20 minutes on 2 (shared) cores,
each QAT variant (2 epochs) took 1.1-1.4 hours on the same cores under heavy load from other jobs.
"""

import argparse
import gzip
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"

# Normalisation constants of the vgg-bn net (Fashion-MNIST training-set pixel
# mean and standard deviation, pixels scaled to [0, 1]).
INPUT_MEAN = 0.2860
INPUT_STD = 0.3530

SEED = 20240611
BATCH_SIZE = 128
N_SUBSET = 1000


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def read_idx(path):
    """Read a gzip-compressed idx file (images: uint8 [N,H,W]; labels: uint8 [N])."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dtype_code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    if dtype_code != 0x08:
        raise ValueError(f"{path}: expected unsigned-byte idx data, got type 0x{dtype_code:02x}")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    arr = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch {arr.size} vs {dims}")
    return arr.reshape(dims)


def load_split(data_dir, split):
    """Return (images float32 [N,1,28,28] in [0,1], labels int64 [N])."""
    prefix = "train" if split == "train" else "t10k"
    imgs = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = (imgs.astype(np.float32) / 255.0)[:, None, :, :]
    y = labels.astype(np.int64)
    return x, y


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------
class CnnSmall(nn.Module):
    """Small CNN on raw [0,1] pixels."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)  # exported as Shape->Gather->Unsqueeze->Concat->Reshape
        x = F.relu(self.fc1(x))
        return self.fc2(x)


class VggBn(nn.Module):
    """VGG-style net: 7 x (Conv3x3 + BN + ReLU), AvgPool2d(2), on normalised input."""

    CFG = [16, 16, "A", 32, 32, "A", 64, 64, 64, "A"]

    def __init__(self):
        super().__init__()
        layers = []
        c_in = 1
        for v in self.CFG:
            if v == "A":
                layers.append(nn.AvgPool2d(2))
            else:
                layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                c_in = v
        self.features = nn.Sequential(*layers)
        # 28 -> 14 -> 7 -> 3 (floor)
        self.classifier = nn.Sequential(
            nn.Dropout(0.2),
            nn.Linear(64 * 3 * 3, 128),
            nn.ReLU(inplace=True),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def floor_ste(u):
    """floor(u) in the forward pass, identity gradient (straight-through) in the backward pass.
    Inside torch.onnx.export it is a plain Floor, so the exported graph has no training-only ops."""
    if torch.onnx.is_in_onnx_export():
        return torch.floor(u)
    return u + (torch.floor(u) - u).detach()


class Qcfs(nn.Module):
    """QCFS activation (Bu et al., ICLR 2022): h(z) = lam * clip(floor(z * L / lam + 1/2) / L, 0, 1),
    L quantisation levels, a trainable scale lam (the value of level L) and shift phi = 1/2.

    order "floor-first" is the paper's arrangement (ONNX: Div lam, Mul L, Add 0.5, Floor, Div L,
    Clip(0, 1), Mul lam); "clamp-first" computes lam * floor(clip(z / lam, 0, 1) * L + 1/2) / L (ONNX:
    Div lam, Clip(0, 1), Mul L, Add 0.5, Floor, Div L, Mul lam), the same function for phi in [0, 1).
    lam=None is the input quantiser with lam = 1 (no Div/Mul by lam in the graph)."""

    def __init__(self, levels, lam, order):
        super().__init__()
        if order not in ("floor-first", "clamp-first"):
            raise ValueError(order)
        self.levels, self.order = levels, order
        self.lam = None if lam is None else nn.Parameter(torch.tensor(float(lam)))

    def forward(self, z):
        L = self.levels
        u = z if self.lam is None else z / self.lam
        if self.order == "floor-first":
            q = torch.clamp(floor_ste(u * L + 0.5) / L, 0, 1)
        else:
            q = floor_ste(torch.clamp(u, 0, 1) * L + 0.5) / L
        return q if self.lam is None else q * self.lam


class VggBnQat(VggBn):
    """vgg-bn with every hidden ReLU replaced by a QCFS activation of `levels` levels, on raw pixels in
    [0, 1] quantised at the input to the same grid with lam = 1: x_q = clip(floor(x*L + 1/2), 0, L) / L
    (a TSC encoder with T = L and round-half-up reproduces it exactly). The module indices of vgg-bn
    are kept, so its state dict (and the initializer names of vgg-bn.onnx) load unchanged."""

    def __init__(self, levels, order):
        super().__init__()
        self.input_quant = Qcfs(levels, None, order)
        for seq in (self.features, self.classifier):
            for i, mod in enumerate(seq):
                if isinstance(mod, nn.ReLU):
                    seq[i] = Qcfs(levels, 1.0, order)

    def qcfs_layers(self):
        return [m for m in self.modules() if isinstance(m, Qcfs) and m.lam is not None]

    def forward(self, x):
        return super().forward(self.input_quant(x))


# name -> constructor, trained on normalised input?, keep BatchNormalization
# nodes in the export?, Adam learning rate (cosine-annealed per step to 0), batch size
NETS = {
    "cnn-small": dict(ctor=CnnSmall, normalise=False, keep_bn=False, lr=2e-3, batch=64),
    "vgg-bn": dict(ctor=VggBn, normalise=True, keep_bn=True, lr=1e-3, batch=BATCH_SIZE),
}

# QAT variants of vgg-bn (--qat L): fine-tuned from vgg-bn.onnx; the shipped ones export the QCFS chain
# in the two orders tscc recognises (L = 2 and 4 the paper's floor-first, L = 8 clamp-first).
QAT_ORDER = {2: "floor-first", 4: "floor-first", 8: "clamp-first"}
QAT_LR = 3e-4  # Adam, cosine-annealed per step to 0; lam gets QAT_LAMBDA_LR
QAT_LAMBDA_LR = 1e-2
QAT_EPOCHS = 2
QAT_LAMBDA_PERCENTILE = 99.9


def qat_name(levels):
    return f"vgg-bn-qat{levels}"


# --------------------------------------------------------------------------
# training / evaluation
# --------------------------------------------------------------------------
def prep(x, normalise):
    return (x - INPUT_MEAN) / INPUT_STD if normalise else x


@torch.no_grad()
def evaluate(model, x, y, normalise, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        xb = prep(torch.from_numpy(x[i:i + batch]), normalise)
        pred = model(xb).argmax(1).numpy()
        correct += int((pred == y[i:i + batch]).sum())
    return correct / len(x)


def fit(name, model, opt, epochs, batch_size, normalise, x_train, y_train, x_test, y_test):
    """Train `model` with `opt` (cosine-annealed per step to 0) on shuffled batches; returns the mean
    training loss of the last epoch and the seconds taken."""
    steps = epochs * ((len(x_train) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = torch.Generator().manual_seed(SEED + 1)
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train)
    t0 = time.time()
    last_epoch_loss = float("nan")
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total, n = 0.0, 0
        for i in range(0, len(xt), batch_size):
            idx = perm[i:i + batch_size]
            xb = prep(xt[idx], normalise)
            yb = yt[idx]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
            n += len(idx)
        last_epoch_loss = total / n
        acc = evaluate(model, x_test, y_test, normalise)
        print(f"  [{name}] epoch {epoch + 1}/{epochs}: train loss {last_epoch_loss:.4f}, "
              f"test acc {acc * 100:.2f}%  ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    return last_epoch_loss, time.time() - t0


def train_net(name, x_train, y_train, x_test, y_test, epochs):
    cfg = NETS[name]
    torch.manual_seed(SEED)
    model = cfg["ctor"]()
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    loss, seconds = fit(name, model, opt, epochs, cfg["batch"], cfg["normalise"], x_train, y_train, x_test, y_test)
    return model, loss, seconds


def float_vgg_bn_state(onnx_path):
    """vgg-bn's trained parameters and BatchNorm statistics, read from its ONNX initializers (named by
    the state-dict keys), with the input normalisation folded into conv 1 (W/std, b - sum(W)*mean/std)
    so that the net takes raw pixels in [0, 1]. Exact except at the zero-padded border, which the
    fine-tuning absorbs."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(onnx_path)
    sd = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    w, b = sd["features.0.weight"], sd["features.0.bias"]
    sd["features.0.bias"] = b - w.sum(dim=(1, 2, 3)) * (INPUT_MEAN / INPUT_STD)
    sd["features.0.weight"] = w / INPUT_STD
    return sd


@torch.no_grad()
def relu_percentiles(state, x, percentile):
    """The `percentile` of the positive outputs of every ReLU of the float vgg-bn (raw-pixel form)."""
    model = VggBn()
    model.load_state_dict(state, strict=False)
    model.eval()
    seen = []
    hooks = [mod.register_forward_hook(lambda _m, _i, out: seen.append(out.detach().flatten().numpy().copy()))
             for mod in model.modules() if isinstance(mod, nn.ReLU)]
    model(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    return [float(np.percentile(v[v > 0], percentile)) for v in seen]


def train_qat(levels, float_onnx, x_calib, x_train, y_train, x_test, y_test, epochs):
    """Fine-tune vgg-bn with L-level QCFS activations from the float weights in `float_onnx`; every
    lam starts at the QAT_LAMBDA_PERCENTILE percentile of the float ReLU it replaces (calibration
    images) and is trained with the weights."""
    name = qat_name(levels)
    torch.manual_seed(SEED)
    model = VggBnQat(levels, QAT_ORDER.get(levels, "floor-first"))
    state = float_vgg_bn_state(float_onnx)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not (k.endswith(".lam") or k.endswith("num_batches_tracked")) for k in missing):
        raise RuntimeError(f"{float_onnx} does not match vgg-bn: missing {missing}, unexpected {unexpected}")
    lams = relu_percentiles(state, x_calib, QAT_LAMBDA_PERCENTILE)
    for q, lam in zip(model.qcfs_layers(), lams):
        q.lam.data.fill_(lam)
    print(f"  [{name}] initial lambda: {', '.join(f'{v:.3f}' for v in lams)}")
    acc0 = evaluate(model, x_test, y_test, False)
    print(f"  [{name}] before fine-tuning: test acc {acc0 * 100:.2f}%")
    lam_params = [q.lam for q in model.qcfs_layers()]
    lam_ids = {id(p) for p in lam_params}
    opt = torch.optim.Adam([
        {"params": [p for p in model.parameters() if id(p) not in lam_ids], "lr": QAT_LR},
        {"params": lam_params, "lr": QAT_LAMBDA_LR},
    ])
    loss, seconds = fit(name, model, opt, epochs, BATCH_SIZE, False, x_train, y_train, x_test, y_test)
    return model, loss, seconds, acc0, lams


def export_onnx(model, path, metadata=None, keep_batchnorm=False):
    """Export in eval mode.  torch 1.13's default (training=EVAL) folds every
    BatchNorm into the preceding Conv; with keep_batchnorm the export uses
    TrainingMode.PRESERVE on the eval-mode model, which gives the same
    inference graph but keeps the BatchNormalization nodes (running stats as
    initializers), so that tscc's own BN folding is exercised."""
    import onnx

    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    training = torch.onnx.TrainingMode.PRESERVE if keep_batchnorm else torch.onnx.TrainingMode.EVAL
    with warnings.catch_warnings():
        # PRESERVE + constant folding warns about models in *training* mode; ours is in eval mode.
        warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
        torch.onnx.export(
            model, dummy, path,
            opset_version=13,
            do_constant_folding=True,
            training=training,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    m = onnx.load(path)
    if metadata:
        for k, v in metadata.items():
            entry = m.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(m, path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"  wrote {path} ({os.path.getsize(path)} bytes), ops: {', '.join(ops)}")
    return ops


def qat_levels_arg(text):
    levels = [int(v) for v in text.split(",") if v.strip()]
    if not levels or any(v < 1 for v in levels):
        raise argparse.ArgumentTypeError(f"expected comma-separated levels >= 1, got {text!r}")
    return levels


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=HERE, help="output folder (default: %(default)s)")
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="folder with the idx .gz files")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--only", choices=sorted(NETS) + [qat_name(v) for v in sorted(QAT_ORDER)], help="train only this net")
    ap.add_argument("--qat", type=qat_levels_arg, metavar="L[,L...]",
                    help="train only the QAT variants vgg-bn-qat<L> (fine-tuned from OUT_DIR/vgg-bn.onnx); "
                         "a full run (no --only/--qat) trains them for L = " + ",".join(map(str, sorted(QAT_ORDER))))
    ap.add_argument("--qat-epochs", type=int, default=QAT_EPOCHS, help="fine-tuning epochs of a QAT variant (default %(default)s)")
    args = ap.parse_args(argv)

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    os.makedirs(args.out_dir, exist_ok=True)

    print(f"loading Fashion-MNIST from {args.data_dir}")
    x_train, y_train = load_split(args.data_dir, "train")
    x_test, y_test = load_split(args.data_dir, "test")
    print(f"  train {x_train.shape}, test {x_test.shape}")

    # data subsets
    sub_x, sub_y = x_test[:N_SUBSET].copy(), y_test[:N_SUBSET].copy()
    rng = np.random.default_rng(SEED)
    calib_idx = np.sort(rng.choice(len(x_train), size=N_SUBSET, replace=False))
    calib_x, calib_y = x_train[calib_idx].copy(), y_train[calib_idx].copy()
    for fname, arr in [("test-images.npy", sub_x), ("test-labels.npy", sub_y), ("calib-images.npy", calib_x),
                       ("calib-labels.npy", calib_y)]:
        p = os.path.join(args.out_dir, fname)
        np.save(p, arr)
        print(f"  wrote {p} {arr.dtype} {list(arr.shape)}")

    if args.only:
        names = [args.only]
    elif args.qat:
        names = [qat_name(v) for v in args.qat]
    else:
        names = list(NETS) + [qat_name(v) for v in sorted(QAT_ORDER)]
    log_path = os.path.join(args.out_dir, "training-log.json")
    log = {}
    if (args.only or args.qat) and os.path.exists(log_path):
        with open(log_path) as f:
            log = json.load(f)
    for name in names:
        if name in NETS:
            print(f"training {name} for {args.epochs} epochs")
            model, loss, seconds = train_net(name, x_train, y_train, x_test, y_test, args.epochs)
            normalise, keep_bn = NETS[name]["normalise"], NETS[name]["keep_bn"]
            extra = {
                "epochs": args.epochs,
                "optimizer": f"Adam lr={NETS[name]['lr']:g}, cosine annealing per step to 0",
                "batch_size": NETS[name]["batch"],
            }
        else:
            levels = int(name[len(qat_name("")):])
            float_onnx = os.path.join(args.out_dir, "vgg-bn.onnx")
            if not os.path.exists(float_onnx):
                ap.error(f"{name} is fine-tuned from {float_onnx}, which does not exist; train vgg-bn first")
            print(f"fine-tuning {name} (QCFS, L = {levels}) from {float_onnx} for {args.qat_epochs} epochs")
            model, loss, seconds, acc0, lams0 = train_qat(levels, float_onnx, calib_x, x_train, y_train, x_test, y_test, args.qat_epochs)
            normalise, keep_bn = False, True
            extra = {
                "epochs": args.qat_epochs,
                "optimizer": f"Adam lr={QAT_LR:g} (lambda lr={QAT_LAMBDA_LR:g}), cosine annealing per step to 0",
                "batch_size": BATCH_SIZE,
                "fine_tuned_from": "vgg-bn.onnx (initializers read with python3-onnx; input normalisation folded into conv 1)",
                "quantisation": {
                    "activation": "QCFS: lambda * clip(floor(z * L / lambda + 0.5) / L, 0, 1), trainable lambda per layer",
                    "levels": levels,
                    "onnx_order": model.input_quant.order,
                    "input": "raw pixels in [0, 1] quantised at the graph input: clip(floor(x * L + 0.5), 0, L) / L",
                    "lambda_init": f"{QAT_LAMBDA_PERCENTILE:g}th percentile of the float ReLU outputs on calib-images.npy",
                    "lambda_initial": [round(v, 6) for v in lams0],
                    "lambda_final": [round(float(q.lam), 6) for q in model.qcfs_layers()],
                },
                "test_accuracy_full_10k_before_fine_tuning": round(acc0, 6),
            }
        acc_full = evaluate(model, x_test, y_test, normalise)
        acc_sub = evaluate(model, sub_x, sub_y, normalise)
        print(f"  [{name}] full test acc {acc_full * 100:.2f}%, subset(1000) acc {acc_sub * 100:.2f}%, {seconds:.1f}s")
        meta = None
        if normalise:
            meta = {"tscc.input_mean": f"{INPUT_MEAN:.4f}", "tscc.input_std": f"{INPUT_STD:.4f}"}
        ops = export_onnx(model, os.path.join(args.out_dir, f"{name}.onnx"), meta, keep_batchnorm=keep_bn)
        log[name] = {
            "file": f"{name}.onnx",
            **extra,
            "seed": SEED,
            "final_train_loss": round(loss, 6),
            "test_accuracy_full_10k": round(acc_full, 6),
            "test_accuracy_subset_1000": round(acc_sub, 6),
            "seconds": round(seconds, 1),
            "torch_version": torch.__version__,
            "onnx_op_types": ops,
            "input_normalisation": ({"mean": [INPUT_MEAN], "std": [INPUT_STD]} if normalise else None),
        }
    with open(log_path, "w") as f:
        json.dump(log, f, indent=2)
        f.write("\n")
    print(f"wrote {log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
