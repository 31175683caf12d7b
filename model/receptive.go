package model

import (
	"fmt"
	"runtime"
	"sync"
	"weak"
)

// Receptive fields: which pixels of the network input a position of a layer
// depends on, computed from the graph itself (kernel sizes, strides, pads,
// dilations, concatenation offsets, broadcasting) by walking from the layer
// back to the input. Each op maps the positions of its output to the
// positions of each input it reads, separately along every spatial axis:
//
//	Conv, pooling:  output o reads input o*stride - pad + t*dilation, t < kernel
//	ConvTranspose:  output i reads every input o with o*stride - pad + t*dilation = i
//	Pad:            output o reads input o - pad_begin (or its reflection/edge)
//	Concat:         output o reads input i at o - offset_i along the axis
//	elementwise:    output o reads input o (a broadcast axis of size 1: 0)
//	global pools, reductions and every op that reshapes: all input positions
//
// A position's cone is carried down as the set of positions along every axis,
// so the result is the exact bounding box of the input pixels that reach the
// position (positions reading only zero padding reach none), whatever the
// padding and dilation. Ops the walk does not know count as depending on
// every position of their inputs, which can only make a box larger.

// Box is a rectangle of input pixels: rows Y0..Y1-1, columns X0..X1-1.
type Box struct{ Y0, X0, Y1, X1 int }

// Empty reports whether the box holds no pixel.
func (b Box) Empty() bool { return b.Y1 <= b.Y0 || b.X1 <= b.X0 }

// Dy is the box's height.
func (b Box) Dy() int { return max(0, b.Y1-b.Y0) }

// Dx is the box's width.
func (b Box) Dx() int { return max(0, b.X1-b.X0) }

// Intersect returns the pixels in both boxes (an empty box when none).
func (b Box) Intersect(o Box) Box {
	r := Box{max(b.Y0, o.Y0), max(b.X0, o.X0), min(b.Y1, o.Y1), min(b.X1, o.X1)}
	if r.Empty() {
		return Box{}
	}
	return r
}

// Overlaps reports whether the boxes share a pixel.
func (b Box) Overlaps(o Box) bool { return !b.Intersect(o).Empty() }

func (b Box) String() string {
	return fmt.Sprintf("rows %d..%d x cols %d..%d", b.Y0, b.Y1-1, b.X0, b.X1-1)
}

// ReceptiveField is the part of the network input one layer position
// depends on.
type ReceptiveField struct {
	// Box is the bounding box of the input pixels that reach the position
	// through the graph: a pixel outside never changes it, and every edge
	// of the box holds a pixel that can. Empty when the position reads
	// only padding (or does not depend on the input at all).
	Box Box
	// Nominal is the window given by the kernels, strides, pads and
	// dilations alone, as if the input went on without end: the same size
	// for every position of a layer (away from ops that depend on whole
	// axes), it can reach past the input's border into the padding. Box
	// lies inside it. Crops cut at Nominal line up across positions.
	Nominal Box
}

