package index

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Hostile indexes: an index directory is plain files a person can copy,
// share and edit, so its manifest and unit files are untrusted input.

// goodManifest is a small valid manifest: one layer "conv" of 2 units,
// top-1, max renderings only.
func goodManifest() Manifest {
	return Manifest{
		Version: FormatVersion, Model: "m.onnx", ModelSHA256: "abc",
		Input:  Input{Name: "x", Shape: []int{1, 3, 8, 8}},
		Source: Source{Path: "/photos", Kind: "folder", Items: 2},
		Shards: []Shard{{0, 1}}, Top: 1, Images: 2,
		Layers:     []LayerInfo{{Name: "/conv/Conv_output_0", Op: "Conv", Shape: []int{1, 2, 8, 8}, Units: 2, Dir: "conv", Field: [2]int{3, 3}}},
		Renderings: []string{RenderMax},
	}
}

// writeIndex writes an index with manifest m (its JSON given as is when raw
// is not nil) and, for every unit of its first layer, an info.json with one
// entry whose max rendering is a 2x2 PNG.
func writeIndex(t *testing.T, dir string, m Manifest, raw []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if raw == nil {
		var err error
		if raw, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) == 0 || !plainName(m.Layers[0].Dir) {
		return
	}
	var pic bytes.Buffer
	png.Encode(&pic, image.NewGray(image.Rect(0, 0, 2, 2)))
	for u := range min(m.Layers[0].Units, 4) {
		ud := filepath.Join(dir, m.Layers[0].Dir, unitDir(u))
		os.MkdirAll(ud, 0o755)
		info := UnitInfo{Layer: m.Layers[0].Name, Unit: u, Entries: []EntryInfo{{
			Rank: 0, Entry: Entry{Value: float32(u + 1), Image: "a.png"}, Scale: 1, Files: map[string]string{RenderMax: entryFile(RenderMax, 0)},
		}}}
		b, _ := json.Marshal(info)
		os.WriteFile(filepath.Join(ud, UnitInfoFile), b, 0o644)
		os.WriteFile(filepath.Join(ud, entryFile(RenderMax, 0)), pic.Bytes(), 0o644)
	}
}

func TestHostileManifest(t *testing.T) {
	good, _ := json.Marshal(goodManifest())
	edit := func(f func(*Manifest)) Manifest { m := goodManifest(); f(&m); return m }
	cases := []struct {
		name string
		m    Manifest
		raw  []byte // the manifest file as is, when not nil
		want string
	}{
		{"garbage", Manifest{}, []byte("\x00\x01garbage{"), "manifest.json is corrupt: invalid character"},
		{"truncated", Manifest{}, good[:len(good)/2], "manifest.json is corrupt: unexpected end of JSON input"},
		{"empty file", Manifest{}, []byte{}, "manifest.json is corrupt: unexpected end of JSON input"},
		{"null", Manifest{}, []byte("null"), "format version 0, this deepscope reads 1"},
		{"array", Manifest{}, []byte("[1, 2]"), "manifest.json is corrupt: json: cannot unmarshal array"},
		{"wrong field type", Manifest{}, bytes.Replace(good, []byte(`"units":2`), []byte(`"units":"many"`), 1), `cannot unmarshal string into Go struct field LayerInfo.layers.units of type int`},
		{"deeply nested", Manifest{}, []byte(strings.Repeat("[", 20000) + strings.Repeat("]", 20000)), "exceeded max depth"},
		{"version too new", edit(func(m *Manifest) { m.Version = 2 }), nil, "format version 2, this deepscope reads 1"},
		{"version missing", Manifest{}, bytes.Replace(good, []byte(`"version":1,`), nil, 1), "format version 0"},
		{"layer dir escapes", edit(func(m *Manifest) { m.Layers[0].Dir = "../../etc" }), nil, `layer 0 ("/conv/Conv_output_0") has directory "../../etc"; want a plain name inside the index`},
		{"layer dir absolute", edit(func(m *Manifest) { m.Layers[0].Dir = "/etc" }), nil, `has directory "/etc"`},
		{"layer dir nested", edit(func(m *Manifest) { m.Layers[0].Dir = "a/../../b" }), nil, `has directory "a/../../b"`},
		{"layer dir empty", edit(func(m *Manifest) { m.Layers[0].Dir = "" }), nil, `has directory ""`},
		{"layer dir dot", edit(func(m *Manifest) { m.Layers[0].Dir = "." }), nil, `has directory "."`},
		{"layers share a dir", edit(func(m *Manifest) { m.Layers = append(m.Layers, m.Layers[0]) }), nil, `layers share the directory "conv"`},
		{"negative units", edit(func(m *Manifest) { m.Layers[0].Units = -4 }), nil, `layer "/conv/Conv_output_0" has -4 units`},
		{"huge top", edit(func(m *Manifest) { m.Top = 1 << 40 }), nil, "top 1099511627776 is not in 1..65536"},
		{"zero top", edit(func(m *Manifest) { m.Top = 0 }), nil, "top 0 is not in 1..65536"},
		{"rendering path", edit(func(m *Manifest) { m.Renderings = []string{"../../x"} }), nil, `unknown rendering "../../x"`},
		{"bad shard", edit(func(m *Manifest) { m.Shards = []Shard{{5, 2}} }), nil, "shard 5/2 is not i/n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ix")
			writeIndex(t, dir, c.m, c.raw)
			_, err := Open(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error = %v, want it to name %s and %q", err, dir, c.want)
			}
			t.Log(err)
		})
	}
}

