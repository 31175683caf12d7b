package model

import (
	"fmt"
)

// assemble turns the decoded graph into a Model: it checks names and
// topology, builds a kernel per node, folds nodes whose inputs are all known
// at load time, and runs the graph once to learn every layer's shape.
func assemble(scan *scannedModel, b *backend, opts Options) (*Model, error) {
	g := scan.graph
	m := &Model{Opset: scan.opset, index: map[string]int{}, consts: map[int]*Tensor{}, layer: map[string]int{}, pool: make(chan *Scratch, scratchPool)}
	if m.Opset == 0 {
		m.Opset = MinOpset
	}
	slot := func(name string) int {
		if i, ok := m.index[name]; ok {
			return i
		}
		m.index[name] = len(m.values)
		m.values = append(m.values, name)
		return len(m.values) - 1
	}

	// Initializers are constants.
	for _, st := range g.inits {
		if st.name == "" {
			return nil, fmt.Errorf("an initializer has no name")
		}
		if _, dup := m.index[st.name]; dup {
			return nil, fmt.Errorf("initializer %q is defined twice", st.name)
		}
		t, err := st.tensor(opts.dir)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", st.name, err)
		}
		m.consts[slot(st.name)] = t
	}
	// Graph inputs that are not initializers are fed by the caller.
	var inputDecl []scannedValue
	for _, in := range g.inputs {
		if _, isInit := m.index[in.name]; isInit {
			continue
		}
		if in.name == "" {
			return nil, fmt.Errorf("a graph input has no name")
		}
		if in.other != "" {
			return nil, fmt.Errorf("input %q: %w: %s", in.name, ErrUnsupportedDType, in.other)
		}
		slot(in.name)
		inputDecl = append(inputDecl, in)
	}

	// Nodes as onnx-go delivered them, in file order.
	type pending struct {
		name, op        string
		attrs           Attrs
		inputs, outputs []string
	}
	nodes := make([]pending, len(b.ops))
	producer := map[string]int{}
	for i, a := range b.ops {
		sn := g.nodes[i]
		if a.op.Name != sn.op {
			return nil, fmt.Errorf("corrupt ONNX model: node %d decoded as %s, scanned as %s", i, a.op.Name, sn.op)
		}
		attrs, err := convertAttrs(a.op.Attributes)
		if err != nil {
			return nil, fmt.Errorf("%s node %s: %w", sn.op, nodeLabel(sn, i), err)
		}
		p := pending{name: sn.name, op: sn.op, attrs: attrs}
		if len(sn.inputs) > 0 {
			p.inputs = b.inputsOf(a)
		}
		for _, o := range a.outputs {
			p.outputs = append(p.outputs, o.(*gnode).name)
		}
		if p.name == "" && len(p.outputs) > 0 {
			p.name = p.outputs[0]
		}
		for _, o := range p.outputs {
			if o == "" {
				continue
			}
			if _, dup := producer[o]; dup {
				return nil, fmt.Errorf("%s node %q: output %q is already produced by another node", p.op, p.name, o)
			}
			if _, exists := m.index[o]; exists {
				return nil, fmt.Errorf("%s node %q: output %q overwrites a graph input or initializer", p.op, p.name, o)
			}
			producer[o] = i
		}
		nodes[i] = p
	}

	// Topological order (Kahn), rejecting dangling inputs and cycles.
	indeg := make([]int, len(nodes))
	users := map[int][]int{}
	for i, p := range nodes {
		for _, in := range p.inputs {
			if in == "" {
				continue
			}
			if j, ok := producer[in]; ok {
				indeg[i]++
				users[j] = append(users[j], i)
			} else if _, ok := m.index[in]; !ok {
				return nil, fmt.Errorf("%s node %q: input %q is neither a graph input, an initializer nor any node's output", p.op, p.name, in)
			}
		}
	}
	var order, queue []int
	for i := range nodes {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		order = append(order, i)
		for _, u := range users[i] {
			if indeg[u]--; indeg[u] == 0 {
				queue = append(queue, u)
			}
		}
	}
	if len(order) != len(nodes) {
		for i, d := range indeg {
			if d > 0 {
				return nil, fmt.Errorf("the graph has a cycle through %s node %q", nodes[i].op, nodes[i].name)
			}
		}
	}

	// Kernels, folding constant subgraphs as we go.
	for _, i := range order {
		p := nodes[i]
		n := &node{name: p.name, op: p.op}
		info := &nodeInfo{Name: p.name, Op: p.op, Opset: m.Opset, Attrs: p.attrs, Inputs: len(p.inputs), Outputs: len(p.outputs), Const: make([]*Tensor, len(p.inputs))}
		allConst := true
		for j, in := range p.inputs {
			if in == "" {
				n.inputs = append(n.inputs, -1)
				continue
			}
			s := slot(in)
			n.inputs = append(n.inputs, s)
			if c, ok := m.consts[s]; ok {
				info.Const[j] = c
			} else {
				allConst = false
			}
		}
		for _, o := range p.outputs {
			if o == "" {
				n.outputs = append(n.outputs, -1)
				continue
			}
			n.outputs = append(n.outputs, slot(o))
			m.layer[o] = len(m.Layers)
			m.Layers = append(m.Layers, Layer{Name: o, Node: p.name, Op: p.op})
		}
		k, err := registry[p.op](info)
		if err != nil {
			return nil, err
		}
		n.k = k
		if allConst {
			in := make([]*Tensor, len(n.inputs))
			for j, s := range n.inputs {
				if s >= 0 {
					in[j] = m.consts[s]
				}
			}
			outs, err := runNode(nil, n, in)
			if err != nil {
				return nil, err
			}
			for j, s := range n.outputs {
				if s >= 0 && j < len(outs) && outs[j] != nil {
					m.consts[s] = outs[j]
				}
			}
			continue
		}
		m.nodes = append(m.nodes, n)
	}
	for _, o := range g.outputs {
		if _, ok := m.index[o]; !ok {
			return nil, fmt.Errorf("graph output %q is not produced by any node", o)
		}
		m.Outputs = append(m.Outputs, o)
	}

	// Input shapes, then one pass to learn every layer's shape.
	example := map[string]*Tensor{}
	for i, in := range inputDecl {
		dt, err := engineDType(in.elem)
		if in.elem == 0 {
			dt, err = Float32, nil
		}
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", in.name, err)
		}
		var shape []int
		if t, ok := opts.Example[in.name]; ok {
			shape = t.Shape
			example[in.name] = t
		} else {
			if shape, err = concreteShape(in, i == 0, opts.InputShape); err != nil {
				return nil, err
			}
			example[in.name] = &Tensor{Shape: shape, DType: dt}
			if dt == Float32 {
				example[in.name].Data = make([]float32, NumElements(shape))
			} else {
				example[in.name].Ints = make([]int64, NumElements(shape))
			}
		}
		m.Inputs = append(m.Inputs, Layer{Name: in.name, Op: "Input", Shape: shape, DType: dt})
		m.inputDims = append(m.inputDims, in.dims)
	}
	act, err := m.Forward(example)
	if err != nil {
		return nil, fmt.Errorf("computing layer shapes: %w", err)
	}
	defer act.Release()
	for i := range m.Layers {
		if t := act.vals[m.index[m.Layers[i].Name]]; t != nil {
			m.Layers[i].Shape = append([]int(nil), t.Shape...)
			m.Layers[i].DType = t.DType
		}
	}
	return m, nil
}

