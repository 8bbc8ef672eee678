"""A ResNet-20 (He et al. 2016, the CIFAR family) trained by PyTorch on Fashion-MNIST and exported to ONNX, as a user
would bring it: a model Pollard did not train. Three stages of three BasicBlocks (16, 32, 64 channels; 19 conv layers
and a fully connected one), projection shortcuts (1x1 conv + BatchNorm) where a stage halves the resolution, inputs in
[0, 1] as Pollard's IDX reader gives them (1 x 28 x 28). SGD with momentum, cosine learning rate, random crops with
2 pixels of padding and horizontal flips; seeded. Prints one JSON line: test accuracy, parameters, seconds.

    python bench/pytorch_resnet20.py --out resnet20.onnx [--epochs 8] [--data /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(root, split):
    images = idx(f"{root}/{split}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    labels = idx(f"{root}/{split}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)


class BasicBlock(nn.Module):
    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = nn.Sequential()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, classes=10, blocks=3, widths=(16, 32, 64)):
        super().__init__()
        self.conv = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(widths[0])
        layers, inputs = [], widths[0]
        for stage, width in enumerate(widths):
            for b in range(blocks):
                layers.append(BasicBlock(inputs, width, 2 if stage > 0 and b == 0 else 1))
                inputs = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(inputs, classes)

    def forward(self, x):
        x = self.layers(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def augment(x):
    padded = F.pad(x, (2, 2, 2, 2))
    i, j = np.random.randint(0, 5, 2)
    x = padded[:, :, i:i + 28, j:j + 28]
    return torch.flip(x, [3]) if np.random.rand() < 0.5 else x


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000))
    return correct / len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    start = time.time()
    train_x, train_y = load(a.data, "train")
    test_x, test_y = load(a.data, "t10k")
    model = ResNet20()
    steps = a.epochs * (len(train_x) // a.batch_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=a.learning_rate, momentum=0.9, weight_decay=5e-4, nesterov=True)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, a.learning_rate, total_steps=steps, pct_start=0.15)
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(train_x))
        for b in range(len(train_x) // a.batch_size):
            batch = order[b * a.batch_size:(b + 1) * a.batch_size]
            loss = F.cross_entropy(model(augment(train_x[batch])), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, {time.time() - start:.0f} s", file=__import__("sys").stderr)
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), a.out, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    print(json.dumps({"model": a.out, "accuracy": accuracy(model, test_x, test_y),
                      "parameters": sum(t.numel() for t in model.parameters()), "seconds": round(time.time() - start)}))


if __name__ == "__main__":
    main()
