#!/usr/bin/env python3
"""Times Marrow's cell classifier under PyTorch (CPU) on the Rust side's exact input.

    python bench_torch.py MODEL DUMP_DIR [--batch 64] [--threads 2] [--repeat 5]
                          [--images DATA_DIR]

MODEL is the safetensors file itself (marrow-cells-v1.model): the network is rebuilt with
torch.nn and the file's tensors copied in. Everything else (dump, parity check, passes, output)
is as in bench_ort.py; the probabilities must match Rust's or the script exits with status 1.
"""

import argparse
import sys

import numpy as np
import torch
from torch import nn

from common import (
    CLASSES,
    batches,
    load_dump,
    load_weights,
    parity,
    peak_rss_mib,
    preprocess,
    print_report,
    rate_summary,
    tensor_parity_failed,
    time_passes,
)


class MarrowCnn(nn.Module):
    """marrow-cnn-v1: 4 x (conv 3x3 pad 1, ReLU [, max-pool 2x2 for the first three]),
    mean over H and W, linear head, softmax. Attribute names match the file's tensor names."""

    def __init__(self) -> None:
        super().__init__()
        widths = [3, 16, 32, 64, 96]
        for i in range(4):
            setattr(self, f"conv{i}", nn.Conv2d(widths[i], widths[i + 1], 3, padding=1))
        self.head = nn.Linear(96, len(CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(4):
            x = torch.relu(getattr(self, f"conv{i}")(x))
            if i < 3:
                x = nn.functional.max_pool2d(x, 2)
        return torch.softmax(self.head(x.mean(dim=(2, 3))), dim=1)


def build(model_path: str) -> tuple[MarrowCnn, str]:
    weights, model_version = load_weights(model_path)
    model = MarrowCnn()
    # strict=True: every tensor in the file must have a place, and every place a tensor.
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    return model.eval(), model_version


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="safetensors model file (marrow-cells-v1.model)")
    parser.add_argument("dump", help="folder with input.f32, probabilities.f32, files.txt")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5, help="timed passes after one warm-up")
    parser.add_argument("--images", help="marrow-cells folder: also time end to end from JPEG")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    inputs, reference, files = load_dump(args.dump)
    model, _ = build(args.model)
    inputs_t = torch.from_numpy(inputs)  # shares memory with the numpy array

    @torch.inference_mode()
    def infer(x: torch.Tensor) -> np.ndarray:
        return model(x).numpy()

    def tensor_pass() -> np.ndarray:
        return np.concatenate([infer(inputs_t[s]) for s in batches(len(inputs), args.batch)])

    seconds, probs = time_passes(tensor_pass, args.repeat)
    tensor = {**parity(probs, reference), **rate_summary(len(inputs), seconds)}
    summary = {
        "torch": torch.__version__,
        "cells": len(inputs),
        "batch": args.batch,
        "threads": args.threads,
        "repeat": args.repeat,
        "tensor": tensor,
    }

    if args.images:
        paths = [f"{args.images}/{name}" for name in files]

        def end_to_end_pass() -> np.ndarray:
            out = []
            for s in batches(len(paths), args.batch):
                x = torch.from_numpy(np.stack([preprocess(p) for p in paths[s]]))
                out.append(infer(x))
            return np.concatenate(out)

        seconds, probs = time_passes(end_to_end_pass, args.repeat)
        summary["end_to_end"] = {**parity(probs, reference), **rate_summary(len(paths), seconds)}

    summary["peak_rss_mib"] = peak_rss_mib()
    failed = tensor_parity_failed(tensor)
    print_report("torch", summary, failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
