"""PyTorch's images/s for facenet-lab's training step, on the same card, for the comparison in
the GPU issue: torchvision's alexnet/resnet18/resnet152 (random init, last layer replaced by a
`dim`-wide linear embedding), the seed's all-triplet loss over squared distances with margin
0.2, backward and Adam (lr 1e-4), batch 32 and 64 at 224x224, fp32 and bf16 autocast.
Labels hold four images per identity, as facenet-lab's bench does."""
import argparse
import time

import torch
import torch.nn.functional as F
import torchvision


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


def all_triplet_loss(emb, labels, margin=0.2):
    d = torch.cdist(emb, emb).pow(2)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    pos = same & ~eye
    valid = pos[:, :, None] & ~same[:, None, :]
    t = F.relu(d[:, :, None] - d[:, None, :] + margin)
    return (t * valid).sum() / valid.sum()


def time_step(arch, batch, steps, bf16, dim=128):
    dev = torch.device("cuda")
    model = embedding_net(arch, dim).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 3, 224, 224, device=dev)
    y = torch.arange(batch, device=dev) // 4
    for i in range(steps + 2):
        if i == 2:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = all_triplet_loss(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--models", default="alexnet,resnet18,resnet152")
    a = p.parse_args()
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")
    print("model      batch  fp32 img/s  bf16 img/s")
    for arch in a.models.split(","):
        for batch in (32, 64):
            fp32 = time_step(arch, batch, a.steps, False)
            bf16 = time_step(arch, batch, a.steps, True)
            print(f"{arch:<10} {batch:>5}  {fp32:>10.1f}  {bf16:>10.1f}")


if __name__ == "__main__":
    main()
