"""Shared pieces of the classifier benchmarks: weights, the Rust dump, timing, parity, reporting.

Needs only numpy and safetensors (plus Pillow for the optional end-to-end mode), so it is
imported both from the bench venv (onnxruntime) and the torch venv.

The network described here is Marrow's `marrow-cnn-v1` (crates/vision/src/classify.rs):
four 3x3 convolutions (the channels recorded in the model file: 16, 32, 64, 96 in v1 and v2;
padding 1) each followed by ReLU, a 2x2
max-pool after the first three, a global average over H and W, a linear head to 7 logits,
and a softmax.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from safetensors import safe_open

# Output order of the head, as in the model's training record.
CLASSES = ["BLA", "EOS", "LYT", "MON", "NGS", "NIF", "PMO"]
SIDE = 64  # network input side (classify::INPUT_SIDE)
CENTRE_FRACTION = 0.8  # central part of each patch fed to the network (classify::CENTRE_FRACTION)

# Parity limits against the Rust (candle) probabilities on the identical input tensor.
MAX_PROB_DIFF = 1e-4


def load_weights(path: str | Path) -> tuple[dict[str, np.ndarray], str]:
    """Returns the model's tensors (float32 numpy arrays) and its model_version."""
    tensors = {}
    with safe_open(str(path), framework="np") as f:
        for name in f.keys():
            tensors[name] = np.ascontiguousarray(f.get_tensor(name), dtype=np.float32)
        metadata = f.metadata() or {}
    record = json.loads(metadata.get("marrow.training_record", "{}"))
    return tensors, str(record.get("model_version", "unknown"))


def load_dump(dump_dir: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Reads what the Rust side dumped: the exact input tensor, its softmax output, the files."""
    dump = Path(dump_dir)
    files = (dump / "files.txt").read_text().split()
    n = len(files)
    # '<f4': little-endian float32, as written by the Rust side.
    inputs = np.fromfile(dump / "input.f32", dtype="<f4").reshape(n, 3, SIDE, SIDE)
    probs = np.fromfile(dump / "probabilities.f32", dtype="<f4").reshape(n, len(CLASSES))
    return inputs.astype(np.float32), probs.astype(np.float32), files


def preprocess(path: str | Path) -> np.ndarray:
    """One Matek patch file -> a (3, 64, 64) float32 input, as classify::prepare + push_chw.

    Central round(side * 0.8) square, offset (w - keep) // 2, resized to 64x64 with an
    antialiased bilinear (triangle) filter, each channel value v scaled to v / 127.5 - 1, CHW.
    Pillow's BILINEAR widens its kernel when shrinking, like the Rust `image` crate's Triangle
    filter, but it decodes JPEG with libjpeg-turbo and rounds through 8 bits between its two
    passes, so values can differ from Rust's by a grey level or two: the end-to-end mode
    reports that difference rather than requiring bit-exactness.
    """
    from PIL import Image  # only this optional mode needs Pillow

    with Image.open(path) as image:
        image = image.convert("RGB")
        w, h = image.size
        keep = max(1, round(min(w, h) * CENTRE_FRACTION))
        x, y = (w - keep) // 2, (h - keep) // 2
        small = image.crop((x, y, x + keep, y + keep)).resize((SIDE, SIDE), Image.BILINEAR)
    hwc = np.asarray(small, dtype=np.float32)
    return (hwc / 127.5 - 1.0).transpose(2, 0, 1)


def batches(n: int, batch: int):
    """Slices covering 0..n in steps of `batch` (the last one may be shorter)."""
    for start in range(0, n, batch):
        yield slice(start, min(start + batch, n))


def time_passes(run_pass, repeat: int) -> tuple[list[float], np.ndarray]:
    """Calls `run_pass()` once to warm up, then `repeat` times; returns seconds and last output."""
    output = run_pass()
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        output = run_pass()
        seconds.append(time.perf_counter() - started)
    return seconds, output


def parity(probs: np.ndarray, reference: np.ndarray) -> dict:
    """Largest absolute probability difference and top-class agreement with the Rust output."""
    return {
        "max_abs_prob_diff": float(np.max(np.abs(probs - reference))),
        "argmax_agreement": float(np.mean(probs.argmax(axis=1) == reference.argmax(axis=1))),
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process: Linux reports ru_maxrss in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rate_summary(cells: int, seconds: list[float]) -> dict:
    """Cells per second of the best and the median pass."""
    return {
        "cells_per_s_best": cells / min(seconds),
        "cells_per_s_median": cells / statistics.median(seconds),
    }


def print_report(engine: str, summary: dict, failed: bool) -> None:
    """Human-readable lines, then one JSON line (the last line printed) for scripts to collect."""
    for key, value in summary.items():
        if isinstance(value, dict):
            continue
        shown = f"{value:.6g}" if isinstance(value, float) else value
        print(f"{engine}: {key} = {shown}")
    for part in ("tensor", "end_to_end"):
        if part in summary:
            p = summary[part]
            print(
                f"{engine} [{part}]: max |p - p_rust| = {p['max_abs_prob_diff']:.3g}, "
                f"argmax agreement = {p['argmax_agreement'] * 100:.2f} %, "
                f"cells/s best {p['cells_per_s_best']:.1f}, median {p['cells_per_s_median']:.1f}"
            )
    print(json.dumps({"engine": engine, **summary, "ok": not failed}, sort_keys=True))
    if failed:
        print(f"{engine}: PARITY FAILED against the Rust probabilities", file=sys.stderr)


def tensor_parity_failed(result: dict) -> bool:
    """The tensor-input check: same input, so near-identical output and identical top classes."""
    return result["max_abs_prob_diff"] >= MAX_PROB_DIFF or result["argmax_agreement"] < 1.0


def arguments(description: str, model_help: str) -> argparse.Namespace:
    """The command line both classifier benchmarks take."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("model", help=model_help)
    parser.add_argument("dump", help="folder with input.f32, probabilities.f32, files.txt")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5, help="timed passes after one warm-up")
    parser.add_argument("--images", help="marrow-cells folder: also time end to end from JPEG")
    return parser.parse_args()


def benchmark(name: str, version: str, infer, args: argparse.Namespace) -> int:
    """Times `infer` (a float32 N x 3 x 64 x 64 array to N x 7 probabilities) on the dump, and
    end to end from the JPEGs with --images; prints the report; returns the exit status (1 when
    the tensor run's probabilities do not match Rust's)."""
    inputs, reference, files = load_dump(args.dump)

    def tensor_pass() -> np.ndarray:
        # Contiguous slices of the dump: no copy before the runtime sees them.
        return np.concatenate([infer(inputs[s]) for s in batches(len(inputs), args.batch)])

    seconds, probs = time_passes(tensor_pass, args.repeat)
    tensor = {**parity(probs, reference), **rate_summary(len(inputs), seconds)}
    summary = {
        name: version,
        "cells": len(inputs),
        "batch": args.batch,
        "threads": args.threads,
        "repeat": args.repeat,
        "tensor": tensor,
    }
    if args.images:
        paths = [f"{args.images}/{file}" for file in files]

        def end_to_end_pass() -> np.ndarray:
            return np.concatenate([
                infer(np.stack([preprocess(p) for p in paths[s]]))
                for s in batches(len(paths), args.batch)
            ])

        seconds, probs = time_passes(end_to_end_pass, args.repeat)
        summary["end_to_end"] = {**parity(probs, reference), **rate_summary(len(paths), seconds)}
    summary["peak_rss_mib"] = peak_rss_mib()
    failed = tensor_parity_failed(tensor)
    print_report(name, summary, failed)
    return 1 if failed else 0
