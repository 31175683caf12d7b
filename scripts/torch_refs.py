#!/usr/bin/python3
"""Whole-network PyTorch references for deepscope's inference engine.

Exports torchvision CNNs to ONNX and records what PyTorch computes for them, in
float64, so that model/torchref_test.go can hold the Go engine to it: every
intermediate layer, the logits, and input gradients of one class logit in the
three backward modes (vanilla, guided backprop, deconvnet).

Run it with Debian's interpreter (python3-torch 1.13, python3-torchvision,
python3-onnx, numpy); a `python3` earlier on PATH may lack torch:

    /usr/bin/python3 scripts/torch_refs.py --out DIR \\
        [--models squeezenet1_1,resnet18,mobilenet_v2,googlenet,alexnet] [--size 224]

The committed fixture testdata/torch/squeezenet1_1 is made with --size 68,
which keeps the folder under 8 MB and makes the second and third ceil_mode
MaxPools produce a row and column that floor mode would drop (16 -> 8, not 7;
8 -> 4, not 3). `make testdata-torch` builds all five models at 224 into
.cache/torch (about a minute on 2 cores).

Per model, DIR/<name>/ holds:

  model.onnx        opset 13, input "input" (1x3xSxS), output "logits" (1x1000).
                    Exported with do_constant_folding=False and
                    training=TrainingMode.PRESERVE on the eval-mode model: the
                    default (EVAL) would fold every BatchNorm into its Conv,
                    PRESERVE keeps BatchNormalization nodes (inference form).
  input.npy         the float32 input x: a smooth random RGB image in [0, 1]
                    (seeded) normalised with the ImageNet mean and std.
  layers.json       manifest {"model", "node_outputs", "covered", "uncovered",
                    "layers": [{"onnx", "file", "op", "source"}, ...]}:
                    node_outputs counts the outputs of computing nodes (not
                    Constant/Identity), covered how many have a reference.
  layer_NNN.npy     the reference value of layer "onnx" (float32, C order).
  grad_vanilla.npy  d logits[class] / d input, the true gradient,
  grad_guided.npy   ... with guided backprop: at every ReLU / ReLU6
                    g_in = f'(x) * max(g_out, 0),
  grad_deconvnet.npy ... with the deconvnet rule: g_in = max(g_out, 0).
                    MaxPool always uses PyTorch's own backward (the gradient
                    goes to the first maximum of each window).
  grad_layer.npy    d logits[class] / d (last conv block's output), vanilla
                    (Grad-CAM style); meta.json names that layer.
  meta.json         {"model", "class", "logit", "size", "opset", "torch",
                    "torchvision", "grad_layer", "grad_layer_module", ...}.

How the model is made: the torchvision constructor with weights=None
(googlenet: aux_logits=False, init_weights=True) after torch.manual_seed(0).
Then every BatchNorm gets a random weight and bias, its running mean and
variance are set to the batch statistics of two random images (so activations
keep a sensible scale through deep networks) and then perturbed at random
(mean shifted, variance scaled), so that BatchNorm is a real test rather than
an identity. Everything is seeded: the output is deterministic for a given
torch build.

How layers are matched to ONNX tensors: torch 1.13 names each ONNX node after
the module call that produced it ("/layer1/layer1.0/relu_1/Relu": the
unqualified module name per level, "_N" for the N-th repeated call, e.g. a
BasicBlock's relu used twice). Forward hooks record every module call's input
and output; a call's output is the output of the last node in its scope and
its input is the one tensor its scope consumes from outside (this catches the
residual Add that feeds relu_1, the Flatten that feeds fc, ...). Shapes are
checked. Remaining node outputs (functional ops such as mobilenet_v2's
GlobalAveragePool) are computed by applying the equivalent torch.nn.functional
op to the reference inputs; the same evaluation runs on every covered node too,
as a cross-check of the scope matching (the script fails on a mismatch).

How the backward modes are made: torch.nn.functional.relu and .hardtanh (what
nn.ReLU, nn.ReLU6 and googlenet's BasicConv2d call) are replaced, while the
gradients are computed, by custom autograd Functions whose backward applies
the mode's rule; f'(x) = 1 on the open interval (0, inf) resp. (min, max), as
PyTorch's own relu/hardtanh backward.
"""

