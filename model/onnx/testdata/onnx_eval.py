#!/usr/bin/python3
"""Evaluate an edgecnn .onnx file with PyTorch ops, independently of edgecnn.

usage: onnx_eval.py MODEL.onnx INPUT.f32 N OUTPUT.f32 [--check]

INPUT.f32 holds N float32 images in the model input's layout (NCHW); the
graph's nodes (Conv, Relu, MaxPool, Reshape, Gemm, Softmax, QuantizeLinear,
DequantizeLinear; opset 13 semantics) are executed one by one with torch
and the first output is written as float32. With --check the model is first
validated by onnx.checker.check_model(full_check=True).
"""
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def main():
    path, inp, n, outp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if "--check" in sys.argv[5:]:
        onnx.checker.check_model(path, full_check=True)
    m = onnx.load(path)
    g = m.graph
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
    gin = g.input[0]
    dims = [d.dim_value if d.HasField("dim_value") else n for d in gin.type.tensor_type.shape.dim]
    dims[0] = n
    x = np.fromfile(inp, dtype=np.float32).reshape(dims)
    elem = gin.type.tensor_type.elem_type
    if elem != onnx.TensorProto.FLOAT:
        raise SystemExit("onnx_eval: only float inputs are supported here")
    env[gin.name] = torch.from_numpy(x)
    torch.set_grad_enabled(False)
    for node in g.node:
        i = [env[name] if name else None for name in node.input]
        op = node.op_type
        if op == "Conv":
            pt, pl, pb, pr = attr(node, "pads", [0, 0, 0, 0])
            s = attr(node, "strides", [1, 1])
            y = F.conv2d(F.pad(i[0], (pl, pr, pt, pb)), i[1].float(), i[2].float(), stride=tuple(s))
        elif op == "Relu":
            y = torch.relu(i[0])
        elif op == "MaxPool":
            pt, pl, pb, pr = attr(node, "pads", [0, 0, 0, 0])
            k, s = attr(node, "kernel_shape"), attr(node, "strides", [1, 1])
            y = F.max_pool2d(F.pad(i[0], (pl, pr, pt, pb), value=float("-inf")), tuple(k), tuple(s))
        elif op == "Reshape":
            y = torch.reshape(i[0], [int(v) for v in i[1].tolist()])
        elif op == "Gemm":
            assert attr(node, "transB") == 1
            y = i[0] @ i[1].float().T + i[2].float()
        elif op == "Softmax":
            y = torch.softmax(i[0], dim=attr(node, "axis", -1))
        elif op in ("QuantizeLinear", "DequantizeLinear"):
            scale = i[1].float()
            zp = i[2] if len(i) > 2 and i[2] is not None else torch.zeros(scale.shape, dtype=torch.int32)
            axis = attr(node, "axis", 1)
            if scale.dim() == 1:
                shape = [1] * i[0].dim()
                shape[axis] = -1
                scale, zpf = scale.reshape(shape), zp.reshape(shape).to(torch.float64)
            else:
                zpf = zp.to(torch.float64)
            if op == "QuantizeLinear":
                lo, hi = (0, 255) if zp.dtype == torch.uint8 else (-128, 127)
                q = torch.round(i[0] / scale).to(torch.float64) + zpf
                y = torch.clamp(q, lo, hi).to(zp.dtype)
            else:
                y = ((i[0].to(torch.float64) - zpf) * scale.to(torch.float64)).float()
        else:
            raise SystemExit("onnx_eval: unsupported op " + op)
        env[node.output[0]] = y
    out = env[g.output[0].name]
    out.float().numpy().astype(np.float32).tofile(outp)


if __name__ == "__main__":
    main()
