"""tools/make_batch_model.py: a model frozen at batch 1 (input [1,...] and a constant Reshape
shape [1,C,-1], as YOLOX exports have) takes any batch afterwards, each frame's output equal
to the frame's own call."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import make_batch_model as M


def frozen_model(shape_as_constant_node):
    # x [1,2,3,4] -> Mul by per-channel weights -> Reshape [1,2,-1] -> y [1,2,12]
    w = numpy_helper.from_array(np.array([2.0, -3.0], np.float32).reshape(1, 2, 1, 1), "w")
    shape = np.array([1, 2, -1], np.int64)
    nodes = [helper.make_node("Mul", ["x", "w"], ["m"])]
    inits = [w]
    if shape_as_constant_node:
        nodes.append(helper.make_node("Constant", [], ["s"], value=numpy_helper.from_array(shape)))
    else:
        inits.append(numpy_helper.from_array(shape, "s"))
    nodes.append(helper.make_node("Reshape", ["m", "s"], ["y"]))
    g = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 12])],
        inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


@pytest.mark.parametrize("constant_node", [False, True])
def test_frozen_model_takes_batches_and_matches_single_calls(tmp_path, constant_node):
    path = tmp_path / "m.onnx"
    m = frozen_model(constant_node)
    # As exported it refuses a batch of 3.
    onnx.save(m, path)
    x = np.arange(3 * 24, dtype=np.float32).reshape(3, 2, 3, 4)
    with pytest.raises(Exception):
        ort.InferenceSession(str(path)).run(None, {"x": x})

    assert M.make_dynamic(m) == 1
    onnx.save(m, path)
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    s = ort.InferenceSession(str(path))
    (y,) = s.run(None, {"x": x})
    assert y.shape == (3, 2, 12)
    # Hand-computed: channel 0 doubled, channel 1 times -3.
    np.testing.assert_array_equal(y[1, 0], 2.0 * x[1, 0].ravel())
    np.testing.assert_array_equal(y[2, 1], -3.0 * x[2, 1].ravel())
    assert M.check(path, 3) == 0.0
