package model

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// zooServer serves one model file over HTTPS (with Range support through
// http.ServeContent) and records the Range header of every request. serve,
// when set, handles request n (0-based) instead.
type zooServer struct {
	*httptest.Server
	content []byte
	mu      sync.Mutex
	ranges  []string
	serve   func(n int, w http.ResponseWriter, r *http.Request) bool
}

func newZooServer(t *testing.T, size int) *zooServer {
	content := make([]byte, size)
	rand.New(rand.NewSource(int64(size))).Read(content)
	s := &zooServer{content: content}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := len(s.ranges)
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		serve := s.serve
		s.mu.Unlock()
		if serve != nil && serve(n, w, r) {
			return
		}
		http.ServeContent(w, r, "m.onnx", time.Time{}, bytes.NewReader(s.content))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *zooServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

// model returns a catalog entry for the served content.
func (s *zooServer) model() ZooModel {
	sum := sha256.Sum256(s.content)
	return ZooModel{
		Name: "testnet", Path: "nets/testnet-7.onnx", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(s.content)),
		Color: RGB, Scale: 255, Mean: []float64{0.5}, Std: []float64{0.25}, BaseURL: s.URL + "/zoo/",
	}
}

func (s *zooServer) downloader(dir string) *Downloader {
	return &Downloader{Dir: dir, Client: s.Client()}
}

// cut sends the first n bytes of the response to a request for the whole
// file, then drops the connection.
func (s *zooServer) cut(n int, w http.ResponseWriter) {
	w.Header().Set("Content-Length", fmt.Sprint(len(s.content)))
	w.WriteHeader(http.StatusOK)
	w.Write(s.content[:n])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// checkDownloaded checks the model file, its sidecar and labels, and that
// no partial file is left.
func checkDownloaded(t *testing.T, s *zooServer, dir, path string) {
	t.Helper()
	if want := filepath.Join(dir, "testnet.onnx"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, s.content) {
		t.Fatalf("downloaded file differs (%d bytes, err %v)", len(got), err)
	}
	if _, err := os.Stat(path + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file left behind: %v", err)
	}
	sc, err := LoadSidecar(path)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Path == "" || sc.Input.Mean[0] != 0.5 || sc.Input.Std[0] != 0.25 || len(sc.LabelNames) != 1000 {
		t.Errorf("sidecar %+v with %d labels", sc.Input, len(sc.LabelNames))
	}
}

func TestDownload(t *testing.T) {
	s := newZooServer(t, 300_000)
	dir := filepath.Join(t.TempDir(), "cache", "models")
	d := s.downloader(dir)
	var calls int
	var last int64
	d.Progress = func(done, total int64) {
		calls++
		if total != 300_000 || done < last || done > total {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	}
	path, err := d.Get(context.Background(), s.model())
	if err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, s, dir, path)
	if calls < 2 || last != 300_000 {
		t.Errorf("%d progress calls, last %d", calls, last)
	}
	if r := s.requests(); len(r) != 1 || r[0] != "" {
		t.Errorf("requests %q", r)
	}
	// A verified copy is not fetched again.
	d.Progress = nil
	if _, err := d.Get(context.Background(), s.model()); err != nil {
		t.Fatal(err)
	}
	if r := s.requests(); len(r) != 1 {
		t.Errorf("downloaded again: requests %q", r)
	}
	// A corrupted copy is replaced.
	os.WriteFile(path, make([]byte, 300_000), 0o644)
	if _, err := d.Get(context.Background(), s.model()); err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, s, dir, path)
}

func TestDownloadResumesAfterCutConnection(t *testing.T) {
	s := newZooServer(t, 400_000)
	s.serve = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 0 {
			s.cut(150_000, w)
		}
		return false
	}
	dir := t.TempDir()
	path, err := s.downloader(dir).Get(context.Background(), s.model())
	if err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, s, dir, path)
	r := s.requests()
	if len(r) != 2 || r[0] != "" || !strings.HasPrefix(r[1], "bytes=") || r[1] == "bytes=0-" {
		t.Errorf("requests %q, want a whole-file request then a resumed range", r)
	}
}

