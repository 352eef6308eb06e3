"""PyTorch's images/s for facenet-lab's training step, on the same card, for the comparison in
the GPU issue: torchvision's alexnet/resnet18/resnet152 (random init, last layer replaced by a
`dim`-wide linear embedding, raw embeddings), the seed's all-triplet loss, backward and Adam
(lr 1e-4, torch's defaults otherwise), batch 32 and 64 at 224x224 on random images.

The step is facenet-lab's `bench` step (src/train/bench.rs, src/train/triplet.rs):
* labels: `batch // 2` images per identity, at most 4 (4 from batch 8 up), as its bench does;
* loss: squared Euclidean distances from the differences (not cdist's ||a||^2+||b||^2-2ab),
  relu(d_ap - d_an + 0.2) summed over every valid (anchor, positive, negative) and divided by
  their number; its triplet statistics are read back to the host before backward, as
  facenet-lab does every step;
* waits: the loss is read back before backward, and the device synchronised after backward and
  after Adam, where facenet-lab's bench waits to time forward, backward and Adam apart;
* timing: warm-up steps (one on a CPU as facenet-lab's bench; three on a GPU, for the lazy
  CUDA/cuDNN set-up and Adam's state), then the median whole step over at least `--steps`
  steps and, on a GPU, at least one second, as facenet-lab's bench gives its images/s;
  AlexNet's dropout (0.5) is on, as in facenet-lab's bench.

Precision columns: `fp32` is strict IEEE fp32 (cuDNN TF32 off), the arithmetic of facenet-lab's
CUDA build (candle's cuBLAS GEMMs without TF32, no cuDNN); `tf32` is PyTorch's default
(convolutions in TF32 through cuDNN, matmuls fp32), what an unconfigured PyTorch script gets;
`bf16` is bf16 autocast (loss in fp32). On a CPU the tf32 column is `-`.

`torch.backends.cudnn.benchmark` stays off (PyTorch's default): cuDNN picks algorithms by
heuristics rather than timing them. Tuned PyTorch training usually turns it on, which can make
convolutions faster for fixed shapes; `--cudnn-benchmark` measures that (the warm-up step then
pays for the search).

  python3 bench/torch_step.py                     # the GPU run (bench/gpu.sh)
  python3 bench/torch_step.py --device cpu --steps 1 --batches 8 --image-size 64   # dry run
"""
import argparse
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

MARGIN = 0.2
LR = 1e-4
WARMUP = {"cpu": 1, "cuda": 3}  # facenet-lab's bench: one; on a GPU, cuDNN's first calls too
# On a GPU a few steps last milliseconds: time at least this long (facenet-lab's far slower
# steps fill seconds at STEPS).
MIN_SECONDS = {"cpu": 0.0, "cuda": 1.0}
PRECISIONS = ("fp32", "tf32", "bf16")
MIN_SIZE = {"alexnet": 63}  # facenet-lab's Arch::min_input_size


def embedding_net(arch, dim):
    m = getattr(torchvision.models, arch)(weights=None)
    if arch == "alexnet":
        m.classifier[6] = torch.nn.Linear(4096, dim)
        last = m.classifier[6]
    else:
        m.fc = torch.nn.Linear(m.fc.in_features, dim)
        last = m.fc
    torch.nn.init.normal_(last.weight, 0.0, 0.02)
    torch.nn.init.zeros_(last.bias)
    return m


