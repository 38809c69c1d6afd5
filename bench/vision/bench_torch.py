#!/usr/bin/env python3
"""Times Marrow's cell classifier under PyTorch (CPU) on the Rust side's exact input.

    python bench_torch.py MODEL DUMP_DIR [--batch 64] [--threads 2] [--repeat 5]
                          [--images DATA_DIR]

MODEL is the safetensors file itself (marrow-cells-v4.model): the network is rebuilt with
torch.nn and the file's tensors copied in. Everything else (dump, parity check, passes, output)
is as in bench_ort.py; the probabilities must match Rust's or the script exits with status 1.
"""

import sys

import numpy as np
import torch
from torch import nn

from common import CLASSES, arguments, benchmark, load_weights


class MarrowCnn(nn.Module):
    """marrow-cnn-v1: 4 x (conv 3x3 pad 1, ReLU [, max-pool 2x2 for the first three]),
    mean over H and W, linear head, softmax. Attribute names match the file's tensor names."""

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        for i in range(4):
            setattr(self, f"conv{i}", nn.Conv2d(widths[i], widths[i + 1], 3, padding=1))
        self.head = nn.Linear(widths[4], len(CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(4):
            x = torch.relu(getattr(self, f"conv{i}")(x))
            if i < 3:
                x = nn.functional.max_pool2d(x, 2)
        return torch.softmax(self.head(x.mean(dim=(2, 3))), dim=1)


def build(model_path: str) -> tuple[MarrowCnn, str]:
    weights, model_version = load_weights(model_path)
    # The widths are the file's (recorded in its training record; read here from the shapes).
    widths = [3] + [weights[f"conv{i}.bias"].shape[0] for i in range(4)]
    model = MarrowCnn(widths)
    # strict=True: every tensor in the file must have a place, and every place a tensor.
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    return model.eval(), model_version


def main() -> int:
    args = arguments(__doc__.splitlines()[0], "safetensors model file (marrow-cells-v4.model)")
    torch.set_num_threads(args.threads)
    model, _ = build(args.model)

    @torch.inference_mode()
    def infer(x: np.ndarray) -> np.ndarray:
        # from_numpy shares memory with the array: no copy.
        return model(torch.from_numpy(x)).numpy()

    return benchmark("torch", torch.__version__, infer, args)


if __name__ == "__main__":
    sys.exit(main())
