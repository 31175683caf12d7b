package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file downloads catalog models into the user's cache directory and
// resolves the --model argument (a path, a downloaded catalog model or a
// model of the shared directory).

// ErrChecksum marks a download whose sha256 or size is not the catalog's.
var ErrChecksum = errors.New("checksum mismatch")

// CacheDir returns the directory downloaded models live in:
// os.UserCacheDir()/deepscope/models ($XDG_CACHE_HOME/deepscope/models, by
// default ~/.cache/deepscope/models).
func CacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for downloaded models: %w", err)
	}
	return filepath.Join(dir, "deepscope", "models"), nil
}

// Downloader fetches catalog models. The zero value downloads into
// CacheDir with http.DefaultClient, HTTPS only.
type Downloader struct {
	// Dir is the destination directory; CacheDir when empty.
	Dir string
	// Client makes the requests; http.DefaultClient when nil.
	Client *http.Client
	// InsecureHTTP allows plain http:// addresses (and redirects to them).
	InsecureHTTP bool
	// BaseURL, when set, replaces the catalog's base address (a mirror).
	BaseURL string
	// Retries is how many times an interrupted transfer resumes before
	// giving up; 0 means 3, a negative value none.
	Retries int
	// Progress, when set, is called as bytes arrive (done counts bytes
	// resumed from an earlier attempt) and once at the end.
	Progress func(done, total int64)
}

func (d *Downloader) dir() (string, error) {
	if d.Dir != "" {
		return d.Dir, nil
	}
	return CacheDir()
}

// Path returns where model z is (or would be) stored.
func (d *Downloader) Path(z ZooModel) (string, error) {
	dir, err := d.dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, z.FileName()), nil
}

// Get downloads model z unless a verified copy is already there, and
// writes its sidecar and labels next to it. It returns the model's path.
//
// The bytes go to NAME.onnx.part, which an interrupted download leaves
// behind and the next Get resumes with an HTTP Range request; only a file
// of the catalog's size and sha256 is renamed to NAME.onnx, so the cache
// never holds a partial or corrupt model. A checksum mismatch deletes the
// download. Cancelling ctx stops the transfer (the partial file is kept).
func (d *Downloader) Get(ctx context.Context, z ZooModel) (string, error) {
	dst, err := d.Path(z)
	if err != nil {
		return "", err
	}
	src := d.source(z)
	if err := d.checkScheme(src); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("cannot create the model directory: %w", err)
	}
	if ok, err := verified(dst, z); err != nil {
		return "", err
	} else if !ok {
		if err := d.fetch(ctx, z, src, dst); err != nil {
			return "", err
		}
	}
	dir := filepath.Dir(dst)
	if err := WriteFileAtomic(SidecarPath(dst), z.SidecarJSON()); err != nil {
		return "", err
	}
	if err := WriteFileAtomic(filepath.Join(dir, ImageNetLabelsFile), imagenetLabels); err != nil {
		return "", err
	}
	return dst, nil
}

// verified reports whether path holds model z (size and sha256). A file
// of the right size with the wrong content is removed.
func verified(path string, z ZooModel) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if st.Size() != z.Size {
		return false, nil
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return false, err
	}
	if sum != z.SHA256 {
		return false, os.Remove(path)
	}
	return true, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// source is the address z is downloaded from.
func (d *Downloader) source(z ZooModel) string {
	if d.BaseURL != "" {
		return strings.TrimSuffix(d.BaseURL, "/") + "/" + strings.TrimPrefix(z.Path, "/")
	}
	return z.URL()
}

