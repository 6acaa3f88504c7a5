"""Open the style networks with onnxruntime: tuned session options, and the transformer freed from 384x384.

The arbitrary-style transformer is exported with its input and output fixed at 1x384x384x3, but its graph is
fully convolutional: the Reshape targets are per-channel ([1, C, 1, 1]), the Resize nodes use scales (x2) and
instance norm uses GlobalAveragePool, so nothing else bakes in 384. Renaming the two spatial dims to symbols
(in memory, on a copy: the cached file stays byte-identical and keeps its checksum) lets it run at the
portrait's own working resolution, which is what keeps faces sharp instead of upscaling a 384 px result.
The rewritten copy is kept beside the models after its first use (`kept_dynamic_transformer`): the rewrite
needs the onnx package, whose import alone (its ml_dtypes extension) is ~0.6 s of every CLI run here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from services.stylizer.providers import onnx_providers, running_on
from shared.errors import SitterError
from shared.models import sha256_of

FIXED_SIDE = 384


def session_options(threads: int | None) -> ort.SessionOptions:
    """Full graph optimisation (fuses the quantise/dequantise pairs and the convolutions); one inter-op
    thread, since these graphs are a single chain and parallel branches only add scheduling overhead."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    # no memory arena: the runtime's arena keeps its largest size for good (a 2048 px person left the
    # stylizer at +800 MB when idle); without it the activations are freed after each run
    options.enable_cpu_mem_arena = False
    return options


def open_session(model: Path | bytes, threads: int | None, what: str) -> ort.InferenceSession:
    source = str(model) if isinstance(model, Path) else model
    session = ort.InferenceSession(source, session_options(threads), providers=onnx_providers())
    running_on(session, what)
    return session


def dynamic_size_transformer(path: Path) -> bytes:
    """The transformer's serialized graph with height and width symbolic (`h`, `w`) on input and output.

    Refuses a graph that does not look like the expected export (a Reshape whose target is not per-channel
    could bake in the spatial size), so a different model file fails loudly instead of producing garbage.
    """
    import onnx  # here, not at the top: see the module's docstring
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    content, output = graph.input[0], graph.output[0]
    for tensor in (content, output):
        dims = tensor.type.tensor_type.shape.dim
        if [dim.dim_value for dim in dims] != [1, FIXED_SIDE, FIXED_SIDE, 3]:
            raise SitterError(f"{path.name}: {tensor.name} is not 1x{FIXED_SIDE}x{FIXED_SIDE}x3")
        for index, name in ((1, "h"), (2, "w")):
            dims[index].ClearField("dim_value")
            dims[index].dim_param = name
    constants = {init.name: init for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[1] in constants:
            target = numpy_helper.to_array(constants[node.input[1]])
            if target.size == 4 and not np.array_equal(target[[0, 2, 3]], [1, 1, 1]):
                raise SitterError(f"{path.name}: Reshape {node.name} bakes in a size {target.tolist()}")
    del graph.value_info[:]  # inferred 384-based shapes would contradict the symbolic ones
    return bytes(model.SerializeToString())


REWRITE_VERSION = 1  # raise when dynamic_size_transformer changes what it writes: old copies are ignored


def kept_dynamic_transformer(path: Path) -> bytes:
    """`dynamic_size_transformer(path)`, from a copy kept in `derived/` beside the (verified) model when there
    is one whose bytes match the checksum kept with it; else rewritten, and kept where the directory is
    writable (a read-only model directory, as in the images, just rewrites each start)."""
    kept = path.parent / "derived" / f"{path.stem}.dynamic-v{REWRITE_VERSION}.{sha256_of(path)[:16]}.onnx"
    checksum = kept.with_name(kept.name + ".sha256")
    try:
        graph = kept.read_bytes()
        if hashlib.sha256(graph).hexdigest() == checksum.read_text().strip():
            return graph
    except OSError:
        pass
    graph = dynamic_size_transformer(path)
    try:
        kept.parent.mkdir(exist_ok=True)
        for target, data in ((kept, graph), (checksum, hashlib.sha256(graph).hexdigest().encode())):
            with tempfile.NamedTemporaryFile(dir=kept.parent, delete=False) as handle:
                handle.write(data)
            os.replace(handle.name, target)  # whole or absent, whatever runs beside it
    except OSError:
        pass
    return graph
