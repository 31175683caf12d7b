package model

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
)

// ConformanceTolerance is the allowed difference between a float output and
// the expected value, relative to the largest expected magnitude when that is
// above 1 and absolute otherwise. Int64 outputs must match exactly.
const ConformanceTolerance = 1e-4

// ConformanceStatus is the outcome of one ONNX backend test directory.
type ConformanceStatus string

// Conformance outcomes.
const (
	ConformancePass ConformanceStatus = "pass"
	ConformanceFail ConformanceStatus = "fail"
	// ConformanceSkip means the model uses an op or a dtype the engine does
	// not implement (ErrUnsupportedOp, ErrUnsupportedDType).
	ConformanceSkip ConformanceStatus = "skip"
)

// ConformanceResult is the outcome of running one ONNX backend test
// directory: model.onnx plus test_data_set_*/input_*.pb and output_*.pb.
type ConformanceResult struct {
	Name   string // the directory's base name, e.g. test_relu
	Dir    string
	Status ConformanceStatus
	// MaxAbsErr is the largest |got - want| over all outputs and data sets
	// (+Inf when a NaN or infinity does not match).
	MaxAbsErr float64
	// Reason says why a test failed or was skipped ("" when it passed).
	Reason  string
	Outputs []OutputResult // one per graph output, worst over the data sets
}

// OutputResult compares one graph output with its expected value.
type OutputResult struct {
	Name      string
	MaxAbsErr float64
	Tol       float64 // the tolerance it was held to (0 for int64)
	OK        bool
	Reason    string // why it does not match, when it is not a value error
}

// String formats the result as one line: "pass NAME", "fail NAME max abs
// err X", "fail NAME: reason" or "skip NAME: reason".
func (r ConformanceResult) String() string {
	switch r.Status {
	case ConformancePass:
		return "pass " + r.Name
	case ConformanceFail:
		if r.Reason == "" {
			return fmt.Sprintf("fail %s max abs err %.3g", r.Name, r.MaxAbsErr)
		}
		return "fail " + r.Name + ": " + r.Reason
	}
	return fmt.Sprintf("%s %s: %s", r.Status, r.Name, r.Reason)
}

// IsConformanceDir reports whether dir holds an ONNX backend test (a
// model.onnx file).
func IsConformanceDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "model.onnx"))
	return err == nil && !st.IsDir()
}

// ExpandConformanceDirs turns each argument into test directories: a
// directory holding model.onnx is itself a test; any other directory stands
// for its children that are tests, in name order. It fails on a path that is
// missing, not a directory, or holds no test.
func ExpandConformanceDirs(args []string) ([]string, error) {
	var dirs []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", a)
		}
		if IsConformanceDir(a) {
			dirs = append(dirs, a)
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		n := len(dirs)
		for _, e := range ents { // ReadDir sorts by name
			if c := filepath.Join(a, e.Name()); e.IsDir() && IsConformanceDir(c) {
				dirs = append(dirs, c)
			}
		}
		if len(dirs) == n {
			return nil, fmt.Errorf("%s holds no ONNX test (no model.onnx in it or its subdirectories)", a)
		}
	}
	return dirs, nil
}

