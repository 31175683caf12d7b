package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/deepscope/deepscope/model"
)

// File names of the exported demo network, as kept in assets/.
const (
	ModelFile   = "fashion_cnn.onnx"
	SidecarFile = "fashion_cnn.json"
	LabelsFile  = "fashion_labels.txt"
)

// Graph returns the network as an ONNX graph (opset 13) with one input
// "input" [1,1,28,28] and the output "prob" [1,10]. Tensors are named after
// the layers (conv1, relu1, pool1, ..., gap, flatten, fc, prob).
func (n *Network) Graph() *model.Graph {
	b := model.NewGraphBuilder("fashion_cnn")
	g := b.Graph()
	g.Doc = "Fashion-MNIST demo CNN trained by deepscope (model/demo); input (pixel/255 - mean)/std, see the sidecar"
	h := b.Input("input", model.Float32, 1, 1, Side, Side)
	convs := []struct {
		w, b    []float32
		in, out int
	}{{n.Conv1W, n.Conv1B, 1, C1}, {n.Conv2W, n.Conv2B, C1, C2}, {n.Conv3W, n.Conv3B, C2, C3}}
	for i, c := range convs {
		l := fmt.Sprint(i + 1)
		w := b.Initializer("conv"+l+".weight", model.FromData(c.w, c.out, c.in, 3, 3))
		bias := b.Initializer("conv"+l+".bias", model.FromData(c.b, c.out))
		h = b.Node("Conv", "conv"+l, model.Attrs{
			"kernel_shape": []int{3, 3}, "pads": []int{1, 1, 1, 1}, "strides": []int{1, 1},
		}, h, w, bias)
		h = b.Node("Relu", "relu"+l, nil, h)
		if i < 2 {
			h = b.Node("MaxPool", "pool"+l, model.Attrs{"kernel_shape": []int{2, 2}, "strides": []int{2, 2}}, h)
		}
	}
	h = b.Node("GlobalAveragePool", "gap", nil, h)
	h = b.Node("Flatten", "flatten", model.Attrs{"axis": 1}, h)
	h = b.Node("Gemm", "fc", nil, h,
		b.Initializer("fc.weight", model.FromData(n.FCW, C3, NumCl)),
		b.Initializer("fc.bias", model.FromData(n.FCB, NumCl)))
	h = b.Node("Softmax", "prob", model.Attrs{"axis": 1}, h)
	b.Output(h, model.Float32, 1, NumCl)
	return g
}

// ONNX encodes the network as an ONNX model.
func (n *Network) ONNX() ([]byte, error) { return n.Graph().Marshal() }

// Sidecar returns the sidecar JSON of the exported model: 28x28 GRAY,
// (pixel/255 - Mean)/Std, stretched (Fashion-MNIST images are centred
// 28x28 already), labels from LabelsFile.
func (n *Network) Sidecar() []byte {
	s := n.Settings()
	return model.FormatSidecar(s.Name, s.Input, LabelsFile)
}

// Settings returns the sidecar as parsed settings, labels included, without
// reading any file.
func (n *Network) Settings() *model.Sidecar {
	s := model.DefaultSidecar()
	s.Name = "Fashion-MNIST CNN (deepscope demo)"
	s.Input = model.InputSpec{
		Width: Side, Height: Side, Color: model.Gray, Scale: 255,
		Mean: []float64{n.Mean}, Std: []float64{n.Std}, Resize: model.ResizeStretch,
	}
	s.LabelNames = append([]string(nil), Labels...)
	s.Path = SidecarFile
	if err := s.Validate(); err != nil {
		panic(err) // fixed, valid settings
	}
	return s
}

// LabelsText is the labels file: one class name per line.
func LabelsText() []byte { return []byte(strings.Join(Labels, "\n") + "\n") }

// Export writes ModelFile, SidecarFile and LabelsFile into dir (created if
// needed), each through a temporary file renamed into place.
func Export(dir string, n *Network) error {
	data, err := n.ONNX()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ModelFile, data}, {SidecarFile, n.Sidecar()}, {LabelsFile, LabelsText()}} {
		if err := model.WriteFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// Evaluation is the result of running a model over a dataset.
type Evaluation struct {
	Correct, Total int
	Confusion      [NumCl][NumCl]int // [true class][predicted class]
}

// Accuracy is Correct/Total.
func (e *Evaluation) Accuracy() float64 {
	if e.Total == 0 {
		return 0
	}
	return float64(e.Correct) / float64(e.Total)
}

// Evaluate runs a loaded model (the exported network, on deepscope's own
// engine) over data, each image preprocessed by the sidecar as the
// explorer does it, and counts the images whose most probable class is the
// label. Images are spread over all CPUs.
func Evaluate(m *model.Model, sc *model.Sidecar, data *Dataset) (*Evaluation, error) {
	pred := make([]int, data.Len())
	workers := min(runtime.GOMAXPROCS(0), max(1, data.Len()))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var x *model.Tensor
			for i := w; i < data.Len() && errs[w] == nil; i += workers {
				x = sc.PreprocessInto(x, data.Gray(i))
				pred[i], errs[w] = classify(m, x)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ev := &Evaluation{Total: data.Len()}
	for i, p := range pred {
		label := int(data.Labels[i])
		ev.Confusion[label][p]++
		if p == label {
			ev.Correct++
		}
	}
	return ev, nil
}

// classify returns the most probable class of input x.
func classify(m *model.Model, x *model.Tensor) (int, error) {
	a, err := m.Run(x)
	if err != nil {
		return 0, err
	}
	defer a.Release()
	y, err := a.Get(m.Output())
	if err != nil {
		return 0, err
	}
	best := 0
	for c, v := range y.Data {
		if v > y.Data[best] {
			best = c
		}
	}
	return best, nil
}
