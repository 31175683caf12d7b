package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/deepscope/deepscope/assets"
	"github.com/deepscope/deepscope/camera"
	"github.com/deepscope/deepscope/model"
)

// fakeModelDirs points the download cache and the shared directory at
// temporary directories and returns the models directories.
func fakeModelDirs(t *testing.T) (cache, shared string) {
	t.Helper()
	xdg, sh := t.TempDir(), t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	t.Setenv("DEEPSCOPE_SHARED", sh)
	cache, err := model.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cache, xdg) {
		t.Fatalf("cache dir %s is not under XDG_CACHE_HOME %s", cache, xdg)
	}
	shared = filepath.Join(sh, "models")
	for _, d := range []string{cache, shared} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return cache, shared
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestModelsDialogLists(t *testing.T) {
	cache, shared := fakeModelDirs(t)
	zoo := model.Zoo()
	if len(zoo) < 3 {
		t.Fatalf("catalog has %d models", len(zoo))
	}
	touch(t, filepath.Join(cache, zoo[0].FileName()))         // downloaded
	touch(t, filepath.Join(cache, zoo[1].FileName()+".part")) // interrupted
	touch(t, filepath.Join(shared, "tiny_darknet.onnx"))      // shared
	touch(t, filepath.Join(shared, "tiny_darknet.json"))      // not a model
	a := newTestApp(t)
	md := a.newModelsDialog(model.Downloader{})

	want := []string{
		assets.DemoName + " — embedded demo",
		zoo[0].Name + " — downloaded: " + filepath.Join(cache, zoo[0].FileName()),
		"tiny_darknet — shared: " + filepath.Join(shared, "tiny_darknet.onnx"),
		zoo[1].Name + " — catalog, partly downloaded",
		zoo[2].Name + " — catalog, not downloaded",
	}
	if n := md.list.Length(); n != 2+len(zoo) {
		t.Fatalf("%d models listed, want the demo, 1 shared and the %d catalog models", n, len(zoo))
	}
	for i, w := range want {
		if got := md.entries[i].String(); !strings.HasPrefix(got, w) {
			t.Errorf("entry %d: %q, want %q…", i, got, w)
		}
	}
	for _, e := range md.entries[3:] {
		if e.Zoo == nil || e.Name == zoo[0].Name {
			t.Errorf("catalog entry %+v: want only models not downloaded", e)
		}
	}
	// The list shows the entries, the buttons follow the selection.
	w := test.NewWindow(md.content())
	defer w.Close()
	if md.openBtn.Disabled() == false || md.getBtn.Disabled() == false {
		t.Error("buttons enabled with nothing selected")
	}
	md.list.Select(0)
	if md.openBtn.Disabled() || !md.getBtn.Disabled() {
		t.Error("demo selected: want Open enabled, Download disabled")
	}
	md.list.Select(4)
	if !md.openBtn.Disabled() || md.getBtn.Disabled() {
		t.Error("catalog model selected: want Download enabled, Open disabled")
	}
}

// zooServer serves data as a catalog model; block makes it send half of it
// and wait for the client to go away.
func zooServer(t *testing.T, data []byte, block bool) (*httptest.Server, model.ZooModel) {
	t.Helper()
	sum := sha256.Sum256(data)
	z := model.ZooModel{Name: "tinyzoo", Path: "tiny.onnx", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		Color: "RGB", Scale: 255, Mean: []float64{0, 0, 0}, Std: []float64{1, 1, 1}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tiny.onnx" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if !block {
			w.Write(data)
			return
		}
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, z
}

func waitDownload(t *testing.T, d *download) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the download does not end")
	}
}

func TestDownloadModelWithProgress(t *testing.T) {
	cache, _ := fakeModelDirs(t)
	data, err := os.ReadFile(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	srv, z := zooServer(t, data, false)
	a := newTestApp(t)
	var gotPath string
	var gotErr error
	d := a.downloadModel(model.Downloader{BaseURL: srv.URL, InsecureHTTP: true}, z, func(p string, err error) { gotPath, gotErr = p, err })
	waitDownload(t, d)
	if gotErr != nil {
		t.Fatal(gotErr)
	}
	if want := filepath.Join(cache, "tinyzoo.onnx"); gotPath != want {
		t.Errorf("path %s, want %s", gotPath, want)
	}
	if b, err := os.ReadFile(gotPath); err != nil || string(b) != string(data) {
		t.Errorf("downloaded file: %d bytes, %v; want the %d served", len(b), err, len(data))
	}
	if v := d.bar.Value; v != 1 {
		t.Errorf("progress %v at the end, want 1", v)
	}
	if _, err := os.Stat(model.SidecarPath(gotPath)); err != nil {
		t.Errorf("no sidecar next to the download: %v", err)
	}
}

func TestDownloadModelCancel(t *testing.T) {
	cache, _ := fakeModelDirs(t)
	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(i * 7)
	}
	srv, z := zooServer(t, data, true)
	a := newTestApp(t)
	var gotErr error
	d := a.downloadModel(model.Downloader{BaseURL: srv.URL, InsecureHTTP: true, Retries: -1}, z, func(_ string, err error) { gotErr = err })
	// Wait for the first half to arrive, then press Cancel.
	part := filepath.Join(cache, "tinyzoo.onnx.part")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st, err := os.Stat(part); err == nil && st.Size() == int64(len(data)/2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first half never arrived")
		}
	}
	d.dlg.Hide() // what the Cancel button does
	waitDownload(t, d)
	if !errors.Is(gotErr, context.Canceled) {
		t.Errorf("error %v, want cancelled", gotErr)
	}
	if st, err := os.Stat(part); err != nil || st.Size() != int64(len(data)/2) {
		t.Errorf("partial download not kept for resuming: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "tinyzoo.onnx")); err == nil {
		t.Error("a cancelled download left a model file")
	}
}

func TestDefaultSourceAndModel(t *testing.T) {
	t.Setenv("DEEPSCOPE_MODEL", "")
	if m := DefaultModel(); m != assets.DemoSpec {
		t.Errorf("default model %q, want the embedded demo", m)
	}
	t.Setenv("DEEPSCOPE_MODEL", "/x/y.onnx")
	if m := DefaultModel(); m != "/x/y.onnx" {
		t.Errorf("default model %q, want $DEEPSCOPE_MODEL", m)
	}
	if s := DefaultSource("/x/y.onnx"); s != "webcam" {
		t.Errorf("source for a model file %q, want webcam", s)
	}
	want := "pattern"
	if camera.FashionMNISTAvailable("/usr/share/datasets/fashion-mnist") {
		want = camera.FashionMNISTSpec
	}
	if s := DefaultSource(assets.DemoSpec); s != want {
		t.Errorf("source for the demo %q, want %q", s, want)
	}
	if s := defaultSource(assets.DemoSpec, t.TempDir()); s != "pattern" {
		t.Errorf("source for the demo without Fashion-MNIST %q, want the pattern", s)
	}
	// The demo opens as a session: a 1x28x28 grey input, ten labels.
	sess, err := loadSession(assets.DemoSpec)
	if err != nil {
		t.Fatal(err)
	}
	if in := sess.m.Input().Shape; len(in) != 4 || in[1] != 1 || in[2] != 28 || len(sess.labels) != 10 || sess.labels[9] != "Ankle boot" {
		t.Errorf("demo session: input %v, labels %v", in, sess.labels)
	}
}