// RunConformanceDir runs one ONNX backend test directory: it loads
// model.onnx (shape inference driven by the first data set's inputs), feeds
// each test_data_set_*'s input_N.pb to the N-th graph input and compares
// every output with output_N.pb. Unsupported ops and dtypes give
// ConformanceSkip; anything else that goes wrong, a panic included, gives
// ConformanceFail with the reason.
func RunConformanceDir(dir string) (res ConformanceResult) {
	res = ConformanceResult{Name: filepath.Base(filepath.Clean(dir)), Dir: dir}
	path := filepath.Join(dir, "model.onnx")
	defer func() {
		if p := recover(); p != nil {
			res.Status = ConformanceFail
			res.Reason = fmt.Sprintf("panic: %v [%s]", p, panicSite(debug.Stack()))
		}
	}()
	fail := func(err error) ConformanceResult {
		if errors.Is(err, ErrUnsupportedOp) || errors.Is(err, ErrUnsupportedDType) {
			res.Status = ConformanceSkip
		} else {
			res.Status = ConformanceFail
		}
		// Load's errors start with "load <path>: "; the line names the test.
		msg := strings.TrimPrefix(err.Error(), "load "+path+": ")
		res.Reason = oneLine(msg)
		return res
	}

	sets, err := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if err != nil {
		return fail(err)
	}
	sort.Slice(sets, func(i, j int) bool { return pbIndex(sets[i]) < pbIndex(sets[j]) })
	if len(sets) == 0 {
		return fail(errors.New("no test_data_set_* directory"))
	}
	type dataSet struct {
		name    string
		names   []string // the input_N.pb tensors' names
		inputs  []*Tensor
		outputs []*Tensor
	}
	data := make([]dataSet, len(sets))
	for i, s := range sets {
		data[i].name = filepath.Base(s)
		if data[i].names, data[i].inputs, err = readPBs(s, "input"); err == nil {
			_, data[i].outputs, err = readPBs(s, "output")
		}
		if err != nil {
			// Prefer naming the unsupported ops, when there are some, over
			// the test data's dtype.
			if _, lerr := Load(path, Options{}); errors.Is(lerr, ErrUnsupportedOp) || errors.Is(lerr, ErrUnsupportedDType) {
				return fail(lerr)
			}
			return fail(err)
		}
	}

	// Load with the first data set's inputs as the shape-inference example.
	// The input_N.pb files nearly always carry the graph input's name; when
	// one does not, a first load learns the names.
	example := map[string]*Tensor{}
	for i, name := range data[0].names {
		if name == "" {
			example = nil
			break
		}
		example[name] = data[0].inputs[i]
	}
	if example == nil {
		m, err := Load(path, Options{})
		if err == nil {
			example, err = feeds(m, data[0].inputs)
		}
		if err != nil {
			return fail(err)
		}
	}
	m, err := Load(path, Options{Example: example})
	if err != nil {
		return fail(err)
	}

	res.Outputs = make([]OutputResult, len(m.Outputs))
	for i, name := range m.Outputs {
		res.Outputs[i] = OutputResult{Name: name, OK: true}
	}
	for _, ds := range data {
		if len(ds.outputs) != len(m.Outputs) {
			return fail(fmt.Errorf("%s has %d outputs for the graph's %d", ds.name, len(ds.outputs), len(m.Outputs)))
		}
		in, err := feeds(m, ds.inputs)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", ds.name, err))
		}
		acts, err := m.Forward(in)
		if err != nil {
			return fail(err)
		}
		for i, name := range m.Outputs {
			got, err := acts.Get(name)
			if err != nil {
				acts.Release()
				return fail(err)
			}
			o := compareOutput(got, ds.outputs[i])
			r := &res.Outputs[i]
			r.MaxAbsErr = math.Max(r.MaxAbsErr, o.MaxAbsErr)
			r.Tol = math.Max(r.Tol, o.Tol)
			if !o.OK && r.OK {
				r.OK, r.Reason = false, o.Reason
			}
		}
		acts.Release()
	}

	res.Status = ConformancePass
	for _, o := range res.Outputs {
		res.MaxAbsErr = math.Max(res.MaxAbsErr, o.MaxAbsErr)
		if !o.OK {
			res.Status = ConformanceFail
			if o.Reason != "" && res.Reason == "" {
				res.Reason = fmt.Sprintf("output %q: %s", o.Name, o.Reason)
			}
		}
	}
	return res
}

// feeds maps the test's inputs, in order, to the graph's inputs.
func feeds(m *Model, inputs []*Tensor) (map[string]*Tensor, error) {
	if len(inputs) != len(m.Inputs) {
		return nil, fmt.Errorf("%d input_*.pb files for the graph's %d inputs", len(inputs), len(m.Inputs))
	}
	f := make(map[string]*Tensor, len(inputs))
	for i, in := range m.Inputs {
		f[in.Name] = inputs[i]
	}
	return f, nil
}