func TestDownloadResumesAcrossRuns(t *testing.T) {
	s := newZooServer(t, 200_000)
	s.serve = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 0 {
			s.cut(120_000, w)
		}
		return false
	}
	dir := t.TempDir()
	d := s.downloader(dir)
	d.Retries = -1 // give up at the first cut
	_, err := d.Get(context.Background(), s.model())
	if err == nil || !strings.Contains(err.Error(), "interrupted at") {
		t.Fatalf("error %v, want an interrupted transfer", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "testnet.onnx")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a partial model is in the cache under its final name")
	}
	st, err := os.Stat(filepath.Join(dir, "testnet.onnx.part"))
	if err != nil || st.Size() == 0 || st.Size() >= 200_000 {
		t.Fatalf("partial file: %v, %v", st, err)
	}
	have := st.Size()
	// The next run asks for the rest only.
	var first int64 = -1
	d.Progress = func(done, total int64) {
		if first < 0 {
			first = done
		}
	}
	path, err := d.Get(context.Background(), s.model())
	if err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, s, dir, path)
	if r := s.requests(); len(r) != 2 || r[1] != fmt.Sprintf("bytes=%d-", have) {
		t.Errorf("requests %q, want the second to resume at %d", r, have)
	}
	if first <= have {
		t.Errorf("first progress %d, want more than the %d resumed bytes", first, have)
	}
}

func TestDownloadServerIgnoresRange(t *testing.T) {
	s := newZooServer(t, 100_000)
	s.serve = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 0 {
			s.cut(30_000, w)
		}
		w.Write(s.content) // 200 with the whole file, whatever the Range
		return true
	}
	dir := t.TempDir()
	path, err := s.downloader(dir).Get(context.Background(), s.model())
	if err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, s, dir, path)
}

func TestDownloadChecksumMismatch(t *testing.T) {
	s := newZooServer(t, 50_000)
	z := s.model()
	s.content[1234] ^= 1 // the server's copy differs from the catalog's
	dir := t.TempDir()
	_, err := s.downloader(dir).Get(context.Background(), z)
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "deleted") || !strings.Contains(err.Error(), z.SHA256) {
		t.Fatalf("error %v, want a checksum mismatch saying the file was deleted", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left in the cache: %v", entries)
	}
	if r := s.requests(); len(r) != 1 {
		t.Errorf("a mismatch was retried: %q", r)
	}
}

func TestDownloadSizeMismatch(t *testing.T) {
	s := newZooServer(t, 50_000)
	z := s.model()
	for _, size := range []int64{z.Size - 10, z.Size + 10} {
		zz := z
		zz.Size = size
		dir := t.TempDir()
		_, err := s.downloader(dir).Get(context.Background(), zz)
		if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "50000 bytes") {
			t.Errorf("size %d: error %v", size, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("size %d: files left: %v", size, entries)
		}
	}
}

func TestDownloadServerError(t *testing.T) {
	for _, code := range []int{http.StatusInternalServerError, http.StatusNotFound} {
		s := newZooServer(t, 10_000)
		s.serve = func(n int, w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "nope", code)
			return true
		}
		dir := t.TempDir()
		_, err := s.downloader(dir).Get(context.Background(), s.model())
		if err == nil || !strings.Contains(err.Error(), fmt.Sprint(code)) || !strings.Contains(err.Error(), "/zoo/nets/testnet-7.onnx") {
			t.Errorf("%d: error %v", code, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "testnet.onnx")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%d: model file exists", code)
		}
		if r := s.requests(); len(r) != 1 {
			t.Errorf("%d: requests %q (an error status is not retried)", code, r)
		}
	}
}

func TestDownloadNotWritable(t *testing.T) {
	s := newZooServer(t, 1000)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	_, err := s.downloader(filepath.Join(file, "models")).Get(context.Background(), s.model())
	if err == nil || !strings.Contains(err.Error(), "cannot create the model directory") {
		t.Errorf("directory under a file: %v", err)
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: permission bits do not apply, read-only directory case skipped")
		return
	}
	ro := t.TempDir()
	os.Chmod(ro, 0o555)
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	_, err = s.downloader(ro).Get(context.Background(), s.model())
	if err == nil || !strings.Contains(err.Error(), "cannot write the download") {
		t.Errorf("read-only directory: %v", err)
	}
	if len(s.requests()) != 0 {
		t.Error("downloaded although nothing could be written")
	}
}

