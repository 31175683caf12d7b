#!/usr/bin/python3
"""PyTorch float64 references for deepscope's attribution methods (package vis).

An independent implementation of every method in vis/ (saliency, deconv,
guided, gradxinput, gradcam, guided-gradcam, gradcam++, scorecam, cam,
smoothgrad, ig, occlusion), run in float64 on a PyTorch rebuild of an ONNX
network, so that vis/torchref_test.go can hold the Go methods to it. Run it
with Debian's interpreter (python3-torch 1.13, python3-onnx, numpy, PIL):

    /usr/bin/python3 scripts/vis_refs.py [--out DIR] [--models squeezenet1_1,tiny_darknet]

DIR defaults to .cache/torch/vis. The committed fixture vis/testdata/torch is
made with `--out vis/testdata/torch --models squeezenet1_1`; `make
testdata-torch` makes tiny_darknet into .cache/torch/vis.

Models:
  squeezenet1_1  testdata/torch/squeezenet1_1/model.onnx (torchvision
                 weights seeded by scripts/torch_refs.py, 68x68) on that
                 fixture's input.npy.
  tiny_darknet   $DEEPSCOPE_SHARED/models/tiny_darknet.onnx (224x224,
                 LeakyRelu 0.1) on photos/dog.jpg, preprocessed here with PIL
                 as its sidecar says (short side to 256, bilinear, centre crop
                 224, (pixel/scale - mean)/std).

The network is rebuilt by a small ONNX interpreter that maps each node to a
torch.nn.functional call on float64 tensors (Conv, Relu, LeakyRelu, MaxPool
incl. ceil_mode, GlobalAveragePool, BatchNormalization, Concat, Flatten,
Softmax, Gemm, ...). ReLU-family nodes run through a custom autograd Function
whose backward follows the method's rule: vanilla g*f'(x), guided
max(g,0)*f'(x), deconvnet max(g,0), with f'(x) = 1 for x > 0, else alpha
(0 for Relu). MaxPool uses PyTorch's own backward.

Per model, DIR/<model>/ holds params.json (where the model and its float32
input are, "repo:", "shared:" or "refs:" meaning the repository root,
$DEEPSCOPE_SHARED or DIR/<model>; the class; every case's method, target,
options, expected CAM layer and score), input.npy when the input is made
here (tiny_darknet's photo: the Go test runs on exactly this), and one
<case>.npy per case: the raw map in float32, as `deepscope render --npy`
writes it (C x H x W input maps, h x w CAM/occlusion grids).

SmoothGrad's noise is not Go's vis.Noise (a PCG stream with Go's ziggurat
normal sampler) but a portable counter-based generator, noise() below, that
the Go test reimplements and passes in through vis.Request.Noise: sample i,
value j of the flattened input uses splitmix64 of seed + (2(iN+j)+t) * golden
for t = 0, 1 as two uniforms and Box-Muller.

--break relu|softmax deliberately computes wrong references (guided and
deconvnet rules swapped for plain ReLU gradients everywhere, resp. the
softmax probability instead of the logit as the class score) to show that
the Go test catches such mistakes.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1

# ---------------------------------------------------------------------------
# ReLU family with a backward rule.


class ModeAct(torch.autograd.Function):
    """y = x for x > 0, alpha*x otherwise; backward by mode."""

    @staticmethod
    def forward(ctx, x, alpha, mode):
        ctx.alpha, ctx.mode = alpha, mode
        ctx.save_for_backward(x)
        return torch.where(x > 0, x, x * alpha) if alpha != 0 else x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        deriv = torch.where(x > 0, torch.ones_like(x), torch.full_like(x, ctx.alpha))
        if ctx.mode == "vanilla":
            return g * deriv, None, None
        if ctx.mode == "guided":
            return g.clamp(min=0) * deriv, None, None
        if ctx.mode == "deconvnet":
            return g.clamp(min=0), None, None
        raise ValueError(ctx.mode)


# ---------------------------------------------------------------------------
# ONNX interpreter.


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def sym_pads(a, name):
    p = list(a.get("pads", [0, 0, 0, 0]))
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"", ""):
        raise SystemExit(f"{name}: auto_pad is not supported")
    if p[:2] != p[2:]:
        raise SystemExit(f"{name}: asymmetric pads {p} are not supported")
    return tuple(p[:2])


class Net:
    """An ONNX graph evaluated with torch ops in float64."""

    def __init__(self, path):
        self.path = path
        m = onnx.load(path)
        g = m.graph
        self.consts = {}
        for t in g.initializer:
            arr = numpy_helper.to_array(t)
            self.consts[t.name] = torch.from_numpy(arr.astype(np.float64) if arr.dtype.kind == "f" else arr.copy())
        self.nodes = []
        for n in g.node:
            if n.op_type == "Constant":
                arr = numpy_helper.to_array(attrs(n)["value"])
                self.consts[n.output[0]] = torch.from_numpy(arr.astype(np.float64) if arr.dtype.kind == "f" else arr.copy())
            elif n.op_type == "Identity" and n.input[0] in self.consts:
                self.consts[n.output[0]] = self.consts[n.input[0]]
            else:
                self.nodes.append(n)
        inits = {t.name for t in g.initializer}
        self.input = next(i.name for i in g.input if i.name not in inits)
        self.input_shape = [d.dim_value for d in next(i for i in g.input if i.name == self.input).type.tensor_type.shape.dim]
        self.output = g.output[0].name
        self.producer = {n.output[0]: n for n in self.nodes}

    def logit_layer(self):
        """The class score layer: the input of a final Softmax, else the
        output."""
        name = self.output
        while name in self.producer:
            n = self.producer[name]
            if n.op_type in ("Softmax", "LogSoftmax"):
                return n.input[0]
            if n.op_type in ("Flatten", "Reshape", "Identity", "Dropout", "Squeeze"):
                name = n.input[0]
                continue
            break
        return self.output

    def run(self, x, mode="vanilla", retain=(), upto=None):
        """Evaluates the graph on x; returns every value. Values named in
        retain keep their gradient. Stops after the node producing upto."""
        v = dict(self.consts)
        v[self.input] = x
        for n in self.nodes:
            ins = [v[t] if t else None for t in n.input]
            y = self.eval(n, ins, mode)
            v[n.output[0]] = y
            if n.output[0] in retain:
                y.retain_grad()
            if n.output[0] == upto:
                break
        return v

    def eval(self, node, ins, mode):
        op, a, name = node.op_type, attrs(node), node.output[0]
        x = ins[0]
        if op == "Conv":
            return F.conv2d(x, ins[1], ins[2] if len(ins) > 2 else None, tuple(a.get("strides", [1, 1])),
                            sym_pads(a, name), tuple(a.get("dilations", [1, 1])), a.get("group", 1))
        if op == "Relu":
            return ModeAct.apply(x, 0.0, mode)
        if op == "LeakyRelu":
            return ModeAct.apply(x, float(a.get("alpha", 0.01)), mode)
        if op == "MaxPool":
            return F.max_pool2d(x, tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1])), sym_pads(a, name),
                                tuple(a.get("dilations", [1, 1])), bool(a.get("ceil_mode", 0)))
        if op == "AveragePool":
            return F.avg_pool2d(x, tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1])), sym_pads(a, name),
                                bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0)))
        if op == "GlobalAveragePool":
            return x.mean(dim=(2, 3), keepdim=True)
        if op == "BatchNormalization":
            return F.batch_norm(x, ins[3], ins[4], ins[1], ins[2], False, 0.0, a.get("epsilon", 1e-5))
        if op == "Concat":
            return torch.cat(ins, dim=a["axis"])
        if op == "Add":
            return ins[0] + ins[1]
        if op == "Flatten":
            ax = a.get("axis", 1)
            return x.reshape(int(np.prod(x.shape[:ax])), -1)
        if op == "Softmax":
            return F.softmax(x, dim=a.get("axis", -1))
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
            shape = [int(s) for s in ins[1].tolist()]
            return x.reshape([x.shape[0]] + shape[1:])  # keep the batch
        raise SystemExit(f"{self.path}: op {op} ({name}) is not supported by this interpreter")

    def layer_order(self):
        return [n.output[0] for n in self.nodes]


# ---------------------------------------------------------------------------
# Targets and the methods.


class Target:
    """Channel unit of layer summed over its positions; for a class target
    the layer is the logit layer."""

    def __init__(self, layer, unit, cls):
        self.layer, self.unit, self.cls = layer, unit, cls

    def score(self, values):
        v = values[self.layer][:, self.unit]
        return v.reshape(v.shape[0], -1).sum(1)

    def as_json(self):
        return {"layer": self.layer, "unit": self.unit, "class": self.cls}


def upsample(m, H, W):
    """Bilinear, align_corners=False, of an h x w map to H x W."""
    return F.interpolate(m[None, None], size=(H, W), mode="bilinear", align_corners=False)[0, 0]


class Methods:
    def __init__(self, net, x, breaks):
        self.net, self.x, self.breaks = net, x, breaks
        self.H, self.W = x.shape[2], x.shape[3]

    def score(self, t, values):
        if t.cls and self.breaks == "softmax":
            return F.softmax(values[t.layer], dim=1)[:, t.unit]
        return t.score(values)

    def mode(self, m):
        return "vanilla" if self.breaks == "relu" else m

    def scores(self, t, xs, batch=16):
        out = []
        with torch.no_grad():
            for i in range(0, xs.shape[0], batch):
                out.append(self.score(t, self.net.run(xs[i:i + batch], upto=t.layer)))
        return torch.cat(out)

    def input_grad(self, t, x, mode="vanilla"):
        """Per-item gradients of the items' scores w.r.t. a batch x."""
        xi = x.clone().requires_grad_(True)
        s = self.score(t, self.net.run(xi, self.mode(mode), upto=t.layer))
        s.sum().backward()
        return xi.grad.detach(), s.detach()

    def layer_grad(self, t, layer, x=None):
        x = (self.x if x is None else x).clone().requires_grad_(True)
        v = self.net.run(x, "vanilla", retain=(layer,), upto=t.layer)
        s = self.score(t, v)
        s.sum().backward()
        return v[layer].detach()[0], v[layer].grad.detach()[0], s.detach()

    def default_cam_layer(self, t):
        """The last layer, up to the target's, with an N x K x h x w output,
        h*w > 1."""
        best = None
        with torch.no_grad():
            v = self.net.run(self.x, upto=t.layer)
        for name in self.net.layer_order():
            y = v.get(name)
            if y is not None and y.dim() == 4 and y.shape[2] * y.shape[3] > 1:
                best = name
            if name == t.layer:
                break
        return best

    # The methods; each returns the raw map (float64 tensor).

    def saliency(self, t, c):
        return self.input_grad(t, self.x)[0][0]

    def deconv(self, t, c):
        return self.input_grad(t, self.x, "deconvnet")[0][0]

    def guided(self, t, c):
        return self.input_grad(t, self.x, "guided")[0][0]

    def gradxinput(self, t, c):
        return (self.input_grad(t, self.x)[0] * self.x)[0]

    def gradcam(self, t, c):
        A, g, _ = self.layer_grad(t, c["cam_layer"])
        alpha = g.mean(dim=(1, 2))
        return (alpha[:, None, None] * A).sum(0).clamp(min=0)

    def guided_gradcam(self, t, c):
        cam = self.gradcam(t, c)
        return self.input_grad(t, self.x, "guided")[0][0] * upsample(cam, self.H, self.W)[None]

    def gradcampp(self, t, c):
        # pytorch-grad-cam's closed form (exp(S) left out, as vis does).
        A, g, _ = self.layer_grad(t, c["cam_layer"])
        sumA = A.sum(dim=(1, 2))[:, None, None]
        den = 2 * g ** 2 + sumA * g ** 3
        aij = torch.where(den != 0, g ** 2 / torch.where(den != 0, den, torch.ones_like(den)), torch.zeros_like(g))
        w = (aij * g.clamp(min=0)).sum(dim=(1, 2))
        return (w[:, None, None] * A).sum(0).clamp(min=0)

    def scorecam(self, t, c):
        with torch.no_grad():
            A = self.net.run(self.x, upto=c["cam_layer"])[c["cam_layer"]][0]
        K = A.shape[0]
        ks = [k for k in range(K) if A[k].max() > A[k].min()]
        masks = []
        for k in ks:
            up = upsample(A[k], self.H, self.W)
            masks.append((up - up.min()) / (up.max() - up.min()))
        xs = self.x * torch.stack(masks)[:, None]
        alpha = torch.zeros(K, dtype=torch.float64)
        if t.cls:
            with torch.no_grad():
                probs = []
                for i in range(0, xs.shape[0], 16):
                    z = self.net.run(xs[i:i + 16], upto=t.layer)[t.layer]
                    probs.append(F.softmax(z.reshape(z.shape[0], z.shape[1], -1).sum(2), dim=1)[:, t.unit])
                alpha[ks] = torch.cat(probs)
        else:
            base = self.scores(t, torch.zeros_like(self.x))[0]
            alpha[ks] = self.scores(t, xs) - base
        return (alpha[:, None, None] * A).sum(0).clamp(min=0)

    def cam(self, t, c):
        A, pooled = cam_layers(self.net, t.layer)
        if c["cam_layer"] != A:
            raise SystemExit(f"cam layer {A} is not the expected {c['cam_layer']}")
        v = self.net.run(self.x.clone().requires_grad_(True), "vanilla", retain=(pooled,), upto=t.layer)
        self.score(t, v).sum().backward()
        w = v[pooled].grad.detach()[0].reshape(-1)
        return (w[:, None, None] * v[A].detach()[0]).sum(0)

    def smoothgrad(self, t, c):
        n = c["samples"]
        x = self.x
        sigma = c["sigma"] * (x.max() - x.min()).item()
        eps = torch.from_numpy(noise(c["seed"], n, x.numel()).astype(np.float64)).reshape((n,) + tuple(x.shape[1:]))
        total = torch.zeros_like(x[0])
        for i in range(0, n, 8):
            g, _ = self.input_grad(t, x + sigma * eps[i:i + 8])
            total += g.sum(0)
        return total / n

    def ig(self, t, c):
        m = c["steps"]
        alphas = torch.arange(1, m + 1, dtype=torch.float64) / m
        total = torch.zeros_like(self.x[0])
        for i in range(0, m, 8):
            g, _ = self.input_grad(t, alphas[i:i + 8, None, None, None] * self.x)
            total += g.sum(0)
        return self.x[0] * total / m

    def occlusion(self, t, c):
        P, s = c["patch"], c["stride"]
        ph, pw = min(P, self.H), min(P, self.W)
        gh, gw = (self.H - ph) // s + 1, (self.W - pw) // s + 1
        xs = self.x.repeat(gh * gw, 1, 1, 1)
        for i in range(gh):
            for j in range(gw):
                xs[i * gw + j, :, i * s:i * s + ph, j * s:j * s + pw] = 0
        s0 = self.scores(t, self.x)[0]
        return (s0 - self.scores(t, xs)).reshape(gh, gw)


