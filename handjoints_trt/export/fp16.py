"""FP32 ONNX -> FP16 ONNX whose inputs and outputs stay float32 (Cast nodes at the boundaries).

Why: TensorRT 11 removed the FP16 builder flag; a network is strongly typed and runs in FP16 only where the graph
itself says float16. The runtime keeps feeding float32 arrays, so the graph's interface does not change.

What it does, with the onnx package only:
  - float32 initializers and Constant / ConstantOfShape values -> float16 (clipped to +-65504 so that no weight
    becomes inf), except inputs that ONNX requires to be float32 (Resize's roi/scales, see KEEP_FLOAT32);
  - Cast(to=float32) inside the graph -> Cast(to=float16);
  - every float32 graph input gets a Cast to float16 after it, every float32 output a Cast back to float32;
  - value_info of float tensors is dropped (shape inference re-derives it with the new element types).

    python -m handjoints_trt.export.fp16 hand.onnx [hand.fp16.onnx]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

FP16_MAX = 65504.0
# op type -> input positions whose type is tensor(float) in the ONNX spec, whatever T is.
KEEP_FLOAT32 = {"Resize": (1, 2), "Upsample": (1,)}
FP16_SUFFIX = ".fp16.onnx"


def fp16_path_for(onnx_path: str | Path) -> Path:
    """hand.onnx -> hand.fp16.onnx (beside it)."""
    p = Path(onnx_path)
    return p.with_name(p.name[: -len(".onnx")] + FP16_SUFFIX if p.name.endswith(".onnx") else p.name + FP16_SUFFIX)


def _to_fp16_tensor(tensor):
    """A float32 TensorProto -> a float16 one with the same name (values clipped to the FP16 range)."""
    from onnx import numpy_helper

    arr = numpy_helper.to_array(tensor)
    half = np.clip(arr, -FP16_MAX, FP16_MAX).astype(np.float16)
    return numpy_helper.from_array(half, tensor.name)


def _keep_float32_names(graph) -> set[str]:
    """Names of tensors that ONNX requires to stay float32 (e.g. Resize scales)."""
    keep = set()
    for node in graph.node:
        for i in KEEP_FLOAT32.get(node.op_type, ()):
            if i < len(node.input) and node.input[i]:
                keep.add(node.input[i])
    return keep


def _convert_initializers(graph, keep: set[str]) -> None:
    from onnx import TensorProto

    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT and init.name not in keep:
            graph.initializer[i].CopyFrom(_to_fp16_tensor(init))


def _convert_nodes(graph, keep: set[str]) -> None:
    """Constant values and Cast targets inside the graph (sub-graphs are not used by our exports)."""
    from onnx import TensorProto

    for node in graph.node:
        if node.op_type in ("Constant", "ConstantOfShape") and not (set(node.output) & keep):
            for attr in node.attribute:
                if attr.name == "value" and attr.t.data_type == TensorProto.FLOAT:
                    attr.t.CopyFrom(_to_fp16_tensor(attr.t))
        elif node.op_type == "Cast":
            for attr in node.attribute:
                if attr.name == "to" and attr.i == TensorProto.FLOAT and not (set(node.output) & keep):
                    attr.i = TensorProto.FLOAT16
        if any(a.type == a.GRAPH or a.type == a.GRAPHS for a in node.attribute):
            raise NotImplementedError(f"node {node.name!r} ({node.op_type}) has a sub-graph; the FP16 converter "
                                      f"handles flat graphs only")


def _rename_uses(graph, old: str, new: str) -> None:
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new


def _cast_boundaries(graph) -> None:
    """Cast float32 graph inputs to float16 on entry and float16 outputs back to float32 on exit."""
    from onnx import TensorProto, helper

    head, tail = [], []
    for inp in graph.input:
        if inp.type.tensor_type.elem_type == TensorProto.FLOAT:
            inner = inp.name + "__fp16"
            _rename_uses(graph, inp.name, inner)
            head.append(helper.make_node("Cast", [inp.name], [inner], name=inp.name + "__to_fp16",
                                         to=TensorProto.FLOAT16))
    for out in graph.output:
        if out.type.tensor_type.elem_type == TensorProto.FLOAT:
            inner = out.name + "__fp16"
            for node in graph.node:
                for i, name in enumerate(node.output):
                    if name == out.name:
                        node.output[i] = inner
            _rename_uses(graph, out.name, inner)  # an output may also feed other nodes
            tail.append(helper.make_node("Cast", [inner], [out.name], name=out.name + "__to_fp32",
                                         to=TensorProto.FLOAT))
    nodes = head + list(graph.node) + tail
    del graph.node[:]
    graph.node.extend(nodes)


def convert_model_fp16(model):
    """An onnx.ModelProto in FP32 -> a new ModelProto computing in FP16 with float32 inputs and outputs."""
    import onnx
    from onnx import TensorProto

    model = onnx.ModelProto.FromString(model.SerializeToString())  # never touch the caller's model
    graph = model.graph
    keep = _keep_float32_names(graph)
    _convert_initializers(graph, keep)
    _convert_nodes(graph, keep)
    _cast_boundaries(graph)
    float_vi = [vi for vi in graph.value_info if vi.type.tensor_type.elem_type == TensorProto.FLOAT]
    for vi in float_vi:
        graph.value_info.remove(vi)
    entry = model.metadata_props.add()
    entry.key, entry.value = "handjoints.graph_precision", "fp16"
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model)
    return model


def convert_file_fp16(src: str | Path, dst: str | Path | None = None) -> Path:
    """Convert an FP32 ONNX file; writes `dst` (default: hand.onnx -> hand.fp16.onnx) atomically."""
    import onnx

    from ..engines.cache import atomic_write_bytes

    src = Path(src)
    dst = Path(dst) if dst is not None else fp16_path_for(src)
    model = convert_model_fp16(onnx.load(str(src)))
    return atomic_write_bytes(dst, model.SerializeToString())


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        print("usage: python -m handjoints_trt.export.fp16 MODEL.onnx [OUT.fp16.onnx]", file=sys.stderr)
        return 2
    print(convert_file_fp16(*args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