// ReceptiveField returns the receptive field in the model's first input
// (which must be N x C x H x W) of position pos of layer: its spatial
// coordinates (y, x for an N x C x H x W layer; none for a layer without
// spatial axes, such as logits, which depends on the whole input).
func (m *Model) ReceptiveField(layer string, pos ...int) (ReceptiveField, error) {
	p := m.rfPlan()
	if len(m.Inputs) == 0 {
		return ReceptiveField{}, fmt.Errorf("model %s has no inputs", m.Name)
	}
	in := m.Inputs[0]
	if len(in.Shape) != 4 {
		return ReceptiveField{}, fmt.Errorf("receptive fields need an N x C x H x W input; %q has shape %s", in.Name, ShapeString(in.Shape))
	}
	slot, ok := m.index[layer]
	if !ok {
		_, err := m.Layer(layer)
		return ReceptiveField{}, err
	}
	shape := p.shapes[slot]
	if shape == nil {
		return ReceptiveField{}, fmt.Errorf("layer %q has no known shape", layer)
	}
	spatial := max(0, len(shape)-2)
	if len(pos) != spatial {
		return ReceptiveField{}, fmt.Errorf("layer %q has shape %s: want %d spatial coordinates, got %d", layer, ShapeString(shape), spatial, len(pos))
	}
	for i, v := range pos {
		if v < 0 || v >= shape[2+i] {
			return ReceptiveField{}, fmt.Errorf("position %v is outside layer %q of shape %s", pos, layer, ShapeString(shape))
		}
	}
	start := p.newCone(slot)
	for i, v := range pos {
		start.sets[i][v] = true
		start.nom[i] = [2]int{v, v}
	}
	start.exact, start.nominal = true, true
	c := p.walk(slot, start, m.index[in.Name])
	var rf ReceptiveField
	if c == nil {
		return rf, nil
	}
	if c.exact {
		y0, y1 := hull(c.sets[0])
		x0, x1 := hull(c.sets[1])
		rf.Box = Box{y0, x0, y1 + 1, x1 + 1}
		if rf.Box.Empty() {
			rf.Box = Box{}
		}
	}
	if c.nominal {
		rf.Nominal = Box{c.nom[0][0], c.nom[1][0], c.nom[0][1] + 1, c.nom[1][1] + 1}
	}
	return rf, nil
}

func hull(set []bool) (lo, hi int) {
	lo, hi = 0, -1
	for i, v := range set {
		if v {
			lo = i
			break
		}
	}
	for i := len(set) - 1; i >= 0; i-- {
		if set[i] {
			hi = i
			break
		}
	}
	return lo, hi
}

// rfAffine maps an interval of output positions [a, b] to the nominal
// interval of input positions [⌊(a*mul+lo)/div⌋, ⌊(b*mul+hi)/div⌋]
// (mul >= 0 keeps it monotone).
type rfAffine struct{ mul, div, lo, hi int }

func (f rfAffine) apply(a, b int) (int, int) {
	return floorDivInt(a*f.mul+f.lo, f.div), floorDivInt(b*f.mul+f.hi, f.div)
}