METHODS = {
    "saliency": Methods.saliency, "deconv": Methods.deconv, "guided": Methods.guided,
    "gradxinput": Methods.gradxinput, "gradcam": Methods.gradcam, "guided-gradcam": Methods.guided_gradcam,
    "gradcam++": Methods.gradcampp, "scorecam": Methods.scorecam, "cam": Methods.cam,
    "smoothgrad": Methods.smoothgrad, "ig": Methods.ig, "occlusion": Methods.occlusion,
}
CAM_METHODS = {"gradcam", "guided-gradcam", "gradcam++", "scorecam"}


def cam_layers(net, target):
    """CAM's layer A and pooled layer GAP(A) below an affine head."""
    name = target
    while name in net.producer:
        n = net.producer[name]
        if n.op_type == "GlobalAveragePool":
            return n.input[0], name
        if n.op_type in ("Flatten", "Reshape", "Identity", "Dropout", "Squeeze", "Gemm", "Conv", "BatchNormalization"):
            name = n.input[0]
            continue
        break
    raise SystemExit(f"no global average pooling below {target}")


# ---------------------------------------------------------------------------
# Portable SmoothGrad noise (mirrored by refNoise in vis/torchref_test.go).


def splitmix(z):
    z = (z + np.uint64(GOLDEN)) & np.uint64(MASK64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def noise(seed, n, size):
    """n x size standard normal float32 values (see the module doc)."""
    with np.errstate(over="ignore"):
        idx = np.arange(n * size, dtype=np.uint64)
        c1 = np.uint64(seed) + (np.uint64(2) * idx) * np.uint64(GOLDEN)
        c2 = np.uint64(seed) + (np.uint64(2) * idx + np.uint64(1)) * np.uint64(GOLDEN)
        h1, h2 = splitmix(c1), splitmix(c2)
    u1 = ((h1 >> np.uint64(11)).astype(np.float64) + 1) * 2.0 ** -53
    u2 = (h2 >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    z = np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
    return z.astype(np.float32).reshape(n, size)


# ---------------------------------------------------------------------------
# Models and cases.


class Absent(Exception):
    """A model's files are not there: its references are skipped."""


def shared_dir():
    return os.environ.get("DEEPSCOPE_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")


def photo_input(sidecar_path, photo, size):
    """The photo preprocessed as the sidecar says (only the
    short-side-N-center-crop resize is implemented)."""
    from PIL import Image
    with open(sidecar_path) as f:
        sc = json.load(f)["input"]
    resize = sc.get("resize", "")
    if not resize.startswith("short-side-") or not resize.endswith("-center-crop"):
        raise SystemExit(f"{sidecar_path}: resize {resize!r} is not supported here")
    short = int(resize[len("short-side-"):-len("-center-crop")])
    img = Image.open(photo).convert("RGB")
    w, h = img.size
    if w <= h:
        nw, nh = short, int(short * h / w)
    else:
        nw, nh = int(short * w / h), short
    img = img.resize((nw, nh), Image.BILINEAR)
    x0, y0 = int(round((nw - size) / 2.0)), int(round((nh - size) / 2.0))
    img = img.crop((x0, y0, x0 + size, y0 + size))
    a = np.asarray(img, dtype=np.float64).transpose(2, 0, 1)
    if sc.get("color", "RGB") == "BGR":
        a = a[::-1]
    mean = np.array(sc.get("mean", [0, 0, 0]), dtype=np.float64)[:, None, None]
    std = np.array(sc.get("std", [1, 1, 1]), dtype=np.float64)[:, None, None]
    return ((a / sc.get("scale", 255) - mean) / std).astype(np.float32)[None]


def squeezenet_setup():
    d = os.path.join(ROOT, "testdata", "torch", "squeezenet1_1")
    x = np.load(os.path.join(d, "input.npy")).astype(np.float32)
    return (os.path.join(d, "model.onnx"), "repo:testdata/torch/squeezenet1_1/model.onnx", x,
            "repo:testdata/torch/squeezenet1_1/input.npy")


def tiny_darknet_setup():
    d = os.path.join(shared_dir(), "models")
    onnx_path = os.path.join(d, "tiny_darknet.onnx")
    for f in (onnx_path, os.path.join(d, "tiny_darknet.json"), os.path.join(shared_dir(), "photos", "dog.jpg")):
        if not os.path.exists(f):
            raise Absent(f"{f} is absent (set DEEPSCOPE_SHARED to the shared folder)")
    x = photo_input(os.path.join(d, "tiny_darknet.json"), os.path.join(shared_dir(), "photos", "dog.jpg"), 224)
    return onnx_path, "shared:models/tiny_darknet.onnx", x, "refs:input.npy"


SQ = "/features/features.{}/{}"
MODELS = {
    "squeezenet1_1": {
        "setup": squeezenet_setup,
        "cases": [
            {"name": "saliency"}, {"name": "deconv"}, {"name": "guided"}, {"name": "gradxinput"},
            {"name": "guided-gradcam"}, {"name": "smoothgrad", "samples": 8, "sigma": 0.15, "seed": 7},
            {"name": "ig", "steps": 8},
            {"name": "gradcam"}, {"name": "gradcam@fire7", "method": "gradcam", "cam_layer": SQ.format(7, "Concat_output_0")},
            {"name": "gradcam++"}, {"name": "gradcam++@fire7", "method": "gradcam++", "cam_layer": SQ.format(7, "Concat_output_0")},
            {"name": "scorecam@squeeze6", "method": "scorecam", "cam_layer": SQ.format(6, "squeeze_activation/Relu_output_0")},
            {"name": "cam"}, {"name": "occlusion", "patch": 16, "stride": 8},
            # A unit target: a channel of fire 7 summed over its 8x8 positions.
            {"name": "unit-gradcam", "method": "gradcam", "unit": SQ.format(7, "Concat_output_0")},
            {"name": "unit-gradcam++@squeeze7", "method": "gradcam++", "unit": SQ.format(7, "Concat_output_0"),
             "cam_layer": SQ.format(7, "squeeze_activation/Relu_output_0")},
            {"name": "unit-scorecam@squeeze6", "method": "scorecam", "unit": SQ.format(7, "Concat_output_0"),
             "cam_layer": SQ.format(6, "squeeze_activation/Relu_output_0")},
            {"name": "unit-occlusion", "method": "occlusion", "unit": SQ.format(7, "Concat_output_0"), "patch": 16, "stride": 8},
        ],
    },
    "tiny_darknet": {
        "setup": tiny_darknet_setup,
        "cases": [
            {"name": "saliency"}, {"name": "deconv"}, {"name": "guided"}, {"name": "gradxinput"},
            {"name": "guided-gradcam"}, {"name": "smoothgrad", "samples": 8, "sigma": 0.15, "seed": 7},
            {"name": "ig", "steps": 8},
            {"name": "gradcam"}, {"name": "gradcam@relu13", "method": "gradcam", "cam_layer": "relu13"},
            {"name": "gradcam++"}, {"name": "gradcam++@relu13", "method": "gradcam++", "cam_layer": "relu13"},
            {"name": "scorecam@relu13", "method": "scorecam", "cam_layer": "relu13"},
            {"name": "cam"}, {"name": "occlusion", "patch": 32, "stride": 48},
        ],
    },
}


def make(name, root, breaks):
    t0 = time.time()
    spec = MODELS[name]
    onnx_path, model_ref, x32, input_ref = spec["setup"]()
    net = Net(onnx_path)
    x = torch.from_numpy(x32.astype(np.float64))
    meth = Methods(net, x, breaks)
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith(".npy") or f.endswith(".json"):
            os.remove(os.path.join(d, f))
    if input_ref.startswith("refs:"):
        np.save(os.path.join(d, input_ref[len("refs:"):]), x32)

    logit = net.logit_layer()
    with torch.no_grad():
        vals = net.run(x)
    cls = int(vals[logit][0].argmax())
    cases = []
    for spec_c in spec["cases"]:
        c = dict(spec_c)
        c.setdefault("method", c["name"])
        method = c["method"]
        if "unit" in c:
            layer = c.pop("unit")
            v = vals[layer][0]
            unit = int(v.reshape(v.shape[0], -1).sum(1).argmax())  # the most active channel
            t = Target(layer, unit, False)
        else:
            t = Target(logit, cls, True)
        given = c.get("cam_layer", "")
        if method in CAM_METHODS:
            c["cam_layer"] = given or meth.default_cam_layer(t)
        elif method == "cam":
            c["cam_layer"] = cam_layers(net, t.layer)[0]
        net_map = METHODS[method](meth, t, c)
        c["request_cam_layer"] = given
        c["target"] = t.as_json()
        c["score"] = float(t.score(vals)[0])
        c["file"] = c["name"] + ".npy"
        c["kind"] = "input" if net_map.dim() == 3 else "heat"
        np.save(os.path.join(d, c["file"]), np.ascontiguousarray(net_map.detach().numpy().astype(np.float32)))
        cases.append(c)
        print(f"  {name} {c['name']}: {tuple(net_map.shape)}", file=sys.stderr)
    params = {"model": model_ref, "input": input_ref, "class": cls, "logit_layer": logit,
              "torch": torch.__version__, "broken": breaks or "", "cases": cases}
    with open(os.path.join(d, "params.json"), "w") as f:
        json.dump(params, f, indent=1)
    print(f"{name}: class {cls}, {len(cases)} maps, {time.time() - t0:.1f}s", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, ".cache", "torch", "vis"), help="output folder (one subfolder per model)")
    p.add_argument("--models", default="squeezenet1_1,tiny_darknet")
    p.add_argument("--break", dest="breaks", choices=["relu", "softmax"], help="compute deliberately wrong references")
    args = p.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name in args.models.split(","):
        name = name.strip()
        if name not in MODELS:
            raise SystemExit(f"unknown model {name!r} (known: {', '.join(MODELS)})")
        try:
            make(name, args.out, args.breaks)
        except Absent as e:
            print(f"{name}: skipped: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