import argparse
import contextlib
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import numpy_helper

OPSET = 13
SEED = 0
ALL_MODELS = ["squeezenet1_1", "resnet18", "mobilenet_v2", "googlenet", "alexnet"]

# The module whose output is the "last conv block" for the Grad-CAM reference.
GRAD_LAYER = {
    "squeezenet1_1": "features",
    "resnet18": "layer4",
    "mobilenet_v2": "features",
    "googlenet": "inception5b",
    "alexnet": "features",
}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def build(name):
    """The torchvision model with seeded random weights and BatchNorms."""
    torch.manual_seed(SEED)
    kwargs = {"weights": None}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=True)
    return getattr(torchvision.models, name)(**kwargs)


def smooth_images(n, size, seed):
    """n seeded random images (float64, nx3xSxS): smooth colour blobs plus a
    little fine texture, in [0, 1], normalised like ImageNet."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 7, 7, generator=g, dtype=torch.float64)
    img = F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    img = img + 0.08 * torch.randn(n, 3, size, size, generator=g, dtype=torch.float64)
    img = img.clamp(0, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float64).view(1, 3, 1, 1)
    return (img - mean) / std


def randomise_batchnorms(model, size):
    """Random BN weight/bias; running statistics from a calibration batch, then
    perturbed (see the module docstring)."""
    g = torch.Generator().manual_seed(SEED + 1)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    with torch.no_grad():
        for bn in bns:
            c = bn.num_features
            bn.weight.copy_(0.6 + 0.8 * torch.rand(c, generator=g))
            bn.bias.copy_(0.4 * torch.rand(c, generator=g) - 0.1)
            bn.momentum = 1.0  # running stats := this batch's stats
        model.train()
        model(smooth_images(2, size, SEED + 2).float())
        model.eval()
        for bn in bns:
            c = bn.num_features
            std = bn.running_var.sqrt()
            bn.running_mean.add_(0.2 * std * torch.randn(c, generator=g))
            bn.running_var.mul_(0.6 + 0.8 * torch.rand(c, generator=g))
            bn.momentum = 0.1


def export(model, size, path):
    model.eval()
    torch.onnx.export(
        model,
        torch.zeros(1, 3, size, size),
        path,
        opset_version=OPSET,
        do_constant_folding=False,
        training=torch.onnx.TrainingMode.PRESERVE,
        input_names=["input"],
        output_names=["logits"],
    )


# ---------------------------------------------------------------------------
# Forward references: module hooks matched to ONNX scopes.


def unqualified(qname):
    """torch.onnx's per-level scope name: the qualified module name from its
    last non-numeric atom on ("layer1.0" -> "layer1.0", "layer1.0.conv1" ->
    "conv1")."""
    atoms = qname.split(".")
    for i in range(len(atoms) - 1, -1, -1):
        if not atoms[i].isnumeric():
            return ".".join(atoms[i:])
    return qname


class Recorder:
    """Forward hooks that record every module call (float64 clones, taken
    before any in-place op can overwrite them)."""

    def __init__(self, model):
        self.calls = []
        self.stack = []
        self.handles = []
        names = {m: n for n, m in model.named_modules()}
        for m, n in names.items():
            if n == "":
                continue
            self.handles.append(m.register_forward_pre_hook(self._pre(n)))
            self.handles.append(m.register_forward_hook(self._post()))

    def _pre(self, qname):
        def hook(module, args):
            parent = self.stack[-1]["base"] if self.stack else ""
            tensors = [a for a in args if torch.is_tensor(a)]
            call = {
                "qname": qname,
                "base": parent + "/" + unqualified(qname),
                "inputs": [t.detach().clone() for t in tensors],
                "output": None,
                "noop": False,
            }
            self.calls.append(call)
            self.stack.append(call)

        return hook

    def _post(self):
        def hook(module, args, output):
            call = self.stack.pop()
            if torch.is_tensor(output):
                # Dropout (in eval) and Identity create no ONNX node, hence no
                # scope name.
                call["noop"] = isinstance(module, (nn.Dropout, nn.Identity))
                call["output"] = output.detach().clone()

        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


def scope_of(node_name):
    """"/a/b/Relu_1" -> "/a/b" (the scope part of a node name)."""
    return node_name.rsplit("/", 1)[0]


def match_calls(graph, calls):
    """Map each module call to its ONNX scope name. Scopes named B, B_1, B_2,
    ... belong, in order of first appearance, to the calls with base name B
    that created nodes."""
    # Every scope (and enclosing scope) that holds nodes, by first node index.
    first = {}
    for i, n in enumerate(graph.node):
        s = scope_of(n.name)
        while s and s not in first:
            first[s] = i
            s = scope_of(s)
    by_base = {}
    for c in calls:
        if c["output"] is not None and not c["noop"]:
            by_base.setdefault(c["base"], []).append(c)
    matched = []
    for base, cs in by_base.items():
        names = [base] + [f"{base}_{k}" for k in range(1, len(cs))]
        present = [s for s in names if s in first]
        if len(present) != len(cs):
            print(f"  note: {len(cs)} calls of {base} but {len(present)} ONNX scopes; skipped", file=sys.stderr)
            continue
        present.sort(key=lambda s: first[s])
        for c, s in zip(cs, present):
            matched.append((c, s))
    return matched


def module_refs(graph, calls, shapes, initializers, const_outputs):
    """ONNX tensor name -> (float64 value, source) from matched module calls."""
    refs = {}
    produced_by = {}
    for i, n in enumerate(graph.node):
        for o in n.output:
            produced_by[o] = i
    for call, scope in match_calls(graph, calls):
        inside = [i for i, n in enumerate(graph.node) if n.name.startswith(scope + "/")]
        if not inside:
            continue
        nodes = [graph.node[i] for i in inside]
        outs = {o for n in nodes for o in n.output}
        # Output: the last node of the scope.
        name = nodes[-1].output[0]
        _put(refs, shapes, name, call["output"], "module " + call["qname"])
        # Input: the one non-constant tensor the scope consumes from outside.
        ext = []
        for n in nodes:
            for t in n.input:
                if t and t not in outs and t not in initializers and t not in const_outputs and t not in ext:
                    ext.append(t)
        if len(ext) == 1 and len(call["inputs"]) == 1 and ext[0] in produced_by:
            _put(refs, shapes, ext[0], call["inputs"][0], "input of " + call["qname"])
    return refs


def _put(refs, shapes, name, value, source):
    want = shapes.get(name)
    if want is not None and list(value.shape) != want:
        raise SystemExit(f"shape mismatch for {name} ({source}): torch {list(value.shape)}, onnx {want}")
    if name in refs:
        old = refs[name][0]
        if old.shape != value.shape or not torch.allclose(old, value, rtol=1e-12, atol=1e-12):
            raise SystemExit(f"conflicting references for {name}: {refs[name][1]} vs {source}")
        return
    refs[name] = (value, source)


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _sym_pads(a, rank=2):
    pads = list(a.get("pads", [0] * (2 * rank)))
    if pads[:rank] != pads[rank:]:
        return None
    return tuple(pads[:rank])


def eval_node(node, ins):
    """The node's first output computed with torch ops from float64 inputs, or
    None for ops (or variants) this evaluator does not know."""
    op, a = node.op_type, attrs(node)
    x = ins[0] if ins else None
    if op == "Conv":
        pads = _sym_pads(a)
        if pads is None:
            return None
        return F.conv2d(x, ins[1], ins[2] if len(ins) > 2 else None, tuple(a.get("strides", [1, 1])),
                        pads, tuple(a.get("dilations", [1, 1])), a.get("group", 1))
    if op == "BatchNormalization":
        return F.batch_norm(x, ins[3], ins[4], ins[1], ins[2], False, 0.0, a.get("epsilon", 1e-5))
    if op == "Relu":
        return F.relu(x)
    if op == "Clip":
        lo = ins[1].item() if len(ins) > 1 and ins[1] is not None else -float("inf")
        hi = ins[2].item() if len(ins) > 2 and ins[2] is not None else float("inf")
        return x.clamp(lo, hi)
    if op in ("MaxPool", "AveragePool"):
        pads = _sym_pads(a)
        if pads is None or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            return None
        k, s = tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1]))
        ceil = bool(a.get("ceil_mode", 0))
        if op == "MaxPool":
            return F.max_pool2d(x, k, s, pads, tuple(a.get("dilations", [1, 1])), ceil)
        return F.avg_pool2d(x, k, s, pads, ceil, bool(a.get("count_include_pad", 0)))
    if op == "GlobalAveragePool":
        return x.mean(dim=(2, 3), keepdim=True)
    if op == "Concat":
        return torch.cat(ins, dim=a["axis"])
    if op == "Add":
        return ins[0] + ins[1]
    if op == "Flatten":
        ax = a.get("axis", 1)
        return x.reshape(int(np.prod(x.shape[:ax])), -1)
    if op == "Gemm":
        A = x.t() if a.get("transA", 0) else x
        B = ins[1].t() if a.get("transB", 0) else ins[1]
        y = a.get("alpha", 1.0) * (A @ B)
        if len(ins) > 2 and ins[2] is not None:
            y = y + a.get("beta", 1.0) * ins[2]
        return y
    if op in ("Identity", "Dropout"):
        return x
    if op == "Reshape":
        return x.reshape([int(v) for v in ins[1].tolist()])
    return None


def forward_refs(model, x, path):
    """Reference value of every computing node output of the ONNX model at
    path, for input x (float64)."""
    m = onnx.load(path)
    inferred = onnx.shape_inference.infer_shapes(m)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        if dims and all(d > 0 for d in dims):
            shapes[vi.name] = dims
    g = m.graph
    consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).astype(np.float64) if numpy_helper.to_array(t).dtype.kind == "f" else numpy_helper.to_array(t).copy()) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            arr = numpy_helper.to_array(attrs(n)["value"])
            consts[n.output[0]] = torch.from_numpy(arr.astype(np.float64) if arr.dtype.kind == "f" else arr.copy())
    # Identity of a constant is a constant too.
    for n in g.node:
        if n.op_type == "Identity" and n.input[0] in consts:
            consts[n.output[0]] = consts[n.input[0]]
    initializers = {t.name for t in g.initializer}
    const_outputs = {n.output[0] for n in g.node if n.op_type in ("Constant", "Identity") and n.output[0] in consts}

    rec = Recorder(model)
    with torch.no_grad():
        logits = model(x)
    rec.remove()
    refs = module_refs(g, rec.calls, shapes, initializers, const_outputs)
    _put(refs, shapes, "logits", logits, "model output")

    # Cross-check and fill in with torch ops, in graph order.
    values = dict(consts)
    values["input"] = x
    computing = [n for n in g.node if n.output[0] not in const_outputs]
    checked = 0
    for n in computing:
        ins = [values.get(t) if t else None for t in n.input]
        y = None
        if all(v is not None for v, t in zip(ins, n.input) if t):
            y = eval_node(n, ins)
        name = n.output[0]
        if name in refs:
            if y is not None:
                ref = refs[name][0]
                err = (y - ref).abs().max().item() / max(ref.abs().max().item(), 1e-30)
                if err > 1e-7:
                    raise SystemExit(f"{n.op_type} {name}: torch-op value differs from {refs[name][1]} (rel {err:.3g})")
                checked += 1
            values[name] = refs[name][0]
        elif y is not None:
            _put(refs, shapes, name, y, "torch op")
            values[name] = y
    out = []
    uncovered = []
    for n in computing:
        name = n.output[0]
        if name in refs:
            out.append((name, n.op_type, refs[name][0], refs[name][1]))
        else:
            uncovered.append(name)
    return out, uncovered, len(computing), checked, logits


# ---------------------------------------------------------------------------
# Backward modes.


def _rule(mode, g, mask):
    if mode == "vanilla":
        return g * mask
    if mode == "guided":
        return g.clamp(min=0) * mask
    return g.clamp(min=0)  # deconvnet


class _ModeReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, mode):
        ctx.mode = mode
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _rule(ctx.mode, g, (x > 0).to(g.dtype)), None


class _ModeHardtanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo, hi, mode):
        ctx.mode, ctx.lo, ctx.hi = mode, lo, hi
        ctx.save_for_backward(x)
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        mask = ((x > ctx.lo) & (x < ctx.hi)).to(g.dtype)
        return _rule(ctx.mode, g, mask), None, None, None


@contextlib.contextmanager
def backward_mode(mode):
    """Route every F.relu / F.hardtanh call through the mode's Function."""
    relu, hardtanh = F.relu, F.hardtanh

    def mode_relu(x, inplace=False):
        return _ModeReLU.apply(x, mode)

    def mode_hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
        if mode != "vanilla" and min_val != 0:
            raise SystemExit(f"hardtanh({min_val}, {max_val}) is not ReLU-like")
        return _ModeHardtanh.apply(x, min_val, max_val, mode)

    F.relu, F.hardtanh = mode_relu, mode_hardtanh
    try:
        yield
    finally:
        F.relu, F.hardtanh = relu, hardtanh


