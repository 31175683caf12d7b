package assets

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/deepscope/deepscope/model"
)

// DemoSpec is the --model value that names the embedded demo network (so
// do DemoName and DemoModelFile when no file of that name exists).
const DemoSpec = "demo"

// IsDemo reports whether spec, a --model value, names the embedded demo
// network: "demo", "fashion_cnn" or "fashion_cnn.onnx", unless a file of
// that name exists (a file always wins).
func IsDemo(spec string) bool {
	switch strings.TrimSpace(spec) {
	case DemoSpec, DemoName, DemoModelFile:
	default:
		return false
	}
	_, err := os.Stat(spec)
	return errors.Is(err, os.ErrNotExist)
}

// OpenModel loads the model a --model value names, with its sidecar: the
// embedded demo network (IsDemo), an ONNX file, or the name of a
// downloaded catalog model or of a model in $DEEPSCOPE_SHARED/models (see
// model.ResolveModel). It returns the resolved path, DemoSpec for the
// demo. A name found nowhere gives an error saying how to download it.
func OpenModel(spec string) (*model.Model, *model.Sidecar, string, error) {
	if IsDemo(spec) {
		m, sc, err := LoadDemo()
		return m, sc, DemoSpec, err
	}
	path, err := model.ResolveModel(spec)
	if err != nil {
		if _, inZoo := model.ZooLookup(strings.TrimSuffix(spec, ".onnx")); !inZoo && !strings.ContainsAny(spec, `/\`) {
			// ResolveModel's own message already says how to get a
			// catalog model; say it for any other name too.
			err = fmt.Errorf("%w; 'deepscope models get NAME' downloads a catalog model, '--model %s' opens the embedded demo", err, DemoSpec)
		}
		return nil, nil, "", err
	}
	m, err := model.Load(path, model.Options{})
	if err != nil {
		return nil, nil, "", err
	}
	sc, err := model.LoadSidecar(path)
	if err != nil {
		return nil, nil, "", err
	}
	return m, sc, path, nil
}
