"""One training step of torchvision's networks, written out for `facenet-lab bench --parity`
to replay from the same weights: are facenet-lab's AlexNet, ResNet-18 and ResNet-152, its
all-triplet loss and its Adam PyTorch's, value for value?

For each network (torchvision's, its last layer replaced by a `--dim`-wide linear embedding, as
`bench/torch_step.py` builds it; AlexNet's dropout off, since the two cannot draw the same
masks), from f32 weights and random f32 images with `bench_labels`, the step in f64, which is
the reference (f32 arithmetic in any order lands near it), and PyTorch's f32 step, whose
distance from it is what f32 costs PyTorch:

  init.NAME         every parameter and BatchNorm running statistic before the step (f32)
  input, labels     the batch (f32, int64)
  train.embeddings  the training pass (BatchNorm on the batch's statistics)
  loss              the seed's loss: every valid triplet, margin 0.2, raw embeddings
  grad.NAME         each parameter's gradient
  after.NAME        every parameter and running statistic after Adam (lr 1e-4)
  eval.embeddings   an evaluation pass after the step (BatchNorm on the running statistics)
  torch32.KEY       each of those five from PyTorch's f32 step

into `OUT/parity-ARCH.safetensors`.

  python3 bench/torch_parity.py --out /tmp/parity
  facenet-lab bench --parity /tmp/parity/parity-*.safetensors

The files are large: ResNet-152's about 1.6 GB, AlexNet's as much, ResNet-18's 0.3 GB.
"""
import argparse
import json
import os
import struct

import torch
import torchvision

from torch_step import LR, all_triplet_loss, bench_labels, embedding_net

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def save_file(tensors, path, metadata):
    """The safetensors format, written with numpy (a torchvision dependency), so that the
    `safetensors` package is not needed: an 8-byte little-endian header length, the JSON
    header (padded with spaces to 8 bytes), then each tensor's bytes, little-endian."""
    header, offset = {"__metadata__": metadata}, 0
    for name, t in tensors.items():
        size = t.numel() * t.element_size()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for t in tensors.values():
            a = t.contiguous().numpy()
            f.write(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())


def step_of(arch, batch, image_size, dim, seed, dtype):
    """One training step in `dtype` from the f32 weights and images drawn from `seed`."""
    torch.manual_seed(seed)
    model = embedding_net(arch, dim)
    if arch == "alexnet":
        for layer in model.classifier:
            if isinstance(layer, torch.nn.Dropout):
                layer.p = 0.0
    # Drawn in f32 and then cast, so that every precision starts from the same numbers.
    x = torch.randn(batch, 3, image_size, image_size)
    model, x = model.to(dtype), x.to(dtype)
    state = lambda: {
        k: v.detach().clone()
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    labels = bench_labels(batch, "cpu")
    out = {f"init.{k}": v for k, v in state().items()}
    out["input"], out["labels"] = x, labels

    opt = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    emb = model(x)
    loss = all_triplet_loss(emb, labels)
    loss.backward()
    out["train.embeddings"], out["loss"] = emb.detach(), loss.detach().reshape(1)
    for k, p in model.named_parameters():
        out[f"grad.{k}"] = p.grad.detach().clone()
    opt.step()
    out.update({f"after.{k}": v for k, v in state().items()})
    model.eval()
    with torch.no_grad():
        out["eval.embeddings"] = model(x)
    return out


def reference(arch, batch, image_size, dim, seed):
    """The f64 step (the reference, its inputs as f32) and PyTorch's own f32 step's outputs
    under `torch32.`."""
    exact = step_of(arch, batch, image_size, dim, seed, torch.float64)
    f32 = step_of(arch, batch, image_size, dim, seed, torch.float32)
    given = lambda k: k.startswith("init.") or k in ("input", "labels")
    out = {k: (v.to(torch.float32) if given(k) and v.is_floating_point() else v)
           for k, v in exact.items()}
    out.update({f"torch32.{k}": v for k, v in f32.items() if not given(k)})
    return {k: v.contiguous() for k, v in out.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder for parity-ARCH.safetensors")
    p.add_argument("--archs", default="alexnet,resnet18,resnet152")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    meta = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    for arch in a.archs.split(","):
        tensors = reference(arch, a.batch, a.image_size, a.dim, a.seed)
        path = os.path.join(a.out, f"parity-{arch}.safetensors")
        save_file(tensors, path, metadata={**meta, "arch": arch})
        print(f"{path}: loss {tensors['loss'].item():.6f}, {len(tensors)} tensors")


if __name__ == "__main__":
    main()
