package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// indexImages writes three small pictures and a corrupt file.
func indexImages(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for i, c := range []color.RGBA{{200, 30, 30, 255}, {30, 200, 30, 255}, {30, 30, 200, 255}} {
		img := image.NewRGBA(image.Rect(0, 0, 40, 40))
		for y := range 40 {
			for x := range 40 {
				if (x/(4+i)+y/5)%2 == 0 {
					img.Set(x, y, c)
				} else {
					img.Set(x, y, color.RGBA{240, 240, 240, 255})
				}
			}
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		os.WriteFile(filepath.Join(dir, "p"+string(rune('a'+i))+".png"), buf.Bytes(), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "bad.jpg"), []byte("not a jpeg"), 0o644)
	return dir
}

func TestCmdIndex(t *testing.T) {
	model := filepath.Join("testdata", "tiny.onnx")
	src := indexImages(t)
	tmp := t.TempDir()
	var o, e bytes.Buffer
	if code := cmdIndex([]string{"--model", model, "--images", src}, &o, &e); code != 2 || !strings.Contains(e.String(), "--out") {
		t.Errorf("no --out: status %d, stderr %q", code, e.String())
	}
	e.Reset()
	if code := cmdIndex([]string{"--model", model, "--images", src, "--out", "x", "--shard", "2/2"}, &o, &e); code != 2 || !strings.Contains(e.String(), "shard") {
		t.Errorf("bad --shard: status %d, stderr %q", code, e.String())
	}
	var outs []string
	for _, sh := range []string{"0/2", "1/2"} {
		out := filepath.Join(tmp, "s"+sh[:1])
		o.Reset()
		e.Reset()
		code := cmdIndex([]string{"--model", model, "--images", src, "--top", "2", "--shard", sh, "--out", out}, &o, &e)
		if code != 0 {
			t.Fatalf("index --shard %s: status %d, stderr %q", sh, code, e.String())
		}
		if !strings.Contains(o.String(), "index "+out) || !strings.Contains(o.String(), "scan:") {
			t.Errorf("index --shard %s printed %q", sh, o.String())
		}
		outs = append(outs, out)
	}
	merged := filepath.Join(tmp, "merged")
	o.Reset()
	if code := cmdIndex(append([]string{"merge", "--out", merged}, outs...), &o, &e); code != 0 || !strings.Contains(o.String(), "(2 shards, 3 images, 1 skipped)") {
		t.Fatalf("merge: status %d, stdout %q, stderr %q", code, o.String(), e.String())
	}
	sheet := filepath.Join(tmp, "sheet.png")
	data, _ := os.ReadFile(filepath.Join(merged, "manifest.json"))
	layer := between(string(data), `"name": "`, `"`, strings.Index(string(data), `"layers"`))
	if code := cmdIndex([]string{"sheet", "--index", merged, "--layer", layer, "--unit", "0", "--out", sheet}, &o, &e); code != 0 {
		t.Fatalf("sheet: status %d, stderr %q", code, e.String())
	}
	if f, err := os.Open(sheet); err != nil {
		t.Fatal(err)
	} else if img, err := png.Decode(f); err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("sheet: %v, %v", img, err)
	}
}

func between(s, open, close string, from int) string {
	s = s[max(from, 0):]
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	return s[:strings.Index(s, close)]
}

func TestCmdEmbed(t *testing.T) {
	src := indexImages(t)
	out := filepath.Join(t.TempDir(), "e.png")
	var o, e bytes.Buffer
	code := cmdEmbed([]string{"--model", filepath.Join("testdata", "tiny.onnx"), "--layer", "nope", "--images", src, "--out", out}, &o, &e)
	if code != 2 || !strings.Contains(e.String(), "nope") {
		t.Errorf("unknown layer: status %d, stderr %q", code, e.String())
	}
}
