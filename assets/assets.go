// Package assets holds the files deepscope embeds: the demo network it
// opens when no model is given (a small Fashion-MNIST CNN trained by
// `deepscope train-demo`, see model/demo), its sidecar and its labels.
package assets

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/deepscope/deepscope/model"
)

// File names of the embedded demo network.
const (
	DemoModelFile   = "fashion_cnn.onnx"
	DemoSidecarFile = "fashion_cnn.json"
	DemoLabelsFile  = "fashion_labels.txt"
)

var (
	//go:embed fashion_cnn.onnx
	demoModel []byte
	//go:embed fashion_cnn.json
	demoSidecar []byte
	//go:embed fashion_labels.txt
	demoLabels string
)

// DemoModel returns the ONNX bytes of the demo network (a copy).
func DemoModel() []byte { return append([]byte(nil), demoModel...) }

// DemoSidecar returns the demo network's sidecar JSON (a copy). Its
// "labels" names DemoLabelsFile.
func DemoSidecar() []byte { return append([]byte(nil), demoSidecar...) }

// DemoLabels returns the demo network's class names, in class order.
func DemoLabels() []string { return strings.Split(strings.TrimRight(demoLabels, "\n"), "\n") }

// DemoName is the name the demo network goes by (as a model file name
// without extension would).
const DemoName = "fashion_cnn"

// LoadDemo decodes the embedded demo network and its sidecar, with the
// labels filled in, without touching the file system.
func LoadDemo() (*model.Model, *model.Sidecar, error) {
	m, err := model.Decode(DemoModel(), model.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("embedded demo model: %w", err)
	}
	m.Name = DemoName
	sc, err := DemoSidecarParsed()
	if err != nil {
		return nil, nil, err
	}
	return m, sc, nil
}

// DemoSidecarParsed parses the embedded sidecar with the embedded labels
// inlined (the labels file is not on disk).
func DemoSidecarParsed() (*model.Sidecar, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(demoSidecar, &raw); err != nil {
		return nil, fmt.Errorf("embedded demo sidecar: %w", err)
	}
	labels, err := json.Marshal(DemoLabels())
	if err != nil {
		return nil, err
	}
	raw["labels"] = labels
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	sc, err := model.ParseSidecar(data, filepath.Join("assets", DemoSidecarFile))
	if err != nil {
		return nil, fmt.Errorf("embedded demo sidecar: %w", err)
	}
	return sc, nil
}
