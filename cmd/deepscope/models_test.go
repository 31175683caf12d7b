package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// models runs `deepscope models ARGS` in-process.
func models(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = cmdModels(args, &o, &e)
	return code, o.String(), e.String()
}

// testCache points the user cache directory at a new temporary one and
// returns the models directory inside it.
func testCache(t *testing.T) string {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("DEEPSCOPE_SHARED", "")
	return filepath.Join(cache, "deepscope", "models")
}

func TestModelsList(t *testing.T) {
	dir := testCache(t)
	code, out, errOut := models("list")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"NAME", "DOWNLOADED", "squeezenet1.1", "5.0 MB", "RGB (x/255-[0.485,0.456,0.406])/[0.229,0.224,0.225]",
		"googlenet", "BGR (x/1-[103.939,116.779,123.68])/[1,1,1]", "Downloads go to " + dir,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "yes") {
		t.Errorf("a model is listed as downloaded in an empty cache:\n%s", out)
	}
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "resnet18-v1.onnx.part"), []byte("x"), 0o644)
	f, _ := os.Create(filepath.Join(dir, "squeezenet1.1.onnx"))
	f.Truncate(4956208)
	f.Close()
	_, out, _ = models("list")
	if !regexpLine(out, "squeezenet1.1 ", " yes") || !regexpLine(out, "resnet18-v1 ", "partly") || !regexpLine(out, "squeezenet1.0 ", " no") {
		t.Errorf("download status not shown:\n%s", out)
	}
}

// regexpLine reports whether a line of out starts with prefix and
// contains sub.
func regexpLine(out, prefix, sub string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestModelsUsage(t *testing.T) {
	testCache(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "want a subcommand: list or get"},
		{[]string{"fetch"}, `unknown subcommand "fetch"`},
		{[]string{"get"}, "give the NAME of a model"},
		{[]string{"get", "nosuchnet"}, `"nosuchnet" is not in the catalog`},
		{[]string{"list", "extra"}, `unexpected argument "extra"`},
		{[]string{"get", "--catalog", "/nonexistent.tsv", "x"}, "/nonexistent.tsv"},
		{[]string{"get", "--bogus", "x"}, "flag provided but not defined: -bogus"},
	} {
		code, _, errOut := models(c.args...)
		lastLine := errOut[strings.LastIndex(strings.TrimSuffix(errOut, "\n"), "\n")+1:]
		wantUsageError(t, code, lastLine, c.want)
	}
	code, out, _ := models("-h")
	if code != 0 || !strings.Contains(out, "deepscope models get [--insecure-http]") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}

// TestModelsGet downloads from a local mirror with a catalog of its own:
// the model, its sidecar and labels land in the cache, a progress bar is
// drawn, and the model is then found by name.
func TestModelsGet(t *testing.T) {
	dir := testCache(t)
	content := bytes.Repeat([]byte("deepscope"), 50_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/mirror/nets/good.onnx":
			http.ServeContent(w, r, "good.onnx", time.Time{}, bytes.NewReader(content))
		case "/mirror/nets/bad.onnx":
			w.Write(bytes.ToUpper(content)) // right size, wrong bytes
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	sum := sha256.Sum256(content)
	cat := filepath.Join(t.TempDir(), "catalog.tsv")
	os.WriteFile(cat, []byte(fmt.Sprintf("# url = https://example.invalid/<path>\n"+
		"name\tpath\tsha256\tbytes\tcolor\tscale\tmean\tstd\n"+
		"good\tnets/good.onnx\t%[1]s\t%[2]d\tRGB\t255\t0.5\t0.25\n"+
		"bad\tnets/bad.onnx\t%[1]s\t%[2]d\tBGR\t1\t104,117,123\t1\n", hex.EncodeToString(sum[:]), len(content))), 0o644)

	// Plain http needs --insecure-http.
	code, _, errOut := models("get", "--catalog", cat, "--mirror", srv.URL+"/mirror", "good")
	if code != 2 || !strings.Contains(errOut, "--insecure-http") {
		t.Errorf("plain http without --insecure-http: exit %d, %q", code, errOut)
	}

	code, out, errOut := models("get", "--catalog", cat, "--mirror", srv.URL+"/mirror", "--insecure-http", "good")
	path := filepath.Join(dir, "good.onnx")
	if code != 0 || out != path+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "good  [========================] 100%  0.5/0.5 MB") {
		t.Errorf("no finished progress bar on stderr: %q", errOut)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Error("downloaded content differs")
	}
	sidecar, _ := os.ReadFile(filepath.Join(dir, "good.json"))
	if !strings.Contains(string(sidecar), `"labels": "imagenet_labels.txt"`) || !strings.Contains(string(sidecar), `"mean": [0.5]`) {
		t.Errorf("sidecar %s", sidecar)
	}
	if _, err := os.Stat(filepath.Join(dir, "imagenet_labels.txt")); err != nil {
		t.Error(err)
	}
	// list shows it.
	if _, out, _ := models("list", "--catalog", cat); !regexpLine(out, "good ", "yes") {
		t.Errorf("list after get:\n%s", out)
	}

	// A checksum mismatch deletes the file and says so.
	code, _, errOut = models("get", "--catalog", cat, "--mirror", srv.URL+"/mirror", "--insecure-http", "bad")
	if code != 2 || !strings.Contains(errOut, "checksum mismatch") || !strings.Contains(errOut, "deleted") {
		t.Errorf("bad download: exit %d, %q", code, errOut)
	}
	for _, f := range []string{"bad.onnx", "bad.onnx.part"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s left in the cache", f)
		}
	}
	// A server error names the status.
	os.WriteFile(cat, []byte(fmt.Sprintf("gone\tnets/gone.onnx\t%s\t10\tRGB\t255\t0\t1\n", hex.EncodeToString(sum[:]))), 0o644)
	code, _, errOut = models("get", "--catalog", cat, "--mirror", srv.URL+"/mirror", "--insecure-http", "gone")
	if code != 2 || !strings.Contains(errOut, "404 Not Found") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
}
