package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	onnx "github.com/owulveryck/onnx-go"
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/iterator"
	gtensor "gorgonia.org/tensor"
)

// ErrUnsupportedOp marks a model that uses ops the engine does not implement.
var ErrUnsupportedOp = errors.New("unsupported operator")

// Supported opset range of the default ONNX domain. A model declares the
// highest version it uses; ops unchanged since opset 1 declare 1.
const (
	MinOpset = 1
	MaxOpset = 18
)

// Options tune loading.
type Options struct {
	// InputShape fixes the first input's shape (batch included); it fills
	// dimensions the model leaves symbolic. Default: the declared shape with
	// batch 1 and 224 for unknown spatial sizes.
	InputShape []int
	// Example, when set, feeds these tensors to the load-time pass that
	// computes every layer's shape instead of zeros of the input shapes
	// (needed when a graph input carries data that shapes depend on).
	Example map[string]*Tensor
	// dir is the model's directory, for external data.
	dir string
}

// Load reads an ONNX model file. Unsupported ops are all reported in one
// error (errors.Is ErrUnsupportedOp) naming each op type and node.
func Load(path string, opts Options) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	opts.dir = filepath.Dir(path)
	m, err := Decode(data, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	m.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return m, nil
}

// Decode builds a model from ONNX bytes. data must not be modified
// afterwards: float32 weights are used in place.
func Decode(data []byte, opts Options) (m *Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("corrupt ONNX model (decoder failed: %v)", r)
		}
	}()
	scan, err := scanModel(data)
	if err != nil {
		return nil, fmt.Errorf("corrupt ONNX model: %w", err)
	}
	if err := checkSupport(scan); err != nil {
		return nil, err
	}
	// onnx-go walks the (slimmed) graph and hands every node to our backend.
	b := newBackend()
	if err := onnx.NewModel(b).UnmarshalBinary(scan.slim); err != nil {
		return nil, fmt.Errorf("corrupt ONNX model: %w", err)
	}
	if len(b.ops) != len(scan.graph.nodes) {
		return nil, fmt.Errorf("corrupt ONNX model: decoder saw %d nodes, file has %d", len(b.ops), len(scan.graph.nodes))
	}
	return assemble(scan, b, opts)
}

