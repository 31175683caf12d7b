package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file writes ONNX models (ModelProto, field numbers of onnx.proto3):
// what protoscan.go reads, written back. It covers what a CNN exported by
// the project needs: nodes with INT(S), FLOAT(S), STRING(S) and TENSOR
// attributes, float32 and int64 initializers (as raw_data) and typed graph
// inputs and outputs.

// DefaultWriteOpset is the opset a Graph declares when its Opset is 0.
const DefaultWriteOpset = 13

// Graph is an ONNX graph to write with WriteONNX. Nodes must be in
// topological order: every node input is a graph input, an initializer or
// an output of an earlier node ("" marks an absent optional input).
type Graph struct {
	Name     string
	Producer string // producer_name of the model; "deepscope" when empty
	Opset    int    // default-domain opset version; DefaultWriteOpset when 0
	Doc      string // doc_string of the graph

	Inputs       []ValueInfo
	Outputs      []ValueInfo
	Initializers []Initializer
	Nodes        []GraphNode
}

// ValueInfo is a typed graph input or output. A negative dimension is
// symbolic, written as a dim_param (DimNames[i] when given, else "N" for
// axis 0 and "d<i>" for the others). A nil Shape declares no shape.
type ValueInfo struct {
	Name     string
	DType    DType
	Shape    []int
	DimNames []string
}

// Initializer is a named constant tensor of the graph (a weight).
type Initializer struct {
	Name   string
	Tensor *Tensor
}

// GraphNode is one ONNX node. Attrs values may be int, int64, float32,
// float64, string, []int, []int64, []float32, []float64, []string or
// *Tensor; they are written sorted by name so the output is deterministic.
type GraphNode struct {
	Name    string
	Op      string
	Domain  string // "" for the default ONNX domain
	Inputs  []string
	Outputs []string
	Attrs   Attrs
}

// GraphBuilder assembles a Graph one call at a time, naming each node's
// single output after the node:
//
//	b := NewGraphBuilder("net")
//	x := b.Input("x", Float32, 1, 1, 28, 28)
//	w := b.Initializer("w", weights)
//	c := b.Node("Conv", "conv1", Attrs{"pads": []int{1, 1, 1, 1}}, x, w)
//	b.Output(c, Float32, 1, 8, 28, 28)
//	err := WriteONNX(f, b.Graph())
type GraphBuilder struct {
	g Graph
}

// NewGraphBuilder starts an empty graph with the default opset.
func NewGraphBuilder(name string) *GraphBuilder {
	return &GraphBuilder{g: Graph{Name: name}}
}

// Input declares a graph input and returns its name.
func (b *GraphBuilder) Input(name string, dt DType, shape ...int) string {
	b.g.Inputs = append(b.g.Inputs, ValueInfo{Name: name, DType: dt, Shape: shape})
	return name
}

// Initializer adds a constant tensor and returns its name.
func (b *GraphBuilder) Initializer(name string, t *Tensor) string {
	b.g.Initializers = append(b.g.Initializers, Initializer{Name: name, Tensor: t})
	return name
}

// Node adds a node with one output named like the node and returns that
// name.
func (b *GraphBuilder) Node(op, name string, attrs Attrs, inputs ...string) string {
	b.g.Nodes = append(b.g.Nodes, GraphNode{Name: name, Op: op, Inputs: inputs, Outputs: []string{name}, Attrs: attrs})
	return name
}

// Output declares a graph output (a node output or a graph input).
func (b *GraphBuilder) Output(name string, dt DType, shape ...int) {
	b.g.Outputs = append(b.g.Outputs, ValueInfo{Name: name, DType: dt, Shape: shape})
}

// Graph returns the graph built so far (not a copy).
func (b *GraphBuilder) Graph() *Graph { return &b.g }

