"""PyTorch reference for medtune's backbone throughput (bench/models_bench.ts).

Same work per iteration as medtune's bench: batch 32, 3-channel images, 2 classes,
dropout 0.3 before the head; train = forward, cross-entropy with label smoothing 0.1,
backward, gradient clipping at global norm 1, AdamW (lr 1e-3, weight decay 1e-2);
eval = model.eval() forward + softmax under no_grad. All cores (PyTorch's default on
some machines is one thread).

Needs only Debian's PyTorch: apt-get install -y python3-torch python3-torchvision
Usage: python3 bench/torch_reference.py [--iters N] [FILTER ...]
  FILTER matches medtune's bench names, e.g. "resnet18 train 28px".
Prints one line per configuration: `<label> <mode> <size>px <img/s>` (median of N timed
iterations after warm-up). bench/compare.ts runs it alternately with medtune's bench.
"""
import os
import sys
import time

import torch
import torch.nn as nn
import torchvision

BATCH = 32


def resnet18(small_stem):
    m = torchvision.models.resnet18(num_classes=2)
    if small_stem:  # medtune's small-input stem: 3x3 stride-1 conv, no max-pool
        m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        m.maxpool = nn.Identity()
    m.fc = nn.Sequential(nn.Dropout(0.3), nn.Linear(512, 2))
    return m


def efficientnet_b0():
    m = torchvision.models.efficientnet_b0(num_classes=2)
    m.classifier[0].p = 0.3
    return m


def vit_tiny(size):
    patch = 4 if size == 28 else 16
    return torchvision.models.VisionTransformer(
        image_size=size, patch_size=patch, num_layers=12, num_heads=3,
        hidden_dim=192, mlp_dim=768, num_classes=2, dropout=0.0)


CONFIGS = [
    ("resnet18", lambda s: resnet18(s <= 64), (28, 64, 224)),
    ("resnet18-7x7", lambda s: resnet18(False), (28, 64)),
    ("efficientnet_b0", lambda s: efficientnet_b0(), (28, 64, 224)),
    ("vit_tiny", vit_tiny, (28, 64, 224)),
]


def measure(model, size, mode, iters):
    torch.manual_seed(0)
    x = torch.randn(BATCH, 3, size, size)
    y = torch.arange(BATCH) % 2
    if mode == "train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
        loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                torch.softmax(model(x), dim=-1)
    warmup = 1 if size == 224 else 2
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    return BATCH / times[len(times) // 2]


def main(argv):
    iters = 5
    if "--iters" in argv:
        i = argv.index("--iters")
        iters = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    filters = argv or [""]
    torch.set_num_threads(os.cpu_count() or 1)
    for label, make, sizes in CONFIGS:
        for size in sizes:
            for mode in ("train", "eval"):
                name = f"{label} {mode} {size}px"
                if not any(f in name for f in filters):
                    continue
                n = max(2, iters // 2) if size == 224 else iters
                ips = measure(make(size), size, mode, n)
                print(f"{label} {mode} {size}px {ips:.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