func floorDivInt(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// rfAxis maps one spatial axis of an op's output to the same axis of one
// of its inputs.
type rfAxis struct {
	full bool    // every output position reads every input position
	deps [][]int // deps[o]: the input positions output o reads (inside the input)
	nom  rfAffine
	// clip limits the output positions that read this input at all
	// (Concat along the axis); ok false: no limit.
	clip   [2]int
	clipOK bool
}

// rfEdge is how output slot out of a node depends on input slot in.
type rfEdge struct {
	out, in int
	// full: every position of in reaches every position of out (ops that
	// reshape or reduce everything, unknown ops).
	full bool
	// axes map the spatial axes, one per spatial axis of in and out (which
	// have the same rank); nil when in has no spatial axes.
	axes []rfAxis
}

// rfPlanData is a model's geometry for receptive fields: every slot's
// shape and every node's edges, built once per model.
type rfPlanData struct {
	shapes [][]int
	edges  [][]rfEdge // per node of m.nodes
}

// rfPlans caches each model's plan without keeping the model alive: the
// entry goes when the model is collected.
var rfPlans sync.Map // weak.Pointer[Model] -> *rfPlanData

func (m *Model) rfPlan() *rfPlanData {
	key := weak.Make(m)
	if p, ok := rfPlans.Load(key); ok {
		return p.(*rfPlanData)
	}
	p := &rfPlanData{shapes: make([][]int, len(m.values))}
	dtypes := make([]DType, len(m.values))
	for _, l := range append(append([]Layer(nil), m.Inputs...), m.Layers...) {
		if s, ok := m.index[l.Name]; ok && l.Shape != nil {
			p.shapes[s], dtypes[s] = l.Shape, l.DType
		}
	}
	for s, c := range m.consts {
		p.shapes[s], dtypes[s] = c.Shape, c.DType
	}
	for _, n := range m.nodes {
		p.edges = append(p.edges, m.rfNodeEdges(n, p.shapes, dtypes))
	}
	actual, loaded := rfPlans.LoadOrStore(key, p)
	if !loaded {
		runtime.AddCleanup(m, func(k weak.Pointer[Model]) { rfPlans.Delete(k) }, key)
	}
	return actual.(*rfPlanData)
}

// rfNodeEdges returns the edges of node n from each float output to each
// float input that is not a constant.
func (m *Model) rfNodeEdges(n *node, shapes [][]int, dtypes []DType) []rfEdge {
	// Shape-only stand-ins for the inputs (constants with their values),
	// for the kernels' own geometry code.
	in := make([]*Tensor, len(n.inputs))
	for j, s := range n.inputs {
		if s < 0 {
			continue
		}
		if c, ok := m.consts[s]; ok {
			in[j] = c
		} else if shapes[s] != nil {
			in[j] = &Tensor{Shape: shapes[s], DType: dtypes[s]}
		}
	}
	var edges []rfEdge
	for k, os := range n.outputs {
		if os < 0 || shapes[os] == nil || dtypes[os] != Float32 {
			continue
		}
		for j, is := range n.inputs {
			if is < 0 || in[j] == nil || dtypes[is] != Float32 {
				continue
			}
			if _, isConst := m.consts[is]; isConst {
				continue
			}
			e, ok := rfOpEdge(n, in, j, k, shapes[os])
			if !ok {
				continue
			}
			e.in, e.out = is, os
			edges = append(edges, e)
		}
	}
	return edges
}

// rfOpEdge builds the edge from output k to input j of node n; ok false
// when the output does not depend on the input's values.
func rfOpEdge(n *node, in []*Tensor, j, k int, out []int) (e rfEdge, ok bool) {
	x := in[j].Shape
	full := rfEdge{full: true}
	switch n.op {
	case "Shape", "Constant":
		return e, false
	case "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
		"Add", "Sub", "Mul", "Div", "Sum", "BatchNormalization", "LRN", "Identity", "Dropout", "Cast",
		"GlobalAveragePool", "GlobalMaxPool", "ReduceMean":
		return rfElementwise(x, out), true
	case "Softmax", "LogSoftmax":
		sk, isSoftmax := n.k.(softmaxKernel)
		if !isSoftmax || len(x) != len(out) {
			return full, true
		}
		axis, valid := shapeAxis(sk.axis, len(x))
		if !valid {
			return full, true
		}
		e = rfElementwise(x, out)
		for a := range e.axes {
			if a+2 == axis || (sk.coerce && a+2 > axis) {
				e.axes[a] = rfFullAxis(x[a+2])
			}
		}
		return e, true
	case "Concat":
		ck, isConcat := n.k.(*concatKernel)
		if !isConcat || len(x) != len(out) {
			return full, true
		}
		axis, valid := shapeAxis(ck.axis, len(x))
		if !valid {
			return full, true
		}
		e = rfElementwise(x, out)
		if axis >= 2 && !e.full {
			off := 0
			for i := 0; i < j; i++ {
				if in[i] != nil {
					off += in[i].Shape[axis]
				}
			}
			size := x[axis]
			ax := rfAxis{deps: make([][]int, out[axis]), nom: rfAffine{1, 1, -off, -off}, clip: [2]int{off, off + size - 1}, clipOK: true}
			for o := off; o < off+size && o < out[axis]; o++ {
				ax.deps[o] = []int{o - off}
			}
			e.axes[axis-2] = ax
		}
		return e, true
	case "Conv":
		ck, isConv := n.k.(*convKernel)
		if !isConv || j != 0 {
			return full, true
		}
		g, err := ck.shape(in)
		if err != nil {
			return full, true
		}
		e.axes = make([]rfAxis, g.r)
		for i := range g.r {
			a := maxSpatial - g.r + i
			e.axes[i] = rfWindow(g.win.grid[a], g.win.img[a], g.win.stride[a], g.win.pad[a], g.win.k[a], g.win.dil[a])
		}
		return e, true
	case "ConvTranspose":
		ck, isConvT := n.k.(*convTransposeKernel)
		if !isConvT || j != 0 {
			return full, true
		}
		g, err := ck.shape(in)
		if err != nil {
			return full, true
		}
		e.axes = make([]rfAxis, g.r)
		for i := range g.r {
			a := maxSpatial - g.r + i
			w := &g.win
			ax := rfAxis{deps: make([][]int, w.img[a])}
			for o := range w.grid[a] {
				for t := range w.k[a] {
					if p := o*w.stride[a] - w.pad[a] + t*w.dil[a]; p >= 0 && p < w.img[a] {
						ax.deps[p] = append(ax.deps[p], o)
					}
				}
			}
			s, ext := w.stride[a], (w.k[a]-1)*w.dil[a]
			ax.nom = rfAffine{1, s, w.pad[a] - ext + s - 1, w.pad[a]}
			e.axes[i] = ax
		}
		return e, true
	case "MaxPool", "AveragePool":
		var attrs *poolAttrs
		var ni *nodeInfo
		switch pk := n.k.(type) {
		case *maxPool:
			attrs, ni = &pk.a, pk.n
		case *averagePool:
			attrs, ni = &pk.a, pk.n
		}
		if attrs == nil || j != 0 {
			return full, true
		}
		g, _, err := attrs.geom(ni, in[0], true)
		if err != nil {
			return full, true
		}
		r := len(attrs.kernel)
		e.axes = make([]rfAxis, r)
		for i := range r {
			pa := g.ax[maxPoolRank-r+i]
			ax := rfAxis{deps: make([][]int, pa.out), nom: rfAffine{pa.s, 1, -pa.pb, -pa.pb + (pa.k-1)*pa.d}}
			for o := range pa.out {
				w := pa.window(o)
				for t := w.lo; t < w.hi; t++ {
					ax.deps[o] = append(ax.deps[o], w.start+t*pa.d)
				}
			}
			e.axes[i] = ax
		}
		return e, true
	case "Pad":
		pk, isPad := n.k.(*padKernel)
		if !isPad || j != 0 || len(x) != len(out) {
			return full, true
		}
		plan, err := pk.plan(in)
		if err != nil {
			return full, true
		}
		pads, err := pk.fullPads(in, len(x))
		if err != nil {
			return full, true
		}
		e.axes = make([]rfAxis, max(0, len(x)-2))
		for a := range e.axes {
			src := plan.src[a+2]
			ax := rfAxis{deps: make([][]int, len(src)), nom: rfAffine{1, 1, -pads[a+2], -pads[a+2]}}
			for o, i := range src {
				if i >= 0 {
					ax.deps[o] = []int{i}
				}
			}
			e.axes[a] = ax
		}
		return e, true
	}
	return full, true
}

// rfElementwise maps an elementwise op's output to an input of the same
// rank: equal axes position by position, a broadcast axis of size 1 to its
// only position, any other size change to the whole axis (reductions).
// An input without spatial axes (a per-channel vector) carries no
// positions; an input of another rank counts as read in full.
func rfElementwise(x, out []int) rfEdge {
	if len(x) < 3 {
		return rfEdge{}
	}
	if len(x) != len(out) {
		return rfEdge{full: true}
	}
	e := rfEdge{axes: make([]rfAxis, len(x)-2)}
	for a := range e.axes {
		n, o := x[a+2], out[a+2]
		switch {
		case n == o:
			ax := rfAxis{deps: make([][]int, o), nom: rfAffine{1, 1, 0, 0}}
			for i := range o {
				ax.deps[i] = []int{i}
			}
			e.axes[a] = ax
		case n == 1:
			ax := rfAxis{deps: make([][]int, o), nom: rfAffine{0, 1, 0, 0}}
			for i := range o {
				ax.deps[i] = []int{0}
			}
			e.axes[a] = ax
		default:
			e.axes[a] = rfFullAxis(n)
		}
	}
	return e
}

// rfFullAxis is an axis along which every output reads all n inputs.
func rfFullAxis(n int) rfAxis {
	return rfAxis{full: true, nom: rfAffine{0, 1, 0, n - 1}}
}

// rfWindow is a sliding window along one axis: output o (of out) reads
// input o*stride - pad + t*dil for taps t < k that fall inside [0, n).
func rfWindow(out, n, stride, pad, k, dil int) rfAxis {
	ax := rfAxis{deps: make([][]int, out), nom: rfAffine{stride, 1, -pad, -pad + (k-1)*dil}}
	for o := range out {
		for t := range k {
			if i := o*stride - pad + t*dil; i >= 0 && i < n {
				ax.deps[o] = append(ax.deps[o], i)
			}
		}
	}
	return ax
}

// rfCone is the part of one tensor a layer position depends on.
type rfCone struct {
	exact   bool     // some position is reached; sets holds them
	sets    [][]bool // per spatial axis: the positions reached
	nominal bool     // nom holds the nominal extent
	nom     [][2]int // per spatial axis: nominal [lo, hi], unbounded
}

func (p *rfPlanData) newCone(slot int) *rfCone {
	shape := p.shapes[slot]
	r := max(0, len(shape)-2)
	c := &rfCone{sets: make([][]bool, r), nom: make([][2]int, r)}
	for a := range r {
		c.sets[a] = make([]bool, shape[a+2])
	}
	return c
}

// walk carries the cone of slot start down the graph and returns the cone
// it leaves at slot target (nil when it does not get there).
func (p *rfPlanData) walk(start int, c *rfCone, target int) *rfCone {
	cones := make([]*rfCone, len(p.shapes))
	cones[start] = c
	for i := len(p.edges) - 1; i >= 0; i-- {
		for _, e := range p.edges[i] {
			if oc := cones[e.out]; oc != nil {
				ic := cones[e.in]
				if ic == nil {
					ic = p.newCone(e.in)
					cones[e.in] = ic
				}
				p.propagate(e, oc, ic)
			}
		}
	}
	return cones[target]
}

// propagate adds to ic the input positions edge e reads for the output
// positions in oc.
func (p *rfPlanData) propagate(e rfEdge, oc, ic *rfCone) {
	shape := p.shapes[e.in]
	r := len(ic.sets)
	if e.full || (e.axes == nil && r > 0) {
		if oc.exact {
			ic.exact = true
			for a := range r {
				for i := range ic.sets[a] {
					ic.sets[a][i] = true
				}
			}
		}
		if oc.nominal {
			for a := range r {
				ic.addNominal(a, 0, shape[a+2]-1)
			}
			ic.nominal = true
		}
		return
	}
	if r == 0 { // the input has no positions: it is read or not
		ic.exact = ic.exact || oc.exact
		ic.nominal = ic.nominal || oc.nominal
		return
	}
	if oc.exact {
		// The output positions whose reads fall inside the input; an axis
		// with none means nothing is read.
		reads := make([][]int, r)
		any := true
		for a, ax := range e.axes {
			if ax.full {
				for i := range shape[a+2] {
					reads[a] = append(reads[a], i)
				}
			} else {
				seen := make([]bool, shape[a+2])
				for o, in := range oc.sets[a] {
					if !in || o >= len(ax.deps) {
						continue
					}
					for _, i := range ax.deps[o] {
						if !seen[i] {
							seen[i] = true
							reads[a] = append(reads[a], i)
						}
					}
				}
			}
			if len(reads[a]) == 0 {
				any = false
			}
		}
		if any {
			ic.exact = true
			for a := range r {
				for _, i := range reads[a] {
					ic.sets[a][i] = true
				}
			}
		}
	}
	if oc.nominal {
		lohi := make([][2]int, r)
		for a, ax := range e.axes {
			lo, hi := oc.nom[a][0], oc.nom[a][1]
			if ax.clipOK {
				lo, hi = max(lo, ax.clip[0]), min(hi, ax.clip[1])
				if lo > hi {
					return
				}
			}
			lohi[a][0], lohi[a][1] = ax.nom.apply(lo, hi)
		}
		for a := range r {
			ic.addNominal(a, lohi[a][0], lohi[a][1])
		}
		ic.nominal = true
	}
}

func (c *rfCone) addNominal(a, lo, hi int) {
	if !c.nominal {
		// First contribution on every axis comes through here before
		// nominal is set; later ones widen it.
		c.nom[a] = [2]int{lo, hi}
		return
	}
	c.nom[a] = [2]int{min(c.nom[a][0], lo), max(c.nom[a][1], hi)}
}
