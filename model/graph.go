package model

import (
	"fmt"
	"sort"
	"strings"
)

// Layer is one tensor of the graph the user can inspect: a graph input or a
// node's output. Shapes are those computed at load time for the model's
// declared input size (batch 1).
type Layer struct {
	Name  string // tensor name in the ONNX graph
	Node  string // producing node's name ("" for graph inputs)
	Op    string // producing op type ("Input" for graph inputs)
	Shape []int
	DType DType
}

// node is one ONNX node bound to its kernel; inputs and outputs index the
// model's value slots (-1 for an absent optional input).
type node struct {
	name    string
	op      string
	inputs  []int
	outputs []int
	k       kernel
}

// Model is a loaded, immutable ONNX graph. It is safe for concurrent use by
// any number of goroutines; each run draws its buffers from a pool.
type Model struct {
	// Name is the model's file name without extension.
	Name string
	// Opset is the opset version of the default ONNX domain.
	Opset int
	// Inputs are the graph inputs that must be fed (initializers excluded).
	Inputs []Layer
	// Outputs names the graph outputs.
	Outputs []string
	// Layers lists every node output in topological order.
	Layers []Layer

	values    []string        // value slot -> tensor name
	inputDims [][]int64       // declared input dims, -1 where symbolic
	index     map[string]int  // tensor name -> value slot
	consts    map[int]*Tensor // slots known at load time (initializers, folded nodes)
	nodes     []*node         // topological order, constant nodes excluded
	layer     map[string]int  // tensor name -> index in Layers
	pool      chan *Scratch   // idle per-run buffers; unlike a sync.Pool they survive GC
}

// Layer returns the layer with the given tensor name, or an error that lists
// a few close names.
func (m *Model) Layer(name string) (Layer, error) {
	if i, ok := m.layer[name]; ok {
		return m.Layers[i], nil
	}
	for _, in := range m.Inputs {
		if in.Name == name {
			return in, nil
		}
	}
	var near []string
	for _, l := range m.Layers {
		if strings.Contains(strings.ToLower(l.Name), strings.ToLower(name)) || strings.Contains(strings.ToLower(name), strings.ToLower(l.Name)) {
			near = append(near, l.Name)
		}
	}
	sort.Strings(near)
	if len(near) > 5 {
		near = near[:5]
	}
	hint := ""
	if len(near) > 0 {
		hint = "; did you mean " + strings.Join(near, ", ") + "?"
	}
	return Layer{}, fmt.Errorf("model %s has no layer %q (%d layers; see `deepscope layers`)%s", m.Name, name, len(m.Layers), hint)
}

// Input returns the model's first (for classifiers: only) input.
func (m *Model) Input() Layer {
	if len(m.Inputs) == 0 {
		return Layer{}
	}
	return m.Inputs[0]
}

// Output returns the name of the model's first output.
func (m *Model) Output() string {
	if len(m.Outputs) == 0 {
		return ""
	}
	return m.Outputs[0]
}

// Producer returns the op type and the input tensor names of the node that
// computes layer name (for walking the graph, e.g. to find the logits below
// a final Softmax).
func (m *Model) Producer(name string) (op string, inputs []string, ok bool) {
	slot, found := m.index[name]
	if !found {
		return "", nil, false
	}
	for _, n := range m.nodes {
		for _, o := range n.outputs {
			if o == slot {
				for _, i := range n.inputs {
					if i >= 0 {
						inputs = append(inputs, m.values[i])
					} else {
						inputs = append(inputs, "")
					}
				}
				return n.op, inputs, true
			}
		}
	}
	return "", nil, false
}

// scratchPool is how many idle Scratch buffers a model keeps: enough for the
// live stream, a background job and the UI's snapshot at once.
const scratchPool = 4

func (m *Model) getScratch() *Scratch {
	select {
	case s := <-m.pool:
		return s
	default:
		return newScratch()
	}
}

func (m *Model) putScratch(s *Scratch) {
	s.reset()
	select {
	case m.pool <- s:
	default: // enough idle buffers: let this one go
	}
}