// fetch downloads z from src into dst through dst.part, resuming as needed.
func (d *Downloader) fetch(ctx context.Context, z ZooModel, src, dst string) error {
	part := dst + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("cannot write the download: %w", err)
	}
	defer f.Close()
	// Hash what an earlier attempt left, then append to it.
	h := sha256.New()
	have, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("read %s: %w", part, err)
	}
	if have > z.Size {
		if have, err = restart(f, h); err != nil {
			return err
		}
	}
	retries := d.Retries
	if retries == 0 {
		retries = 3
	}
	for attempt := 0; ; attempt++ {
		if have < z.Size {
			have, err = d.transfer(ctx, src, f, h, have, z.Size)
		}
		if err == nil {
			break
		}
		var st statusError
		if ctx.Err() != nil || errors.As(err, &st) || errors.Is(err, ErrChecksum) || attempt >= retries {
			if errors.Is(err, ErrChecksum) {
				f.Close()
				os.Remove(part)
			}
			return fmt.Errorf("download %s: %w", z.Name, err)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != z.SHA256 {
		f.Close()
		os.Remove(part)
		return fmt.Errorf("download %s: %w: got sha256 %s, the catalog says %s; the downloaded file was deleted",
			z.Name, ErrChecksum, got, z.SHA256)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", part, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", part, err)
	}
	if err := os.Rename(part, dst); err != nil {
		return fmt.Errorf("download %s: %w", z.Name, err)
	}
	if d.Progress != nil {
		d.Progress(z.Size, z.Size)
	}
	return nil
}

// restart empties the partial file.
func restart(f *os.File, h hash.Hash) (int64, error) {
	h.Reset()
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	_, err := f.Seek(0, io.SeekStart)
	return 0, err
}

// statusError is an HTTP error status, not worth retrying.
type statusError struct {
	url    string
	status string
}

func (e statusError) Error() string { return fmt.Sprintf("%s: server said %s", e.url, e.status) }

func (d *Downloader) checkScheme(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad download address %q: %w", raw, err)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && d.InsecureHTTP:
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("refusing plain http address %s (HTTPS only; --insecure-http allows it)", raw)
	}
	return fmt.Errorf("unsupported download address %s (want https://)", raw)
}

func (d *Downloader) client() *http.Client {
	c := http.DefaultClient
	if d.Client != nil {
		c = d.Client
	}
	cc := *c
	prev := cc.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := d.checkScheme(req.URL.String()); err != nil {
			return err
		}
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}

// transfer requests src from byte have on and appends the body to f and h,
// returning the new length. A server that ignores the range restarts the
// file.
func (d *Downloader) transfer(ctx context.Context, src string, f *os.File, h hash.Hash, have, size int64) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return have, err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := d.client().Do(req)
	if err != nil {
		return have, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
			return have, fmt.Errorf("%s: server sent range %q, asked for bytes=%d-", src, resp.Header.Get("Content-Range"), have)
		}
	case resp.StatusCode == http.StatusOK:
		if have > 0 { // no range support: start over
			if have, err = restart(f, h); err != nil {
				return 0, err
			}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		// The partial file does not match the server's: start over.
		if _, err := restart(f, h); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%s: server refused to resume (%s)", src, resp.Status)
	default:
		return have, statusError{src, resp.Status}
	}
	if resp.ContentLength >= 0 && have+resp.ContentLength != size {
		if _, err := restart(f, h); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: the server has %d bytes, the catalog says %d", ErrChecksum, have+resp.ContentLength, size)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return have, err
	}
	buf := make([]byte, 256<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if have+int64(n) > size {
			return have, fmt.Errorf("%w: the server sent more than the catalog's %d bytes", ErrChecksum, size)
		}
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return have, fmt.Errorf("write %s: %w", f.Name(), err)
			}
			h.Write(buf[:n])
			have += int64(n)
			if d.Progress != nil {
				d.Progress(have, size)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return have, fmt.Errorf("transfer interrupted at %d of %d bytes: %w", have, size, rerr)
		}
	}
	if have != size {
		return have, fmt.Errorf("transfer interrupted at %d of %d bytes", have, size)
	}
	return have, nil
}

// rangeStart parses the first byte of "bytes START-END/TOTAL".
func rangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(start, 10, 64)
	return v, err == nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory renamed into place.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// SharedModelsDir returns $DEEPSCOPE_SHARED/models, or "" when the
// variable is not set.
func SharedModelsDir() string {
	if s := os.Getenv("DEEPSCOPE_SHARED"); s != "" {
		return filepath.Join(s, "models")
	}
	return ""
}

