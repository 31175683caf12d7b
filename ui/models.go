package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/deepscope/deepscope/assets"
	"github.com/deepscope/deepscope/camera"
	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/model/fashion"
)

// DefaultSource returns the source the explorer starts on when none is
// given: for the embedded demo network the Fashion-MNIST test images it
// was made for (the test pattern when Debian's dataset-fashion-mnist is
// not installed), else the webcam.
func DefaultSource(modelSpec string) string { return defaultSource(modelSpec, fashion.DataDir) }

// defaultSource is DefaultSource with the Fashion-MNIST directory given.
func defaultSource(modelSpec, fashionDir string) string {
	if !assets.IsDemo(modelSpec) {
		return "webcam"
	}
	if camera.FashionMNISTAvailable(fashionDir) {
		return camera.FashionMNISTSpec
	}
	return "pattern"
}

// Where a model of the models dialog comes from.
const (
	whereEmbedded = "embedded"
	whereCache    = "downloaded"
	whereShared   = "shared"
	whereCatalog  = "catalog"
)

// modelEntry is one line of the models dialog.
type modelEntry struct {
	Name  string
	Where string // whereEmbedded, whereCache, whereShared or whereCatalog
	// Spec is what loadSession opens: a path, or assets.DemoSpec; "" for
	// a catalog model not downloaded yet.
	Spec string
	// Zoo is the catalog entry of a model not downloaded yet.
	Zoo *model.ZooModel
	// Partial: an interrupted download is waiting to be resumed.
	Partial bool
}

// String is the entry as the dialog lists it.
func (e modelEntry) String() string {
	switch {
	case e.Where == whereEmbedded:
		return e.Name + " — embedded demo (Fashion-MNIST, 28x28 grey)"
	case e.Zoo != nil && e.Partial:
		return fmt.Sprintf("%s — catalog, partly downloaded (%.1f MB, Download resumes)", e.Name, float64(e.Zoo.Size)/1e6)
	case e.Zoo != nil:
		return fmt.Sprintf("%s — catalog, not downloaded (%.1f MB)", e.Name, float64(e.Zoo.Size)/1e6)
	}
	return e.Name + " — " + e.Where + ": " + e.Spec
}

// modelEntries lists the models a user can open: the embedded demo, the
// models on disk (downloaded, then shared), then the catalog models not
// downloaded yet. partial reports whether a catalog model has a partial
// download (nil: none has).
func modelEntries(local []model.LocalModel, zoo []model.ZooModel, partial func(model.ZooModel) bool) []modelEntry {
	out := []modelEntry{{Name: assets.DemoName, Where: whereEmbedded, Spec: assets.DemoSpec}}
	cached := map[string]bool{}
	for _, m := range local {
		where := whereShared
		if m.Source == "cache" {
			where = whereCache
			cached[strings.ToLower(m.Name)] = true
		}
		out = append(out, modelEntry{Name: m.Name, Where: where, Spec: m.Path})
	}
	for _, z := range zoo {
		if cached[strings.ToLower(z.Name)] {
			continue
		}
		out = append(out, modelEntry{Name: z.Name, Where: whereCatalog, Zoo: &z, Partial: partial != nil && partial(z)})
	}
	return out
}

// modelsDialog is the File › Models… dialog.
type modelsDialog struct {
	a *App
	// dl is the downloader's configuration (tests point it at a local
	// server); Progress is set per download.
	dl model.Downloader

	entries  []modelEntry
	selected int
	list     *widget.List
	openBtn  *widget.Button
	getBtn   *widget.Button
	dlg      dialog.Dialog
}

// newModelsDialog builds the dialog's content for the models on disk and
// in the catalog.
func (a *App) newModelsDialog(dl model.Downloader) *modelsDialog {
	md := &modelsDialog{a: a, dl: dl, selected: -1}
	md.reload()
	md.list = widget.NewList(
		func() int { return len(md.entries) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("model")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(md.entries) {
				o.(*widget.Label).SetText(md.entries[id].String())
			}
		})
	md.list.OnSelected = func(id widget.ListItemID) { md.selected = id; md.updateButtons() }
	md.list.OnUnselected = func(widget.ListItemID) { md.selected = -1; md.updateButtons() }
	md.openBtn = widget.NewButton("Open", md.openSelected)
	md.getBtn = widget.NewButton("Download", md.downloadSelected)
	md.updateButtons()
	return md
}

// reload lists the models again (after a download).
func (md *modelsDialog) reload() {
	var dir string
	if p, err := md.dl.Path(model.ZooModel{Name: "x"}); err == nil {
		dir = filepath.Dir(p)
	}
	local := model.LocalModels() // the cache directory and $DEEPSCOPE_SHARED/models
	md.entries = modelEntries(local, model.Zoo(), func(z model.ZooModel) bool {
		if dir == "" {
			return false
		}
		_, err := os.Stat(filepath.Join(dir, z.FileName()+".part"))
		return err == nil
	})
	if md.selected >= len(md.entries) {
		md.selected = -1
	}
}

