#!/usr/bin/env python3
"""Times Marrow's cell classifier under onnxruntime (CPU) on the Rust side's exact input.

    python bench_ort.py MODEL.onnx DUMP_DIR [--batch 64] [--threads 2] [--repeat 5]
                        [--images DATA_DIR]

DUMP_DIR holds input.f32 (N x 3 x 64 x 64), probabilities.f32 (N x 7, Rust's softmax output)
and files.txt, written by the Rust side. Every pass classifies all N inputs in batches; the
first pass is a warm-up. The probabilities must match Rust's (max |diff| < 1e-4, same top class
for every cell), or the script exits with status 1.

--images DATA_DIR adds an end-to-end run (JPEG decode + centre crop + resize + inference, one
preprocessing thread) over the files in files.txt, comparable with Rust's figure that counts
its preprocessing; its parity is reported, not enforced (Pillow's decode and resize differ from
Rust's by a grey level or so).
"""

import argparse
import sys

import numpy as np
import onnxruntime as ort

from common import (
    batches,
    load_dump,
    parity,
    peak_rss_mib,
    preprocess,
    print_report,
    rate_summary,
    tensor_parity_failed,
    time_passes,
)


def session(model_path: str, threads: int) -> ort.InferenceSession:
    """A CPU session with `threads` intra-op threads and every graph optimisation."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # One operator at a time: the graph is a chain, so there is nothing to run side by side.
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="ONNX file written by export_onnx.py")
    parser.add_argument("dump", help="folder with input.f32, probabilities.f32, files.txt")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5, help="timed passes after one warm-up")
    parser.add_argument("--images", help="marrow-cells folder: also time end to end from JPEG")
    args = parser.parse_args()

    inputs, reference, files = load_dump(args.dump)
    sess = session(args.model, args.threads)
    input_name = sess.get_inputs()[0].name

    def infer(x: np.ndarray) -> np.ndarray:
        return sess.run(None, {input_name: x})[0]

    def tensor_pass() -> np.ndarray:
        # Contiguous slices of the dump: no copy before the runtime sees them.
        return np.concatenate([infer(inputs[s]) for s in batches(len(inputs), args.batch)])

    seconds, probs = time_passes(tensor_pass, args.repeat)
    tensor = {**parity(probs, reference), **rate_summary(len(inputs), seconds)}
    summary = {
        "onnxruntime": ort.__version__,
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
                x = np.stack([preprocess(p) for p in paths[s]])
                out.append(infer(x))
            return np.concatenate(out)

        seconds, probs = time_passes(end_to_end_pass, args.repeat)
        summary["end_to_end"] = {**parity(probs, reference), **rate_summary(len(paths), seconds)}

    summary["peak_rss_mib"] = peak_rss_mib()
    failed = tensor_parity_failed(tensor)
    print_report("onnxruntime", summary, failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
