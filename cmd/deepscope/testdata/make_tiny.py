# Writes tiny.onnx, the small classifier the deepscope command tests run on:
# data 1x3x8x8 -> Conv(4, 3x3, pad 1) -> Relu -> MaxPool 2x2 ->
# GlobalAveragePool -> Flatten -> Gemm(3) = logits (no Softmax, so predict
# must apply one). Run with Debian's python3-onnx: /usr/bin/python3 make_tiny.py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
w = numpy_helper.from_array(rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32), "conv1_w")
b = numpy_helper.from_array(rng.normal(0, 0.1, (4,)).astype(np.float32), "conv1_b")
fw = numpy_helper.from_array(rng.normal(0, 1.0, (3, 4)).astype(np.float32), "fc_w")
fb = numpy_helper.from_array(np.array([0.1, -0.2, 0.3], np.float32), "fc_b")
nodes = [
    helper.make_node("Conv", ["data", "conv1_w", "conv1_b"], ["conv1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
    helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("GlobalAveragePool", ["pool1"], ["gap"], name="gap"),
    helper.make_node("Flatten", ["gap"], ["flat"], name="flat"),
    helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="logits", transB=1),
]
graph = helper.make_graph(
    nodes, "tiny",
    [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 8, 8])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
    [w, b, fw, fb])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="deepscope-tests")
onnx.checker.check_model(model)
onnx.save(model, "tiny.onnx")
