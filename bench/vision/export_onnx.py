#!/usr/bin/env python3
"""Builds an ONNX graph of Marrow's cell classifier from its safetensors weights.

    python export_onnx.py MODEL OUT.onnx

The graph is written node by node with onnx.helper (opset 17; operator semantics as in the ONNX
operator reference, onnx.ai/onnx/operators): input "input" N x 3 x 64 x 64 float32 with a
dynamic batch dimension N, output "probabilities" N x 7 (softmax over BLA EOS LYT MON NGS NIF
PMO). No framework is involved, so the exported weights are exactly the file's.
"""

import argparse

import onnx
from onnx import TensorProto, helper, numpy_helper

from common import CLASSES, SIDE, load_weights

OPSET = 17


def build(weights: dict, model_version: str) -> onnx.ModelProto:
    """The graph: 4 x (Conv 3x3 pad 1 -> Relu [-> MaxPool 2x2/2 for the first three]),
    GlobalAveragePool, Flatten, Gemm (x @ W.T + b), Softmax."""
    nodes = []
    initializers = [numpy_helper.from_array(array, name) for name, array in weights.items()]
    x = "input"
    for i in range(4):
        conv, relu = f"conv{i}_out", f"relu{i}_out"
        nodes.append(
            helper.make_node(
                "Conv",
                [x, f"conv{i}.weight", f"conv{i}.bias"],
                [conv],
                name=f"conv{i}",
                kernel_shape=[3, 3],
                pads=[1, 1, 1, 1],
                strides=[1, 1],
            )
        )
        nodes.append(helper.make_node("Relu", [conv], [relu], name=f"relu{i}"))
        x = relu
        if i < 3:
            pooled = f"pool{i}_out"
            nodes.append(
                helper.make_node(
                    "MaxPool", [x], [pooled], name=f"pool{i}", kernel_shape=[2, 2], strides=[2, 2]
                )
            )
            x = pooled
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap_out"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap_out"], ["features"], name="flatten", axis=1))
    # Gemm computes A @ B' + C with transB=1, i.e. features @ head.weight.T + head.bias.
    nodes.append(
        helper.make_node(
            "Gemm", ["features", "head.weight", "head.bias"], ["logits"], name="head", transB=1
        )
    )
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1))

    graph = helper.make_graph(
        nodes,
        "marrow-cnn-v1",
        inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, SIDE, SIDE])],
        outputs=[
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(CLASSES)])
        ],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="marrow bench/vision/export_onnx.py",
    )
    # IR version 8 is what opset 17 came with; it keeps the file readable by older runtimes.
    model.ir_version = 8
    helper.set_model_props(
        model, {"marrow.model_version": model_version, "marrow.classes": " ".join(CLASSES)}
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="safetensors model file (marrow-cells-v4.model)")
    parser.add_argument("out", help="ONNX file to write")
    args = parser.parse_args()

    weights, model_version = load_weights(args.model)
    model = build(weights, model_version)
    # full_check also runs shape inference, so a wrong weight shape fails here.
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, args.out)
    print(f"wrote {args.out}: model_version {model_version}, opset {OPSET}, "
          f"{sum(w.size for w in weights.values())} parameters")


if __name__ == "__main__":
    main()