// checkSupport rejects models outside the supported opset range or with ops
// the engine lacks, listing every offending node at once.
func checkSupport(scan *scannedModel) error {
	if scan.opset != 0 && (scan.opset < MinOpset || scan.opset > MaxOpset) {
		return fmt.Errorf("%w: opset %d is outside the supported range %d-%d", ErrUnsupportedOp, scan.opset, MinOpset, MaxOpset)
	}
	missing := map[string][]string{}
	for i, n := range scan.graph.nodes {
		if n.domain != "" && n.domain != "ai.onnx" {
			missing[n.domain+"."+n.op] = append(missing[n.domain+"."+n.op], nodeLabel(n, i))
			continue
		}
		if _, ok := registry[n.op]; !ok {
			missing[n.op] = append(missing[n.op], nodeLabel(n, i))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	ops := make([]string, 0, len(missing))
	for op := range missing {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	parts := make([]string, len(ops))
	for i, op := range ops {
		nodes := missing[op]
		more := ""
		if len(nodes) > 3 {
			more = fmt.Sprintf(" and %d more", len(nodes)-3)
			nodes = nodes[:3]
		}
		parts[i] = fmt.Sprintf("%s (node %s%s)", op, strings.Join(nodes, ", "), more)
	}
	return fmt.Errorf("%w: %s", ErrUnsupportedOp, strings.Join(parts, "; "))
}

func nodeLabel(n scannedNode, i int) string {
	if n.name != "" {
		return fmt.Sprintf("%q", n.name)
	}
	if len(n.outputs) > 0 {
		return fmt.Sprintf("#%d -> %q", i, n.outputs[0])
	}
	return fmt.Sprintf("#%d", i)
}

// backend receives the graph from onnx-go's decoder: tensor-named nodes,
// edges from each operation's outputs to its inputs weighted by input
// position, and one ApplyOperation per ONNX node, in file order.
type backend struct {
	nodes map[int64]*gnode
	order []int64
	edges map[int64][]graph.WeightedEdge
	ops   []appliedOp
}

type appliedOp struct {
	op      onnx.Operation
	outputs []graph.Node
}

type gnode struct {
	id   int64
	name string
}

func (n *gnode) ID() int64                      { return n.id }
func (n *gnode) SetName(s string)               { n.name = s }
func (n *gnode) GetName() string                { return n.name }
func (n *gnode) SetTensor(gtensor.Tensor) error { return nil }
func (n *gnode) GetTensor() gtensor.Tensor      { return nil }
func newBackend() *backend {
	return &backend{nodes: map[int64]*gnode{}, edges: map[int64][]graph.WeightedEdge{}}
}
func (b *backend) NewNode() graph.Node      { return &gnode{id: int64(len(b.order))} }
func (b *backend) Node(id int64) graph.Node { return b.nodes[id] }
func (b *backend) HasEdgeBetween(x, y int64) bool {
	return b.HasEdgeFromTo(x, y) || b.HasEdgeFromTo(y, x)
}
func (b *backend) Edge(u, v int64) graph.Edge        { return b.WeightedEdge(u, v) }
func (b *backend) To(id int64) graph.Nodes           { return iterator.NewOrderedNodes(nil) }
func (b *backend) Weight(x, y int64) (float64, bool) { return 0, false }

func (b *backend) AddNode(n graph.Node) {
	g := n.(*gnode)
	b.nodes[g.id] = g
	b.order = append(b.order, g.id)
}

func (b *backend) Nodes() graph.Nodes {
	ns := make([]graph.Node, len(b.order))
	for i, id := range b.order {
		ns[i] = b.nodes[id]
	}
	return iterator.NewOrderedNodes(ns)
}

func (b *backend) From(id int64) graph.Nodes {
	var ns []graph.Node
	for _, e := range b.edges[id] {
		ns = append(ns, e.To())
	}
	return iterator.NewOrderedNodes(ns)
}

func (b *backend) HasEdgeFromTo(u, v int64) bool { return b.WeightedEdge(u, v) != nil }

func (b *backend) WeightedEdge(u, v int64) graph.WeightedEdge {
	for _, e := range b.edges[u] {
		if e.To().ID() == v {
			return e
		}
	}
	return nil
}

func (b *backend) NewWeightedEdge(from, to graph.Node, w float64) graph.WeightedEdge {
	return wedge{from, to, w}
}

// SetWeightedEdge keeps every edge, parallel ones included: Add(x, x) has two
// edges from its output to x, with weights 0 and 1.
func (b *backend) SetWeightedEdge(e graph.WeightedEdge) {
	b.edges[e.From().ID()] = append(b.edges[e.From().ID()], e)
}

func (b *backend) ApplyOperation(op onnx.Operation, outputs ...graph.Node) error {
	b.ops = append(b.ops, appliedOp{op: op, outputs: outputs})
	return nil
}

type wedge struct {
	f, t graph.Node
	w    float64
}

func (e wedge) From() graph.Node         { return e.f }
func (e wedge) To() graph.Node           { return e.t }
func (e wedge) ReversedEdge() graph.Edge { return wedge{e.t, e.f, e.w} }
func (e wedge) Weight() float64          { return e.w }

// inputsOf returns the input tensor names of an applied op in position
// order, from the edges of its first output.
func (b *backend) inputsOf(a appliedOp) []string {
	if len(a.outputs) == 0 {
		return nil
	}
	edges := b.edges[a.outputs[0].ID()]
	var maxPos int = -1
	for _, e := range edges {
		maxPos = max(maxPos, int(e.Weight()))
	}
	names := make([]string, maxPos+1)
	for _, e := range edges {
		names[int(e.Weight())] = e.To().(*gnode).name
	}
	return names
}

// convertAttrs turns onnx-go's attribute values into Attrs.
func convertAttrs(in map[string]interface{}) (Attrs, error) {
	out := Attrs{}
	for k, v := range in {
		switch v := v.(type) {
		case gtensor.Tensor:
			t, err := fromGorgonia(v)
			if err != nil {
				return nil, fmt.Errorf("attribute %s: %w", k, err)
			}
			out[k] = t
		case []byte:
			out[k] = string(v)
		default:
			out[k] = v
		}
	}
	return out, nil
}

func fromGorgonia(g gtensor.Tensor) (*Tensor, error) {
	shape := append([]int(nil), g.Shape()...)
	if len(shape) == 1 && shape[0] == 1 && g.Dims() == 0 {
		shape = nil
	}
	switch d := g.Data().(type) {
	case []float32:
		return &Tensor{Shape: shape, Data: append([]float32(nil), d...)}, nil
	case float32:
		return &Tensor{Shape: nil, Data: []float32{d}}, nil
	case []float64:
		t := &Tensor{Shape: shape, Data: make([]float32, len(d))}
		for i, v := range d {
			t.Data[i] = float32(v)
		}
		return t, nil
	case float64:
		return &Tensor{Data: []float32{float32(d)}}, nil
	case []int64:
		return &Tensor{Shape: shape, DType: Int64, Ints: append([]int64(nil), d...)}, nil
	case int64:
		return &Tensor{DType: Int64, Ints: []int64{d}}, nil
	case []int32:
		t := &Tensor{Shape: shape, DType: Int64, Ints: make([]int64, len(d))}
		for i, v := range d {
			t.Ints[i] = int64(v)
		}
		return t, nil
	case int32:
		return &Tensor{DType: Int64, Ints: []int64{int64(d)}}, nil
	case []bool:
		t := &Tensor{Shape: shape, DType: Int64, Ints: make([]int64, len(d))}
		for i, v := range d {
			if v {
				t.Ints[i] = 1
			}
		}
		return t, nil
	}
	return nil, fmt.Errorf("%w: tensor attribute of %s", ErrUnsupportedDType, g.Dtype())
}
