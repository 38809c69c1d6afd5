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

import sys

import onnxruntime as ort

from common import arguments, benchmark


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
    args = arguments(__doc__.splitlines()[0], "ONNX file written by export_onnx.py")
    sess = session(args.model, args.threads)
    input_name = sess.get_inputs()[0].name
    return benchmark("onnxruntime", ort.__version__, lambda x: sess.run(None, {input_name: x})[0], args)


if __name__ == "__main__":
    sys.exit(main())