def bench_labels(batch, device):
    """facenet-lab's bench labels: four images per identity; fewer in a batch under 8, so that
    it still holds two identities (a batch of 4 holds 2 x 2)."""
    k = min(max(batch // 2, 1), 4)
    return torch.arange(batch, device=device) // k


def all_triplet_loss(emb, labels, margin=MARGIN):
    """facenet-lab's triplet_loss with Mining::All."""
    b = emb.shape[0]
    d = (emb[:, None, :] - emb[None, :, :]).pow(2).sum(-1)  # pairwise_sq_dists
    same = (labels[:, None] == labels[None, :]).float()
    pos = same - torch.eye(b, device=emb.device)  # same identity, not the anchor itself
    neg = 1.0 - same
    w = pos[:, :, None] * neg[:, None, :]
    per = F.relu(d[:, :, None] - d[:, None, :] + margin) * w
    # The statistics facenet-lab reads back every step (one device->host copy, before backward).
    with torch.no_grad():
        dist = d.sqrt()
        n, _active, _sum_ap, _n_ap, _sum_an, _n_an = torch.stack(
            [w.sum(), (per > 0).float().sum(), (dist * pos).sum(), pos.sum(),
             (dist * neg).sum(), neg.sum()]).tolist()
    if n < 0.5:
        raise RuntimeError("the bench batch has no triplet")
    return per.sum() / n


def set_tf32(on):
    """TF32 convolutions on or off; matmuls stay strict fp32 (PyTorch's default either way).
    PyTorch 2.9 and later have `fp32_precision` settings (the old flags are deprecated and
    must not be mixed with them); older ones only the flags."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        conv.fp32_precision = "tf32" if on else "ieee"
        torch.backends.cuda.matmul.fp32_precision = "ieee"
    else:
        torch.backends.cudnn.allow_tf32 = on
        torch.backends.cuda.matmul.allow_tf32 = False


def tf32_setting():
    """The convolutions' fp32 precision as PyTorch reports it, for the header."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        return f"cudnn.conv.fp32_precision={conv.fp32_precision}"
    return f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}"


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_step(model, batch, steps, precision, image_size, dim, dev):
    """Images/s of the median step of at least `steps` and MIN_SECONDS, after WARMUP steps."""
    set_tf32(precision != "fp32")  # tf32 and bf16 run with PyTorch's defaults
    bf16 = precision == "bf16"
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x = torch.randn(batch, 3, image_size, image_size, device=dev)
    y = bench_labels(batch, dev)
    warmup = WARMUP[dev.type]
    for _ in range(warmup):
        step(model, opt, x, y, bf16, dev)
    sync(dev)
    t0 = time.perf_counter()
    times = []
    while len(times) < steps or time.perf_counter() - t0 < MIN_SECONDS[dev.type]:
        t = time.perf_counter()
        emb = step(model, opt, x, y, bf16, dev)  # it ends synchronised
        times.append(time.perf_counter() - t)
    assert emb.shape == (batch, dim), emb.shape
    return batch / statistics.median(times)


def step(model, opt, x, y, bf16, dev):
    """One training step, waiting where facenet-lab's bench step waits."""
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
        emb = model(x)
    loss = all_triplet_loss(emb.float(), y)
    loss.item()  # facenet-lab reads the loss back before backward
    opt.zero_grad(set_to_none=True)
    loss.backward()
    sync(dev)  # and times backward and Adam apart, waiting for each
    opt.step()
    sync(dev)
    return emb


def device_name(dev):
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"cpu ({cpu}, {torch.get_num_threads()} threads)"


def int_list(s):
    return [int(v) for v in s.split(",") if v.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=10, help="timed steps, after one warm-up step")
    p.add_argument("--models", default="alexnet,resnet18,resnet152")
    p.add_argument("--batches", type=int_list, default=[32, 64], help="comma-separated")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--dim", type=int, default=128, help="embedding dimension")
    p.add_argument("--precisions", default=",".join(PRECISIONS),
                   help="comma-separated, of " + ", ".join(PRECISIONS))
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--cudnn-benchmark", action="store_true",
                   help="let cuDNN time its algorithms (off: PyTorch's default)")
    a = p.parse_args()
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    precisions = [q.strip() for q in a.precisions.split(",") if q.strip()]
    # Refuse bad settings before anything is measured, as facenet-lab's bench does.
    for m in models:
        if m not in ("alexnet", "resnet18", "resnet152"):
            p.error(f"unknown model {m!r}")
        if a.image_size < MIN_SIZE.get(m, 1):
            p.error(f"--image-size {a.image_size} is too small for {m} (needs {MIN_SIZE.get(m, 1)})")
    for q in precisions:
        if q not in PRECISIONS:
            p.error(f"unknown precision {q!r}")
    if not a.batches or min(a.batches) < 4 or a.steps < 1:
        p.error("needs batches of at least 4 and --steps of at least 1")
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("CUDA is not available to PyTorch (use --device cpu for a dry run)")
    dev = torch.device(a.device)
    torch.backends.cudnn.benchmark = a.cudnn_benchmark

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__} on {device_name(dev)}")
    set_tf32(False)
    strict = tf32_setting()
    set_tf32(True)
    print(f"at least {a.steps} step(s) and {MIN_SECONDS[dev.type]:g} s after "
          f"{WARMUP[dev.type]} warm-up, {a.image_size}x{a.image_size}, dim {a.dim}, "
          f"cudnn.benchmark {a.cudnn_benchmark}; fp32 = strict ({strict}), "
          f"tf32 = PyTorch's default ({tf32_setting()})")
    print("model      batch" + "".join(f"  {q + ' img/s':>10}" for q in precisions))
    torch.manual_seed(0)
    for arch in models:
        model = embedding_net(arch, a.dim).to(dev).train()
        for batch in a.batches:
            cells = []
            for q in precisions:
                if q == "tf32" and dev.type != "cuda":
                    cells.append("-")
                    continue
                failed = False
                try:
                    cells.append(f"{time_step(model, batch, a.steps, q, a.image_size, a.dim, dev):.1f}")
                except Exception as e:  # one failed cell (e.g. out of memory) must not stop the table
                    print(f"({arch} batch {batch} {q}: {type(e).__name__}: {str(e)[:200]})",
                          file=sys.stderr)
                    cells.append("failed")
                    failed = True
                if failed:
                    # Outside the handler, whose traceback holds the failed step's tensors.
                    model.zero_grad(set_to_none=True)
                    if dev.type == "cuda":
                        torch.cuda.empty_cache()
            print(f"{arch:<10} {batch:>5}" + "".join(f"  {c:>10}" for c in cells), flush=True)
        del model
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    set_tf32(True)


if __name__ == "__main__":
    main()
