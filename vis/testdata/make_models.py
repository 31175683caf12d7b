# Writes the small ONNX models the vis tests run on, with weights the tests
# repeat as literals so that every expected map can be worked out by hand.
# Run from vis/testdata with Debian's python3-onnx:
#   /usr/bin/python3 make_models.py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(name, nodes, inputs, outputs, inits):
    graph = helper.make_graph(nodes, name, inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="deepscope-vis-tests")
    onnx.checker.check_model(model)
    onnx.save(model, name + ".onnx")


def f32(v):
    return np.array(v, np.float32)


# linear: logits = W . flatten(data) + b, then Softmax; data N x 3 x 4 x 4
# with a symbolic batch (so the batched code paths run). W[c, i] =
# ((7*i + 3*c) % 11 - 5) / 10 and b = [0.5, -0.25].
i = np.arange(48)
lin_w = f32([((7 * i + 3 * c) % 11 - 5) / 10 for c in range(2)])
for batch, name in (("N", "linear"), (1, "linear_fixed")):
    save(name,
         [helper.make_node("Flatten", ["data"], ["flat"], name="flat"),
          helper.make_node("Gemm", ["flat", "w", "b"], ["logits"], name="logits", transB=1),
          helper.make_node("Softmax", ["logits"], ["prob"], name="prob", axis=1)],
         [helper.make_tensor_value_info("data", TensorProto.FLOAT, [batch, 3, 4, 4])],
         [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [batch, 2])],
         {"w": lin_w, "b": f32([0.5, -0.25])})

# gapnet: logits = W . GAP(data) + b on a 1 x 2 x 3 x 3 input, so that the
# CAM layer can be the input itself: W = [[1, -2], [0.5, 3]], b = [0.1, 0.2].
save("gapnet",
     [helper.make_node("GlobalAveragePool", ["data"], ["gap"], name="gap"),
      helper.make_node("Flatten", ["gap"], ["flat"], name="flat"),
      helper.make_node("Gemm", ["flat", "w", "b"], ["logits"], name="logits", transB=1)],
     [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 2, 3, 3])],
     [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
     {"w": f32([[1, -2], [0.5, 3]]), "b": f32([0.1, 0.2])})

# mlp: score = w2 . relu(W1 . flatten(data)) on a 1 x 1 x 2 x 2 input, for
# the three backward rules. W1 is 3 x 4, w2 = [1, -1, 2] (one output).
save("mlp",
     [helper.make_node("Flatten", ["data"], ["flat"], name="flat"),
      helper.make_node("Gemm", ["flat", "w1"], ["hidden"], name="hidden", transB=1),
      helper.make_node("Relu", ["hidden"], ["relu"], name="relu"),
      helper.make_node("Gemm", ["relu", "w2"], ["out"], name="out", transB=1)],
     [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 1, 2, 2])],
     [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1])],
     {"w1": f32([[1, 2, -1, 0], [0, 1, 1, 1], [-1, 0, 2, 1]]), "w2": f32([[1, -1, 2]])})

# cnn: data 1 x 3 x 6 x 6 -> Conv(2, 3x3, pad 1) -> Relu -> GAP -> Flatten ->
# Gemm(3) -> Softmax, fixed batch 1, weights from a seeded generator; the
# tests read them back through the engine.
rng = np.random.default_rng(3)
save("cnn",
     [helper.make_node("Conv", ["data", "cw", "cb"], ["conv"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
      helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
      helper.make_node("GlobalAveragePool", ["relu"], ["gap"], name="gap"),
      helper.make_node("Flatten", ["gap"], ["flat"], name="flat"),
      helper.make_node("Gemm", ["flat", "fw", "fb"], ["logits"], name="logits", transB=1),
      helper.make_node("Softmax", ["logits"], ["prob"], name="prob", axis=1)],
     [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 6, 6])],
     [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 3])],
     {"cw": rng.normal(0, 0.5, (2, 3, 3, 3)).astype(np.float32), "cb": f32([0.1, -0.1]),
      "fw": rng.normal(0, 1, (3, 2)).astype(np.float32), "fb": f32([0, 0.1, -0.1])})