// ResolveModel turns a --model argument into a file path: an existing file
// is used as is; otherwise NAME is looked up as NAME.onnx (or NAME when it
// already ends in .onnx) in the download cache, then in
// $DEEPSCOPE_SHARED/models. A catalog model that is not downloaded yet is
// an error saying how to get it.
func ResolveModel(nameOrPath string) (string, error) {
	if nameOrPath == "" {
		return "", errors.New("no model given")
	}
	if st, err := os.Stat(nameOrPath); err == nil {
		if st.IsDir() {
			return "", fmt.Errorf("model %s is a directory, not an ONNX file", nameOrPath)
		}
		return nameOrPath, nil
	}
	file := nameOrPath
	if !strings.EqualFold(filepath.Ext(file), ".onnx") {
		file += ".onnx"
	}
	if !strings.ContainsRune(nameOrPath, os.PathSeparator) && !strings.ContainsRune(nameOrPath, '/') {
		var dirs []string
		if cache, err := CacheDir(); err == nil {
			dirs = append(dirs, cache)
		}
		if shared := SharedModelsDir(); shared != "" {
			dirs = append(dirs, shared)
		}
		z, inZoo := ZooLookup(strings.TrimSuffix(nameOrPath, filepath.Ext(file)))
		if inZoo {
			file = z.FileName()
		}
		for _, dir := range dirs {
			p := filepath.Join(dir, file)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
		if inZoo {
			return "", fmt.Errorf("model %s is in the catalog but not downloaded: run 'deepscope models get %s' (%.0f MB)",
				z.Name, z.Name, float64(z.Size)/1e6)
		}
		return "", fmt.Errorf("model %s: no such file, and no model of that name downloaded or in $DEEPSCOPE_SHARED/models (see 'deepscope models list')", nameOrPath)
	}
	return "", fmt.Errorf("model %s: no such file", nameOrPath)
}

// LocalModel is a model file found on disk.
type LocalModel struct {
	Name   string // file name without .onnx
	Path   string
	Source string // "cache" or "shared"
}

// LocalModels lists the models in the download cache and in
// $DEEPSCOPE_SHARED/models, sorted by name within each source. Missing
// directories are skipped.
func LocalModels() []LocalModel {
	var out []LocalModel
	add := func(dir, source string) {
		if dir == "" {
			return
		}
		paths, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
		sort.Strings(paths)
		for _, p := range paths {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				out = append(out, LocalModel{Name: strings.TrimSuffix(filepath.Base(p), ".onnx"), Path: p, Source: source})
			}
		}
	}
	if cache, err := CacheDir(); err == nil {
		add(cache, "cache")
	}
	add(SharedModelsDir(), "shared")
	return out
}

// ProgressBar draws a one-line terminal progress bar on w:
//
//	squeezenet1.1  [=========>          ]  48%   2.4/4.96 MB  1.2 MB/s
//
// redrawn at most every Interval (100 ms by default) and finished with a
// newline by Done.
type ProgressBar struct {
	W        io.Writer
	Label    string
	Interval time.Duration
	start    time.Time
	first    int64 // bytes done at the first update (resumed earlier)
	last     time.Time
	drawn    bool
}

// Update redraws the bar for done of total bytes (throttled).
func (p *ProgressBar) Update(done, total int64) {
	now := time.Now()
	if p.start.IsZero() {
		p.start, p.first = now, done
	}
	iv := p.Interval
	if iv == 0 {
		iv = 100 * time.Millisecond
	}
	if p.drawn && now.Sub(p.last) < iv && done < total {
		return
	}
	p.last, p.drawn = now, true
	fmt.Fprintf(p.W, "\r%s", p.line(done, total, done-p.first, now.Sub(p.start)))
}

// Done ends the bar's line.
func (p *ProgressBar) Done() {
	if p.drawn {
		fmt.Fprintln(p.W)
	}
}

func (p *ProgressBar) line(done, total, fetched int64, elapsed time.Duration) string {
	const width = 24
	frac := 0.0
	if total > 0 {
		frac = min(1, float64(done)/float64(total))
	}
	fill := int(frac * width)
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	rate := ""
	if s := elapsed.Seconds(); s > 0.2 {
		rate = fmt.Sprintf("  %.1f MB/s", float64(fetched)/1e6/s)
	}
	return fmt.Sprintf("%s  [%s] %3.0f%%  %s/%s MB%s ", p.Label, bar, 100*frac, mb(done), mb(total), rate)
}

func mb(n int64) string { return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) }
