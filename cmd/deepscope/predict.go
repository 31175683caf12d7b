package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"text/tabwriter"

	"github.com/deepscope/deepscope/model"
)

// prediction is one image's result, as printed by --json.
type prediction struct {
	Image string      `json:"image"`
	Top   []classProb `json:"top"`
}

type classProb struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Prob  float64 `json:"prob"`
}

// runPredict prints the top classes of each image.
func runPredict(c *cli, args []string) error {
	fs := newFlags("predict")
	var in inputFlags
	in.register(fs)
	top := fs.Int("top", 5, "print the `k` most probable classes")
	asJSON := fs.Bool("json", false, `print [{"image": path, "top": [{"index": i, "label": s, "prob": p}, ...]}, ...]`)
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if *top <= 0 {
		return fmt.Errorf("predict: --top must be at least 1, got %d", *top)
	}
	if err := in.checkInputs("predict", images, 0); err != nil {
		return err
	}
	m, err := in.load()
	if err != nil {
		return err
	}
	softmaxed := endsInSoftmax(m, m.Output())

	var preds []prediction
	err = in.each(m, images, func(name string, x *model.Tensor) error {
		probs, err := classProbs(m, x, softmaxed)
		if err != nil {
			return err
		}
		p := prediction{Image: name, Top: []classProb{}}
		for _, i := range topK(probs, *top) {
			p.Top = append(p.Top, classProb{Index: i, Label: in.sidecar.Label(i), Prob: probs[i]})
		}
		if !*asJSON {
			printPrediction(c, p)
		}
		preds = append(preds, p)
		return nil
	})
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := json.MarshalIndent(preds, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
	}
	return nil
}

func printPrediction(c *cli, p prediction) {
	fmt.Fprintf(c.stdout, "%s\n", p.Image)
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	for _, t := range p.Top {
		fmt.Fprintf(tw, "  %.4f\t%d\t%s\n", t.Prob, t.Index, t.Label)
	}
	tw.Flush()
}

// classProbs runs the model on x and returns the class probabilities of its
// first output: the output itself when the graph ends in Softmax, else its
// softmax. The batch dimension (1) is flattened away with the rest.
func classProbs(m *model.Model, x *model.Tensor, softmaxed bool) ([]float64, error) {
	acts, err := m.Run(x)
	if err != nil {
		return nil, err
	}
	defer acts.Release()
	out, err := acts.Get(m.Output())
	if err != nil {
		return nil, err
	}
	if out.DType != model.Float32 {
		return nil, fmt.Errorf("model output %q is %s, not class scores", m.Output(), out.DType)
	}
	if len(out.Data) == 0 {
		return nil, errors.New("model output is empty")
	}
	probs := make([]float64, len(out.Data))
	for i, v := range out.Data {
		probs[i] = float64(v)
	}
	if !softmaxed {
		softmax(probs)
	}
	return probs, nil
}

// endsInSoftmax reports whether layer name is a Softmax, possibly followed
// by ops that only reshape (a Flatten after the Softmax, say).
func endsInSoftmax(m *model.Model, name string) bool {
	for range 16 {
		op, inputs, ok := m.Producer(name)
		if !ok {
			return false
		}
		switch op {
		case "Softmax":
			return true
		case "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout":
			if len(inputs) == 0 {
				return false
			}
			name = inputs[0]
		default:
			return false
		}
	}
	return false
}

// softmax replaces v by exp(v - max) / sum.
func softmax(v []float64) {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = math.Max(mx, x)
	}
	sum := 0.0
	for i, x := range v {
		v[i] = math.Exp(x - mx)
		sum += v[i]
	}
	for i := range v {
		v[i] /= sum
	}
}

// topK returns the indices of the k largest values, largest first (ties by
// index).
func topK(v []float64, k int) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	if k < len(idx) {
		idx = idx[:k]
	}
	return idx
}
