# Writes optim.onnx, the tiny smooth network the optimization tests run on
# (finite differences need no kinks, hence Tanh instead of ReLU):
# data 1x3x8x8 -> Conv(4, 3x3, pad 1) -> Tanh -> Conv(6, 3x3, stride 2,
# pad 1) -> Tanh -> GlobalAveragePool -> Flatten -> Gemm(5) = logits ->
# Softmax = prob. Run with Debian's python3-onnx:
#   /usr/bin/python3 make_optim.py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(11)
inits = [
    numpy_helper.from_array(rng.normal(0, 0.6, (4, 3, 3, 3)).astype(np.float32), "w1"),
    numpy_helper.from_array(rng.normal(0, 0.2, (4,)).astype(np.float32), "b1"),
    numpy_helper.from_array(rng.normal(0, 0.5, (6, 4, 3, 3)).astype(np.float32), "w2"),
    numpy_helper.from_array(rng.normal(0, 0.2, (6,)).astype(np.float32), "b2"),
    numpy_helper.from_array(rng.normal(0, 1.0, (5, 6)).astype(np.float32), "fc_w"),
    numpy_helper.from_array(rng.normal(0, 0.1, (5,)).astype(np.float32), "fc_b"),
]
nodes = [
    helper.make_node("Conv", ["data", "w1", "b1"], ["conv1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("Tanh", ["conv1"], ["act1"], name="act1"),
    helper.make_node("Conv", ["act1", "w2", "b2"], ["conv2"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
    helper.make_node("Tanh", ["conv2"], ["act2"], name="act2"),
    helper.make_node("GlobalAveragePool", ["act2"], ["gap"], name="gap"),
    helper.make_node("Flatten", ["gap"], ["flat"], name="flat"),
    helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="logits", transB=1),
    helper.make_node("Softmax", ["logits"], ["prob"], name="prob", axis=1),
]
graph = helper.make_graph(
    nodes, "optim",
    [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 8, 8])],
    [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 5])],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="deepscope-tests")
onnx.checker.check_model(model)
onnx.save(model, "optim.onnx")
