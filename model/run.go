package model

import (
	"fmt"
	"slices"
	"strings"
)

// Activations holds every layer's value from one forward pass. Its buffers
// come from the model's pool: call Release when done to recycle them (the
// tensors must not be used afterwards). Without Release they are simply
// garbage collected.
type Activations struct {
	m    *Model
	s    *Scratch
	vals []*Tensor
}

// Get returns the value of the layer (or graph input) with the given name.
func (a *Activations) Get(name string) (*Tensor, error) {
	if a.vals == nil {
		return nil, fmt.Errorf("activations already released")
	}
	i, ok := a.m.index[name]
	if !ok || a.vals[i] == nil {
		_, err := a.m.Layer(name)
		if err == nil {
			err = fmt.Errorf("layer %q has no value", name)
		}
		return nil, err
	}
	return a.vals[i], nil
}

// Release returns the pass's buffers to the model's pool.
func (a *Activations) Release() {
	if a.s != nil {
		a.m.putScratch(a.s)
		a.s = nil
	}
	a.vals = nil
}

// Run feeds x to the model's first input and computes every layer.
func (m *Model) Run(x *Tensor) (*Activations, error) {
	if len(m.Inputs) == 0 {
		return nil, fmt.Errorf("model %s has no inputs", m.Name)
	}
	return m.Forward(map[string]*Tensor{m.Inputs[0].Name: x})
}

// RunTo feeds x to the model's first input and computes only the layers
// the wanted ones depend on (all when none is named); the others have no
// value in the result. An optimization whose objective reads a shallow
// layer thus skips the rest of the network, and Backward from that layer
// needs nothing more.
func (m *Model) RunTo(x *Tensor, want ...string) (*Activations, error) {
	if len(m.Inputs) == 0 {
		return nil, fmt.Errorf("model %s has no inputs", m.Name)
	}
	needed, err := m.neededSlots(want)
	if err != nil {
		return nil, err
	}
	return m.forward(map[string]*Tensor{m.Inputs[0].Name: x}, needed)
}

// Forward feeds the named graph inputs and computes every layer.
func (m *Model) Forward(feeds map[string]*Tensor) (*Activations, error) {
	return m.forward(feeds, nil)
}

// forward computes the layers whose slots needed marks (all when nil).
func (m *Model) forward(feeds map[string]*Tensor, needed []bool) (*Activations, error) {
	s := m.getScratch()
	vals := make([]*Tensor, len(m.values))
	for slot, c := range m.consts {
		vals[slot] = c
	}
	for i, in := range m.Inputs {
		x, ok := feeds[in.Name]
		if !ok {
			m.putScratch(s)
			return nil, fmt.Errorf("missing input %q", in.Name)
		}
		if err := m.checkInput(i, x); err != nil {
			m.putScratch(s)
			return nil, err
		}
		vals[m.index[in.Name]] = x
	}
	for _, n := range m.nodes {
		if needed != nil && !slices.ContainsFunc(n.outputs, func(o int) bool { return o >= 0 && needed[o] }) {
			continue
		}
		in := make([]*Tensor, len(n.inputs))
		for j, slot := range n.inputs {
			if slot >= 0 {
				in[j] = vals[slot]
			}
		}
		outs, err := runNode(s, n, in)
		if err != nil {
			m.putScratch(s)
			return nil, err
		}
		for j, slot := range n.outputs {
			if slot >= 0 && j < len(outs) {
				vals[slot] = outs[j]
			}
		}
	}
	return &Activations{m: m, s: s, vals: vals}, nil
}

// checkInput validates a fed tensor against the declared input.
func (m *Model) checkInput(i int, x *Tensor) error {
	in := m.Inputs[i]
	if x == nil {
		return fmt.Errorf("input %q is nil", in.Name)
	}
	if x.DType != in.DType {
		return fmt.Errorf("input %q wants %s, got %s: %w", in.Name, in.DType, x.DType, ErrUnsupportedDType)
	}
	if n := x.Len(); (x.DType == Float32 && len(x.Data) != n) || (x.DType == Int64 && len(x.Ints) != n) {
		return fmt.Errorf("input %q: shape %v does not match its %d values", in.Name, x.Shape, len(x.Data)+len(x.Ints))
	}
	if i < len(m.inputDims) && m.inputDims[i] != nil {
		dims := m.inputDims[i]
		bad := len(dims) != len(x.Shape)
		for j := 0; !bad && j < len(dims); j++ {
			bad = dims[j] >= 0 && int64(x.Shape[j]) != dims[j]
		}
		if bad {
			return fmt.Errorf("input %q has shape %s, the model wants %s", in.Name, ShapeString(x.Shape), dimsString(dims))
		}
	}
	return nil
}

func dimsString(dims []int64) string {
	s := make([]int, len(dims))
	for i, d := range dims {
		s[i] = int(d)
	}
	return ShapeString(s)
}