func TestDownloadHTTPSOnly(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("x"))
	}))
	defer plain.Close()
	sum := sha256.Sum256([]byte("x"))
	z := ZooModel{Name: "x", Path: "x.onnx", SHA256: hex.EncodeToString(sum[:]), Size: 1, Color: RGB, Scale: 1,
		Mean: []float64{0}, Std: []float64{1}, BaseURL: plain.URL + "/"}
	d := &Downloader{Dir: filepath.Join(t.TempDir(), "models")}
	if _, err := d.Get(context.Background(), z); err == nil || !strings.Contains(err.Error(), "--insecure-http") {
		t.Errorf("plain http: %v", err)
	}
	if _, err := os.Stat(d.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused download created %s", d.Dir)
	}
	d.InsecureHTTP = true
	if _, err := d.Get(context.Background(), z); err != nil {
		t.Errorf("plain http allowed: %v", err)
	}
	// An https address redirecting to plain http is refused too.
	s := newZooServer(t, 10)
	s.serve = func(n int, w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, plain.URL+"/x.onnx", http.StatusFound)
		return true
	}
	_, err := s.downloader(t.TempDir()).Get(context.Background(), s.model())
	if err == nil || !strings.Contains(err.Error(), "refusing plain http") {
		t.Errorf("redirect to http: %v", err)
	}
	// A mirror replaces the catalog's base address.
	d = s.downloader(t.TempDir())
	d.BaseURL = "ftp://mirror.example/"
	if _, err := d.Get(context.Background(), s.model()); err == nil || !strings.Contains(err.Error(), "ftp://mirror.example/nets/testnet-7.onnx") {
		t.Errorf("ftp mirror: %v", err)
	}
}

func TestDownloadCancel(t *testing.T) {
	s := newZooServer(t, 100_000)
	release := make(chan struct{})
	s.serve = func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Length", "100000")
		w.Write(s.content[:40_000])
		w.(http.Flusher).Flush()
		<-release // stall until the test ends
		return true
	}
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	d := s.downloader(t.TempDir())
	d.Progress = func(done, total int64) {
		if done >= 40_000 {
			cancel()
		}
	}
	done := make(chan error)
	go func() {
		_, err := d.Get(ctx, s.model())
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get did not return after cancellation")
	}
	if st, err := os.Stat(filepath.Join(d.Dir, "testnet.onnx.part")); err != nil || st.Size() != 40_000 {
		t.Errorf("partial file after cancel: %v %v", st, err)
	}
	if r := s.requests(); len(r) != 1 {
		t.Errorf("requests after cancel %q", r)
	}
}

func TestResolveModel(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", t.TempDir())
	shared := t.TempDir()
	t.Setenv("DEEPSCOPE_SHARED", shared)
	models := filepath.Join(cache, "deepscope", "models")
	os.MkdirAll(models, 0o755)
	os.MkdirAll(filepath.Join(shared, "models"), 0o755)
	write := func(p string) string {
		os.WriteFile(p, []byte("onnx"), 0o644)
		return p
	}
	file := write(filepath.Join(t.TempDir(), "my.onnx"))
	sq := write(filepath.Join(models, "squeezenet1.1.onnx"))
	tiny := write(filepath.Join(shared, "models", "tiny_darknet.onnx"))
	mine := write(filepath.Join(models, "mine.onnx"))

	for _, c := range []struct{ arg, want string }{
		{file, file}, {"squeezenet1.1", sq}, {"SqueezeNet1.1", sq}, {"squeezenet1.1.onnx", sq},
		{"tiny_darknet", tiny}, {"tiny_darknet.onnx", tiny}, {"mine", mine},
	} {
		got, err := ResolveModel(c.arg)
		if err != nil || got != c.want {
			t.Errorf("ResolveModel(%q) = %q, %v; want %q", c.arg, got, err, c.want)
		}
	}
	for _, c := range []struct{ arg, want string }{
		{"resnet18-v1", "run 'deepscope models get resnet18-v1' (47 MB)"},
		{"nothing", "see 'deepscope models list'"},
		{"some/dir/x.onnx", "some/dir/x.onnx: no such file"},
		{models, "is a directory"},
		{"", "no model given"},
	} {
		if _, err := ResolveModel(c.arg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ResolveModel(%q) error %v, want %q", c.arg, err, c.want)
		}
	}
	got := LocalModels()
	want := []LocalModel{{"mine", mine, "cache"}, {"squeezenet1.1", sq, "cache"}, {"tiny_darknet", tiny, "shared"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("LocalModels = %v, want %v", got, want)
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := &ProgressBar{W: &b, Label: "net", Interval: time.Hour}
	p.Update(0, 4_000_000)
	p.Update(1_000_000, 4_000_000) // throttled
	p.Update(4_000_000, 4_000_000) // the end is always drawn
	p.Done()
	lines := strings.Split(b.String(), "\r")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "net  [>                       ]   0%  0.0/4.0 MB") ||
		!strings.HasPrefix(lines[2], "net  [========================] 100%  4.0/4.0 MB") || !strings.HasSuffix(b.String(), "\n") {
		t.Errorf("bar output %q", b.String())
	}
	half := p.line(2_000_000, 4_000_000, 1_000_000, time.Second)
	if !strings.Contains(half, "[============>           ]  50%  2.0/4.0 MB  1.0 MB/s") {
		t.Errorf("half line %q", half)
	}
}