def gradients(model, x, cls, grad_module):
    """Input gradients of logits[0, cls] per mode, and the vanilla gradient
    w.r.t. grad_module's output."""
    out = {}
    layer = {}
    module = dict(model.named_modules())[grad_module]

    def keep(_m, _args, output):
        output.retain_grad()
        layer["t"] = output

    for mode in ("vanilla", "guided", "deconvnet"):
        xi = x.clone().requires_grad_(True)
        h = module.register_forward_hook(keep) if mode == "vanilla" else None
        with backward_mode(mode):
            logits = model(xi)
            logits[0, cls].backward()
        if h:
            h.remove()
        out[mode] = xi.grad.detach().clone()
        if mode == "vanilla":
            out["layer"] = layer["t"].grad.detach().clone()
            out["vanilla_logits"] = logits.detach()
        model.zero_grad(set_to_none=True)
    return out


# ---------------------------------------------------------------------------


def save(path, t):
    np.save(path, np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32)))


def make(name, size, root):
    t0 = time.time()
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith(".npy") or f.endswith(".json"):
            os.remove(os.path.join(d, f))
    model = build(name)
    randomise_batchnorms(model, size)
    model.eval()
    onnx_path = os.path.join(d, "model.onnx")
    export(model, size, onnx_path)

    x32 = smooth_images(1, size, SEED + 3).float()
    np.save(os.path.join(d, "input.npy"), x32.numpy())
    model = model.double()
    x = x32.double()  # exactly the engine's input

    layers, uncovered, total, checked, logits = forward_refs(model, x, onnx_path)
    manifest = []
    for i, (onnx_name, op, value, source) in enumerate(layers):
        f = f"layer_{i:03d}.npy"
        save(os.path.join(d, f), value)
        manifest.append({"onnx": onnx_name, "file": f, "op": op, "source": source})

    cls = int(logits[0].argmax())
    grad_mod = GRAD_LAYER[name]
    g = gradients(model, x, cls, grad_mod)
    if not torch.allclose(g["vanilla_logits"], logits, rtol=1e-12, atol=1e-12):
        raise SystemExit("patched ReLUs changed the forward pass")
    for mode in ("vanilla", "guided", "deconvnet"):
        save(os.path.join(d, f"grad_{mode}.npy"), g[mode])
    save(os.path.join(d, "grad_layer.npy"), g["layer"])
    grad_layer_name = next((l["onnx"] for l in manifest if l["source"] == "module " + grad_mod), None)
    if grad_layer_name is None:
        raise SystemExit(f"no ONNX tensor for module {grad_mod}")

    with open(os.path.join(d, "layers.json"), "w") as f:
        json.dump({"model": name, "node_outputs": total, "covered": len(manifest),
                   "uncovered": uncovered, "layers": manifest}, f, indent=1)
    meta = {
        "model": name,
        "class": cls,
        "logit": float(logits[0, cls]),
        "size": size,
        "opset": OPSET,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "input": "input",
        "output": "logits",
        "grad_layer": grad_layer_name,
        "grad_layer_module": grad_mod,
        "seed": SEED,
    }
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"{name}: size {size}, {len(manifest)}/{total} node outputs covered "
          f"({checked} cross-checked against torch ops), class {cls}, "
          f"{time.time() - t0:.1f}s", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (one subfolder per model)")
    p.add_argument("--models", default=",".join(ALL_MODELS))
    p.add_argument("--size", type=int, default=224, help="input height and width")
    args = p.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name in args.models.split(","):
        name = name.strip()
        if name not in GRAD_LAYER:
            raise SystemExit(f"unknown model {name!r} (known: {', '.join(ALL_MODELS)})")
        make(name, args.size, args.out)


if __name__ == "__main__":
    main()