// runNode runs one node's forward pass, turning a kernel panic into an error
// that names the node.
func runNode(s *Scratch, n *node, in []*Tensor) (outs []*Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("%s node %q failed on inputs %v: %v", n.op, n.name, in, r)
		}
	}()
	for j, t := range in {
		if t == nil && n.inputs[j] >= 0 {
			return nil, fmt.Errorf("%s node %q: input %d has no value", n.op, n.name, j)
		}
	}
	outs, err = n.k.forward(s, in)
	if err != nil {
		return nil, nodeError(n, "", err)
	}
	return outs, nil
}

// nodeError prefixes err with the node's op and name unless the kernel
// already did.
func nodeError(n *node, what string, err error) error {
	prefix := fmt.Sprintf("%s node %q", n.op, n.name)
	if strings.Contains(err.Error(), prefix) {
		if what != "" {
			return fmt.Errorf("%s: %w", what, err)
		}
		return err
	}
	if what != "" {
		return fmt.Errorf("%s of %s: %w", what, prefix, err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// Backward propagates seed gradients (d target / d layer, keyed by layer
// name, each the layer's shape) from the forward pass a down through the
// graph, and returns the gradients of the wanted layers (e.g. the graph
// input's name for an input-space map, or a conv layer for Grad-CAM). mode
// selects the ReLU-family rule. The returned tensors are owned by the
// caller. a must not have been released.
func (m *Model) Backward(a *Activations, seeds map[string]*Tensor, mode Mode, want ...string) (grads map[string]*Tensor, err error) {
	if a == nil || a.vals == nil {
		return nil, fmt.Errorf("backward needs the activations of an unreleased forward pass")
	}
	g := make([]*Tensor, len(m.values))
	s := m.getScratch()
	defer m.putScratch(s)
	for name, seed := range seeds {
		slot, ok := m.index[name]
		if !ok {
			_, err := m.Layer(name)
			return nil, err
		}
		v := a.vals[slot]
		if v == nil || seed == nil || !SameShape(v.Shape, seed.Shape) || seed.DType != Float32 {
			return nil, fmt.Errorf("seed for layer %q must be float32 of shape %s, got %v", name, ShapeString(v.Shape), seed)
		}
		g[slot] = seed
	}
	wanted := make([]bool, len(m.values))
	for _, name := range want {
		slot, ok := m.index[name]
		if !ok {
			_, err := m.Layer(name)
			return nil, err
		}
		wanted[slot] = true
	}
	// A slot's gradient is useful if it is wanted or flows on to one that is.
	useful := slices.Clone(wanted)
	for _, n := range m.nodes {
		for _, in := range n.inputs {
			if in >= 0 && useful[in] {
				for _, o := range n.outputs {
					if o >= 0 {
						useful[o] = true
					}
				}
			}
		}
	}
	for i := len(m.nodes) - 1; i >= 0; i-- {
		n := m.nodes[i]
		gout := make([]*Tensor, len(n.outputs))
		hasGrad := false
		for j, o := range n.outputs {
			if o >= 0 && g[o] != nil && useful[o] {
				gout[j], hasGrad = g[o], true
			}
		}
		if !hasGrad {
			continue
		}
		need := make([]bool, len(n.inputs))
		in := make([]*Tensor, len(n.inputs))
		anyNeed := false
		for j, slot := range n.inputs {
			if slot < 0 {
				continue
			}
			in[j] = a.vals[slot]
			_, isConst := m.consts[slot]
			need[j] = !isConst && useful[slot] && in[j].DType == Float32
			anyNeed = anyNeed || need[j]
		}
		if !anyNeed {
			continue
		}
		out := make([]*Tensor, len(n.outputs))
		for j, slot := range n.outputs {
			if slot >= 0 {
				out[j] = a.vals[slot]
			}
		}
		gin, err := backNode(s, n, in, out, gout, need, mode)
		if err != nil {
			return nil, err
		}
		for j, slot := range n.inputs {
			if !need[j] || j >= len(gin) || gin[j] == nil {
				continue
			}
			if g[slot] == nil {
				g[slot] = gin[j]
				continue
			}
			sum := s.TensorNoZero(g[slot].Shape...)
			for k, v := range g[slot].Data {
				sum.Data[k] = v + gin[j].Data[k]
			}
			g[slot] = sum
		}
	}
	grads = make(map[string]*Tensor, len(want))
	for _, name := range want {
		slot := m.index[name]
		if g[slot] != nil {
			grads[name] = g[slot].Clone()
		} else if v := a.vals[slot]; v != nil {
			grads[name] = NewTensor(v.Shape...) // the seeds do not depend on it
		}
	}
	return grads, nil
}

func backNode(s *Scratch, n *node, in, out, gout []*Tensor, need []bool, mode Mode) (gin []*Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			gin, err = nil, fmt.Errorf("backward of %s node %q failed: %v", n.op, n.name, r)
		}
	}()
	gin, err = n.k.backward(s, in, out, gout, need, mode)
	if err != nil {
		return nil, nodeError(n, "backward", err)
	}
	for j := range gin {
		if j < len(need) && need[j] && gin[j] != nil && !SameShape(gin[j].Shape, in[j].Shape) {
			return nil, fmt.Errorf("backward of %s node %q: gradient of input %d has shape %v, want %v", n.op, n.name, j, gin[j].Shape, in[j].Shape)
		}
	}
	return gin, nil
}