// current returns the selected entry.
func (md *modelsDialog) current() (modelEntry, bool) {
	if md.selected < 0 || md.selected >= len(md.entries) {
		return modelEntry{}, false
	}
	return md.entries[md.selected], true
}

func (md *modelsDialog) updateButtons() {
	e, ok := md.current()
	if ok && e.Spec != "" {
		md.openBtn.Enable()
	} else {
		md.openBtn.Disable()
	}
	if ok && e.Zoo != nil {
		md.getBtn.Enable()
	} else {
		md.getBtn.Disable()
	}
}

// content is the dialog's body: a hint, the list and the buttons.
func (md *modelsDialog) content() fyne.CanvasObject {
	hint := widget.NewLabel("Open a model, or download one from the ONNX Model Zoo catalog.\nDownloads go to " + md.dir() + ".")
	hint.Truncation = fyne.TextTruncateEllipsis
	buttons := container.NewHBox(md.openBtn, md.getBtn)
	return container.NewBorder(hint, buttons, nil, nil, md.list)
}

// dir is where downloads go, for people.
func (md *modelsDialog) dir() string {
	p, err := md.dl.Path(model.ZooModel{Name: "x"})
	if err != nil {
		return "the cache directory"
	}
	return filepath.Dir(p)
}

// show opens the dialog.
func (md *modelsDialog) show() {
	md.dlg = dialog.NewCustom("Models", "Close", md.content(), md.a.win)
	md.dlg.Resize(fyne.NewSize(720, 480))
	md.dlg.Show()
}

func (md *modelsDialog) hide() {
	if md.dlg != nil {
		md.dlg.Hide()
	}
}

// openSelected opens the selected model and closes the dialog.
func (md *modelsDialog) openSelected() {
	e, ok := md.current()
	if !ok || e.Spec == "" {
		return
	}
	md.hide()
	md.a.loadModelAsync(e.Spec)
}

// downloadSelected downloads the selected catalog model, then opens it.
func (md *modelsDialog) downloadSelected() {
	e, ok := md.current()
	if !ok || e.Zoo == nil {
		return
	}
	md.a.downloadModel(md.dl, *e.Zoo, func(path string, err error) {
		md.reload()
		md.list.Refresh()
		md.updateButtons()
		if err == nil {
			md.hide()
			md.a.loadModelAsync(path)
		}
	})
}

// modelsMenuDialog opens the models dialog (File › Models…).
func (a *App) modelsMenuDialog() { a.newModelsDialog(model.Downloader{}).show() }

// download is one running model download with its progress dialog.
type download struct {
	bar    *widget.ProgressBar
	status *widget.Label
	dlg    dialog.Dialog
	cancel context.CancelFunc
	done   chan struct{} // closed when the download has ended
}

// downloadModel downloads catalog model z in the background with a
// progress dialog whose Cancel button stops it (the partial file stays,
// the next download resumes it). then is called on the UI goroutine with
// the model's path or the error; a failure other than a cancellation is
// also shown in a dialog.
func (a *App) downloadModel(dl model.Downloader, z model.ZooModel, then func(path string, err error)) *download {
	ctx, cancel := context.WithCancel(a.ctx)
	d := &download{bar: widget.NewProgressBar(), cancel: cancel, done: make(chan struct{})}
	d.status = widget.NewLabel(fmt.Sprintf("%s: %.1f MB", z.Name, float64(z.Size)/1e6))
	d.dlg = dialog.NewCustom("Downloading "+z.Name, "Cancel", container.NewVBox(d.status, d.bar), a.win)
	d.dlg.SetOnClosed(cancel)
	d.dlg.Resize(fyne.NewSize(480, 160))
	d.dlg.Show()
	a.logf("downloading %s (%.1f MB)…", z.Name, float64(z.Size)/1e6)

	var mu sync.Mutex
	last := -1
	dl.Progress = func(done, total int64) {
		if total <= 0 {
			return
		}
		permille := int(done * 1000 / total)
		mu.Lock()
		changed := permille != last
		last = permille
		mu.Unlock()
		if changed { // at most a thousand updates
			fyne.Do(func() {
				d.bar.SetValue(float64(permille) / 1000)
				d.status.SetText(fmt.Sprintf("%s: %.1f of %.1f MB", z.Name, float64(done)/1e6, float64(total)/1e6))
			})
		}
	}
	go func() {
		path, err := dl.Get(ctx, z)
		cancelled := err != nil && ctx.Err() != nil
		switch {
		case cancelled:
			a.logf("download of %s cancelled; downloading it again resumes", z.Name)
		case err != nil:
			a.logf("download of %s failed: %v", z.Name, err)
		default:
			a.logf("downloaded %s to %s", z.Name, path)
		}
		fyne.Do(func() {
			d.dlg.Hide() // (its cancel is harmless now)
			if err != nil && !cancelled {
				a.showMessage("Cannot download "+z.Name, err.Error())
			}
			if cancelled {
				err = fmt.Errorf("download %s: %w", z.Name, context.Canceled)
			}
			if then != nil {
				then(path, err)
			}
			close(d.done)
		})
		cancel()
	}()
	return d
}