// Unit files, pictures and directories of an index that opens.
func TestHostileIndexFiles(t *testing.T) {
	open := func(t *testing.T) (*Index, string) {
		dir := filepath.Join(t.TempDir(), "ix")
		writeIndex(t, dir, goodManifest(), nil)
		ix, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return ix, filepath.Join(dir, "conv", unitDir(0))
	}
	const layer = "/conv/Conv_output_0"
	check := func(t *testing.T, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error = %v, want %q", err, want)
		}
		t.Log(err)
	}
	t.Run("entry file escapes", func(t *testing.T) {
		ix, ud := open(t)
		os.WriteFile(filepath.Join(ud, UnitInfoFile), []byte(`{"layer": "x", "unit": 0, "entries": [{"rank": 0, "files": {"max": "../../../../etc/passwd"}}]}`), 0o644)
		_, _, err := ix.Images(layer, 0, RenderMax)
		check(t, err, `corrupt info.json: max file "../../../../etc/passwd" is not a plain name inside the unit's directory`)
	})
	t.Run("entry file absolute", func(t *testing.T) {
		ix, ud := open(t)
		os.WriteFile(filepath.Join(ud, UnitInfoFile), []byte(`{"entries": [{"files": {"max": "/etc/passwd"}}]}`), 0o644)
		_, err := ix.Unit(layer, 0)
		check(t, err, `max file "/etc/passwd" is not a plain name`)
	})
	t.Run("unit info truncated", func(t *testing.T) {
		ix, ud := open(t)
		os.WriteFile(filepath.Join(ud, UnitInfoFile), []byte(`{"entries": [{"fi`), 0o644)
		_, err := ix.Unit(layer, 0)
		check(t, err, "/conv/Conv_output_0 unit 0: corrupt info.json: unexpected end of JSON input")
	})
	t.Run("unit out of range", func(t *testing.T) {
		ix, _ := open(t)
		_, err := ix.Unit(layer, 7)
		check(t, err, "layer /conv/Conv_output_0 has units 0..1, not 7")
	})
	t.Run("unknown layer", func(t *testing.T) {
		ix, _ := open(t)
		_, err := ix.Unit("../../etc", 0)
		check(t, err, `has no layer "../../etc"`)
	})
	t.Run("corrupt picture", func(t *testing.T) {
		ix, ud := open(t)
		os.WriteFile(filepath.Join(ud, entryFile(RenderMax, 0)), []byte("\xff\xd8\xff not a jpeg"), 0o644)
		_, err := ix.Sheet(layer, 0)
		check(t, err, filepath.Join(ud, entryFile(RenderMax, 0)))
	})
	t.Run("manifest is a directory", func(t *testing.T) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, ManifestFile), 0o755)
		_, err := Open(dir)
		check(t, err, "is a directory")
	})
	t.Run("stopped build", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "ix")
		os.MkdirAll(dir+partialExt, 0o755)
		_, err := Open(dir)
		check(t, err, "no finished index (a build was stopped")
	})
	// Merging an index whose unit file points outside copies nothing.
	t.Run("merge refuses escaping files", func(t *testing.T) {
		ix, ud := open(t)
		secret := filepath.Join(filepath.Dir(ix.Dir), "secret.txt")
		os.WriteFile(secret, []byte("secret"), 0o644)
		os.WriteFile(filepath.Join(ud, UnitInfoFile), []byte(`{"entries": [{"value": 1, "files": {"max": "../../../secret.txt"}}]}`), 0o644)
		out := filepath.Join(filepath.Dir(ix.Dir), "merged")
		_, err := Merge(context.Background(), out, ix.Dir)
		check(t, err, "not a plain name")
		if _, err := os.Stat(out); err == nil {
			t.Error("a failed merge published an index")
		}
	})
}
