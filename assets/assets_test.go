package assets

import (
	"bytes"
	"os"
	"testing"

	"github.com/deepscope/deepscope/model"
)

func TestLoadDemo(t *testing.T) {
	m, sc, err := LoadDemo()
	if err != nil {
		t.Fatal(err)
	}
	if in := m.Input(); !model.SameShape(in.Shape, []int{1, 1, 28, 28}) {
		t.Errorf("input shape %v", in.Shape)
	}
	if err := sc.FitInput(m.Input().Shape); err != nil {
		t.Error(err)
	}
	if sc.Input.Color != model.Gray || sc.Input.Width != 28 || sc.Input.Resize != model.ResizeStretch {
		t.Errorf("sidecar input %+v", sc.Input)
	}
	if l := sc.Labels(); len(l) != 10 || l[0] != "T-shirt/top" || l[9] != "Ankle boot" {
		t.Errorf("labels %q", l)
	}
	// The embedded bytes are the committed files.
	for _, f := range []struct {
		name string
		data []byte
	}{{DemoModelFile, DemoModel()}, {DemoSidecarFile, DemoSidecar()}} {
		disk, err := os.ReadFile(f.name)
		if err != nil || !bytes.Equal(disk, f.data) {
			t.Errorf("%s differs from the embedded copy (%v)", f.name, err)
		}
	}
	// Copies: changing one does not change the next.
	b := DemoModel()
	b[0] ^= 0xff
	if DemoModel()[0] == b[0] {
		t.Error("DemoModel shares its bytes")
	}
	// Total embedded size stays small.
	if n := len(DemoModel()) + len(DemoSidecar()); n > 2<<20 {
		t.Errorf("demo assets take %d bytes, want under 2 MB", n)
	}
}