// WriteONNX validates g and writes it as an ONNX model.
func WriteONNX(w io.Writer, g *Graph) error {
	data, err := g.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// Marshal validates g and encodes it as an ONNX ModelProto.
func (g *Graph) Marshal() ([]byte, error) {
	if err := g.validate(); err != nil {
		return nil, fmt.Errorf("write ONNX: %w", err)
	}
	opset := g.Opset
	if opset == 0 {
		opset = DefaultWriteOpset
	}
	gb, err := g.encode()
	if err != nil {
		return nil, fmt.Errorf("write ONNX: %w", err)
	}
	producer := g.Producer
	if producer == "" {
		producer = "deepscope"
	}
	var m []byte
	m = pbAppendVarint(m, 1, uint64(irVersion(opset))) // ir_version
	m = pbAppendString(m, 2, producer)                 // producer_name
	m = pbAppendBytes(m, 7, gb)                        // graph
	var ops []byte
	ops = pbAppendString(ops, 1, "")            // domain: the default ONNX domain
	ops = pbAppendVarint(ops, 2, uint64(opset)) // version
	m = pbAppendBytes(m, 8, ops)                // opset_import
	return m, nil
}

// irVersion is the IR version released with an opset (the lowest a runtime
// must understand to read the file).
func irVersion(opset int) int {
	switch {
	case opset <= 8:
		return 3
	case opset == 9:
		return 4
	case opset == 10:
		return 5
	case opset == 11:
		return 6
	case opset <= 14:
		return 7
	case opset <= 18:
		return 8
	case opset <= 20:
		return 9
	}
	return 10
}

// validate checks names, order and tensor sizes so that a written model
// always loads.
func (g *Graph) validate() error {
	if g.Opset < 0 {
		return fmt.Errorf("opset %d is negative", g.Opset)
	}
	defined := map[string]string{} // tensor name -> what defines it
	define := func(name, what string) error {
		if name == "" {
			return fmt.Errorf("%s has an empty name", what)
		}
		if prev, dup := defined[name]; dup {
			return fmt.Errorf("%s: name %q is already used by %s", what, name, prev)
		}
		defined[name] = what
		return nil
	}
	for i, in := range g.Inputs {
		if err := define(in.Name, fmt.Sprintf("input %d", i)); err != nil {
			return err
		}
	}
	for i, it := range g.Initializers {
		what := fmt.Sprintf("initializer %d (%q)", i, it.Name)
		if err := define(it.Name, what); err != nil {
			return err
		}
		if err := checkTensor(it.Tensor); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	for i, n := range g.Nodes {
		what := fmt.Sprintf("node %d (%s %q)", i, n.Op, n.Name)
		if n.Op == "" {
			return fmt.Errorf("node %d (%q) has no op type", i, n.Name)
		}
		for _, in := range n.Inputs {
			if _, ok := defined[in]; in != "" && !ok {
				return fmt.Errorf("%s: input %q is not defined before it", what, in)
			}
		}
		if len(n.Outputs) == 0 {
			return fmt.Errorf("%s has no outputs", what)
		}
		for _, out := range n.Outputs {
			if out == "" {
				continue // an unused optional output
			}
			if err := define(out, what); err != nil {
				return err
			}
		}
		if _, err := encodeAttrs(n.Attrs); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if len(g.Outputs) == 0 {
		return errors.New("the graph has no outputs")
	}
	for _, out := range g.Outputs {
		if _, ok := defined[out.Name]; !ok {
			return fmt.Errorf("output %q is not produced by the graph", out.Name)
		}
	}
	return nil
}

// checkTensor checks that a tensor's payload matches its shape and dtype.
func checkTensor(t *Tensor) error {
	if t == nil {
		return errors.New("nil tensor")
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
	}
	n := t.Len()
	switch t.DType {
	case Float32:
		if len(t.Data) != n || t.Ints != nil {
			return fmt.Errorf("float32 tensor of shape %v holds %d floats and %d ints", t.Shape, len(t.Data), len(t.Ints))
		}
	case Int64:
		if len(t.Ints) != n || t.Data != nil {
			return fmt.Errorf("int64 tensor of shape %v holds %d ints and %d floats", t.Shape, len(t.Ints), len(t.Data))
		}
	default:
		return fmt.Errorf("unknown dtype %v", t.DType)
	}
	return nil
}

func (g *Graph) encode() ([]byte, error) {
	var b []byte
	for _, n := range g.Nodes {
		nb, err := encodeNode(n)
		if err != nil {
			return nil, err
		}
		b = pbAppendBytes(b, 1, nb) // node
	}
	b = pbAppendString(b, 2, g.Name) // name
	for _, it := range g.Initializers {
		b = pbAppendBytes(b, 5, encodeTensorProto(it.Name, it.Tensor)) // initializer
	}
	if g.Doc != "" {
		b = pbAppendString(b, 10, g.Doc) // doc_string
	}
	for _, in := range g.Inputs {
		b = pbAppendBytes(b, 11, encodeValueInfo(in)) // input
	}
	for _, out := range g.Outputs {
		b = pbAppendBytes(b, 12, encodeValueInfo(out)) // output
	}
	return b, nil
}

func encodeNode(n GraphNode) ([]byte, error) {
	var b []byte
	for _, in := range n.Inputs {
		b = pbAppendString(b, 1, in) // input
	}
	for _, out := range n.Outputs {
		b = pbAppendString(b, 2, out) // output
	}
	if n.Name != "" {
		b = pbAppendString(b, 3, n.Name) // name
	}
	b = pbAppendString(b, 4, n.Op) // op_type
	attrs, err := encodeAttrs(n.Attrs)
	if err != nil {
		return nil, err
	}
	for _, a := range attrs {
		b = pbAppendBytes(b, 5, a) // attribute
	}
	if n.Domain != "" {
		b = pbAppendString(b, 7, n.Domain) // domain
	}
	return b, nil
}

// AttributeProto.AttributeType values.
const (
	attrFloat   = 1
	attrInt     = 2
	attrString  = 3
	attrTensor  = 4
	attrFloats  = 6
	attrInts    = 7
	attrStrings = 8
)

// encodeAttrs encodes attributes sorted by name.
func encodeAttrs(attrs Attrs) ([][]byte, error) {
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, name := range names {
		if name == "" {
			return nil, errors.New("attribute with an empty name")
		}
		var a []byte
		a = pbAppendString(a, 1, name) // name
		var typ int
		switch v := attrs[name].(type) {
		case float32:
			a, typ = pbAppendFloat(a, 2, v), attrFloat
		case float64:
			a, typ = pbAppendFloat(a, 2, float32(v)), attrFloat
		case int:
			a, typ = pbAppendVarint(a, 3, uint64(int64(v))), attrInt
		case int64:
			a, typ = pbAppendVarint(a, 3, uint64(v)), attrInt
		case string:
			a, typ = pbAppendString(a, 4, v), attrString
		case *Tensor:
			if err := checkTensor(v); err != nil {
				return nil, fmt.Errorf("attribute %s: %w", name, err)
			}
			a, typ = pbAppendBytes(a, 5, encodeTensorProto("", v)), attrTensor
		case []float32:
			a, typ = pbAppendBytes(a, 7, packFloats(v)), attrFloats
		case []float64:
			f := make([]float32, len(v))
			for i, x := range v {
				f[i] = float32(x)
			}
			a, typ = pbAppendBytes(a, 7, packFloats(f)), attrFloats
		case []int:
			a, typ = pbAppendBytes(a, 8, packInts(v)), attrInts
		case []int64:
			a, typ = pbAppendBytes(a, 8, packInts(v)), attrInts
		case []string:
			for _, s := range v {
				a = pbAppendString(a, 9, s)
			}
			typ = attrStrings
		default:
			return nil, fmt.Errorf("attribute %s: unsupported value type %T", name, v)
		}
		a = pbAppendVarint(a, 20, uint64(typ)) // type
		out = append(out, a)
	}
	return out, nil
}

// encodeTensorProto writes a TensorProto with its payload as little-endian
// raw_data.
func encodeTensorProto(name string, t *Tensor) []byte {
	var b []byte
	dims := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = int64(d)
	}
	if len(dims) > 0 {
		b = pbAppendBytes(b, 1, packInts(dims)) // dims
	}
	var raw []byte
	if t.DType == Int64 {
		b = pbAppendVarint(b, 2, onnxInt64) // data_type
		raw = make([]byte, 8*len(t.Ints))
		for i, v := range t.Ints {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
	} else {
		b = pbAppendVarint(b, 2, onnxFloat)
		raw = make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	}
	if name != "" {
		b = pbAppendString(b, 8, name) // name
	}
	return pbAppendBytes(b, 9, raw) // raw_data
}

// encodeValueInfo writes a ValueInfoProto with a tensor type.
func encodeValueInfo(v ValueInfo) []byte {
	elem := onnxFloat
	if v.DType == Int64 {
		elem = onnxInt64
	}
	var tt []byte
	tt = pbAppendVarint(tt, 1, uint64(elem)) // elem_type
	if v.Shape != nil {
		var shape []byte
		for i, d := range v.Shape {
			var dim []byte
			if d >= 0 {
				dim = pbAppendVarint(dim, 1, uint64(d)) // dim_value
			} else {
				dim = pbAppendString(dim, 2, dimName(v, i)) // dim_param
			}
			shape = pbAppendBytes(shape, 1, dim) // dim
		}
		tt = pbAppendBytes(tt, 2, shape) // shape
	}
	var b []byte
	b = pbAppendString(b, 1, v.Name)                      // name
	return pbAppendBytes(b, 2, pbAppendBytes(nil, 1, tt)) // type.tensor_type
}

func dimName(v ValueInfo, i int) string {
	switch {
	case i < len(v.DimNames) && v.DimNames[i] != "":
		return v.DimNames[i]
	case i == 0:
		return "N"
	}
	return fmt.Sprintf("d%d", i)
}

func pbAppendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbAppendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func pbAppendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func pbAppendFloat(b []byte, num protowire.Number, v float32) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

// packInts encodes a packed repeated int64 field's payload.
func packInts[T int | int64](v []T) []byte {
	var b []byte
	for _, x := range v {
		b = protowire.AppendVarint(b, uint64(int64(x)))
	}
	return b
}

// packFloats encodes a packed repeated float field's payload.
func packFloats(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = protowire.AppendFixed32(b, math.Float32bits(x))
	}
	return b
}