// maxInputElements bounds a graph input (256 MiB of float32).
const maxInputElements = 1 << 26

// concreteShape resolves an input's declared dims: unknown batch -> 1,
// unknown spatial dims of a 4-D input -> 224, or the caller's override.
func concreteShape(in scannedValue, first bool, override []int) ([]int, error) {
	if first && override != nil {
		if in.typed && len(in.dims) != len(override) {
			return nil, fmt.Errorf("input %q has rank %d, the requested shape %v has rank %d", in.name, len(in.dims), override, len(override))
		}
		for i, d := range in.dims {
			if i < len(override) && d > 0 && int(d) != override[i] && i > 0 {
				return nil, fmt.Errorf("input %q has fixed shape %v; cannot use %v", in.name, in.dims, override)
			}
		}
		return append([]int(nil), override...), nil
	}
	if !in.typed {
		return nil, fmt.Errorf("input %q declares no shape; give one (--input-shape)", in.name)
	}
	shape := make([]int, len(in.dims))
	for i, d := range in.dims {
		switch {
		case d >= 0:
			shape[i] = int(d)
		case i == 0:
			shape[i] = 1
		case len(in.dims) == 4 && i >= 2:
			shape[i] = 224
		default:
			return nil, fmt.Errorf("input %q has a symbolic dimension %d (shape %v); give a concrete shape (--input-shape)", in.name, i, in.dims)
		}
	}
	if _, n, err := checkedShape(toInt64(shape)); err != nil || n > maxInputElements {
		return nil, fmt.Errorf("input %q: shape %v is too large (at most %d values)", in.name, shape, maxInputElements)
	}
	return shape, nil
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}