// compareOutput holds got to want: same dtype and shape, int64 values equal,
// float values within ConformanceTolerance (NaN matches NaN, an infinity
// only itself).
func compareOutput(got, want *Tensor) OutputResult {
	var r OutputResult
	if got.DType != want.DType {
		r.Reason = fmt.Sprintf("dtype %s, want %s", got.DType, want.DType)
		return r
	}
	if !SameShape(got.Shape, want.Shape) {
		r.Reason = fmt.Sprintf("shape %s, want %s", ShapeString(got.Shape), ShapeString(want.Shape))
		return r
	}
	n := want.Len()
	if want.DType == Int64 {
		if len(got.Ints) < n || len(want.Ints) < n {
			r.Reason = "missing values"
			return r
		}
		for i := 0; i < n; i++ {
			r.MaxAbsErr = math.Max(r.MaxAbsErr, math.Abs(float64(got.Ints[i])-float64(want.Ints[i])))
			if got.Ints[i] != want.Ints[i] {
				r.MaxAbsErr = math.Max(r.MaxAbsErr, math.SmallestNonzeroFloat64)
			}
		}
		r.OK = r.MaxAbsErr == 0
		return r
	}
	if len(got.Data) < n || len(want.Data) < n {
		r.Reason = "missing values"
		return r
	}
	scale := 1.0
	for _, w := range want.Data[:n] {
		if a := math.Abs(float64(w)); a > scale && !math.IsInf(a, 0) {
			scale = a
		}
	}
	r.Tol = ConformanceTolerance * scale
	for i := 0; i < n; i++ {
		g, w := float64(got.Data[i]), float64(want.Data[i])
		var e float64
		switch {
		case math.IsNaN(w) || math.IsNaN(g):
			if math.IsNaN(w) != math.IsNaN(g) {
				e = math.Inf(1)
			}
		case math.IsInf(w, 0) || math.IsInf(g, 0):
			if g != w {
				e = math.Inf(1)
			}
		default:
			e = math.Abs(g - w)
		}
		r.MaxAbsErr = math.Max(r.MaxAbsErr, e)
	}
	r.OK = r.MaxAbsErr <= r.Tol
	return r
}

// readPBs reads dir/<prefix>_N.pb for N = 0, 1, ... in numeric order.
func readPBs(dir, prefix string) (names []string, ts []*Tensor, err error) {
	files, err := filepath.Glob(filepath.Join(dir, prefix+"_*.pb"))
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(files, func(i, j int) bool { return pbIndex(files[i]) < pbIndex(files[j]) })
	names = make([]string, len(files))
	ts = make([]*Tensor, len(files))
	for i, f := range files {
		if pbIndex(f) != i {
			return nil, nil, fmt.Errorf("%s: expected %s_%d.pb", f, prefix, i)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		if names[i], ts[i], err = DecodeTensorProto(b); err != nil {
			return nil, nil, fmt.Errorf("%s/%s: %w", filepath.Base(dir), filepath.Base(f), err)
		}
	}
	return names, ts, nil
}

var trailingNumber = regexp.MustCompile(`(\d+)(\.pb)?$`)

// pbIndex is the number at the end of a name like input_12.pb or
// test_data_set_3 (-1 when there is none).
func pbIndex(path string) int {
	m := trailingNumber.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return n
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// panicSite picks the first frame of a panic's stack inside this module, so
// a failing kernel can be found from the one-line report.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i := 0; i+1 < len(lines); i++ {
		l := strings.TrimSpace(lines[i+1])
		if strings.Contains(lines[i], "deepscope/model.") && !strings.Contains(lines[i], "RunConformanceDir") &&
			strings.HasPrefix(l, "/") {
			if j := strings.LastIndex(l, " +0x"); j > 0 {
				l = l[:j]
			}
			return filepath.Base(filepath.Dir(l)) + "/" + filepath.Base(l)
		}
	}
	return "unknown site"
}
