package index

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzManifest: no manifest bytes make parseManifest panic; an accepted
// manifest only names plain directories and known renderings, and it is
// written back and read again unchanged. Seeds: testdata/fuzz/FuzzManifest.
func FuzzManifest(f *testing.F) {
	good, err := json.Marshal(goodManifest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data, "fuzz")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if m.Version != FormatVersion || m.Top < 1 || m.Top > maxTop {
			t.Fatalf("accepted version %d top %d", m.Version, m.Top)
		}
		for _, l := range m.Layers {
			if !plainName(l.Dir) || l.Units < 0 {
				t.Fatalf("accepted layer %+v", l)
			}
		}
		for _, r := range m.Renderings {
			if !plainName(entryFile(r, 0)) {
				t.Fatalf("accepted rendering %q", r)
			}
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := parseManifest(out, "fuzz")
		if err != nil {
			t.Fatalf("written back %s: %v", out, err)
		}
		out2, _ := json.Marshal(m2)
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed\n%s\ninto\n%s", out, out2)
		}
	})
}
