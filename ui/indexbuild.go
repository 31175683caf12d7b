package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/deepscope/deepscope/vis/index"
)

// The File ▸ Index menu: open an index for the inspector's top-9, or build
// one from a folder of images (vis/index.Build in the background, with a
// progress dialog that can cancel it or let it run on in the status bar),
// into a folder the user chooses or the cache, then open it.

// indexSlot is the job slot of an index build.
const indexSlot = "index"

// Layer choices of a build.
const (
	layersShown = "the activation layers the grid shows"
	layersConv  = "every Conv layer"
	layersCur   = "the selected layer only"
)

// indexMenuItem is File ▸ Index.
func (a *App) indexMenuItem() *fyne.MenuItem {
	it := fyne.NewMenuItem("Index", nil)
	it.ChildMenu = fyne.NewMenu("",
		fyne.NewMenuItem("Open index…", a.openIndexDialog),
		fyne.NewMenuItem("Build index from folder…", a.buildIndexDialog),
		fyne.NewMenuItem("Close index", a.closeIndex),
	)
	return it
}

// openIndexDialog asks for an index folder and opens it.
func (a *App) openIndexDialog() {
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil {
			a.showError(err)
			return
		}
		if l == nil {
			return
		}
		if err := a.openIndex(l.Path()); err != nil {
			a.showMessage("Cannot open the index", err.Error())
			return
		}
		a.tabs.selectTab(tabTop9)
	}, a.win)
	if l := a.startDir(); l != nil {
		d.SetLocation(l)
	}
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// indexLayers returns the layers a build indexes for a choice (nil: the
// index's default, every Conv layer).
func indexLayers(st State, choice string) []string {
	switch choice {
	case layersCur:
		if l := st.Current(); l.Name != "" {
			return []string{l.Name}
		}
	case layersShown:
		var out []string
		for _, l := range st.Layers {
			if isActivation(l.Op) && !l.FC() {
				out = append(out, l.Name)
			}
		}
		return out
	}
	return nil
}

// defaultIndexDir is where a build goes unless the user says otherwise:
// the user's cache, one folder per model, image folder and layers.
func defaultIndexDir(modelName, src string, layers []string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	abs, _ := filepath.Abs(src)
	sum := sha256.Sum256([]byte(abs + "\x00" + strings.Join(layers, ",")))
	name := fmt.Sprintf("%s-%s-%s", modelName, filepath.Base(abs), hex.EncodeToString(sum[:4]))
	return filepath.Join(base, "deepscope", "index", name)
}

// buildIndexDialog asks for a folder of images, then where to write the
// index and which layers, and starts the build.
func (a *App) buildIndexDialog() {
	a.mu.Lock()
	sess := a.sess
	a.mu.Unlock()
	if sess == nil {
		a.showMessage("No model", "Open a model first: the index is of its units.")
		return
	}
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil {
			a.showError(err)
			return
		}
		if l != nil {
			a.buildIndexOptions(l.Path())
		}
	}, a.win)
	d.SetTitleText("Folder of images to index")
	if l := a.startDir(); l != nil {
		d.SetLocation(l)
	}
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// buildIndexOptions asks where the index of src goes and which layers.
func (a *App) buildIndexOptions(src string) {
	a.mu.Lock()
	sess, st := a.sess, a.st
	a.mu.Unlock()
	if sess == nil {
		return
	}
	layers := widget.NewSelect([]string{layersShown, layersConv, layersCur}, nil)
	layers.SetSelected(layersShown)
	out := widget.NewEntry()
	out.SetText(defaultIndexDir(sess.m.Name, src, indexLayers(st, layersShown)))
	layers.OnChanged = func(c string) { out.SetText(defaultIndexDir(sess.m.Name, src, indexLayers(st, c))) }
	choose := widget.NewButton("Choose…", func() {
		d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
			if err == nil && l != nil {
				out.SetText(filepath.Join(l.Path(), filepath.Base(src)+"-index"))
			}
		}, a.win)
		d.Resize(fyne.NewSize(900, 600))
		d.Show()
	})
	form := []*widget.FormItem{
		widget.NewFormItem("Images", widget.NewLabel(src)),
		widget.NewFormItem("Layers", layers),
		widget.NewFormItem("Index folder", container.NewBorder(nil, nil, nil, choose, out)),
	}
	dlg := dialog.NewForm("Build an index", "Build", "Cancel", form, func(ok bool) {
		if !ok {
			return
		}
		a.startIndexBuild(src, strings.TrimSpace(out.Text), indexLayers(st, layers.Selected))
	}, a.win)
	dlg.Resize(fyne.NewSize(760, 260))
	dlg.Show()
}

// indexBuild is the state of a running build, for its dialog.
type indexBuild struct {
	mu       sync.Mutex
	progress index.Progress
	done     bool
	err      error
}

// startIndexBuild indexes the images in src into out in the background,
// then opens the index. The progress dialog (not in test mode) shows the
// phase, the count and the time left; Cancel stops the build (a rerun
// continues it), Hide leaves it running with its progress in the status
// bar.
func (a *App) startIndexBuild(src, out string, layers []string) *Job {
	a.mu.Lock()
	sess := a.sess
	a.mu.Unlock()
	if sess == nil || out == "" {
		return nil
	}
	b := &indexBuild{}
	var pd *buildDialog
	if !a.sync {
		pd = newBuildDialog(a, filepath.Base(src), out)
	}
	j := a.jobs.Start(indexSlot, "index "+filepath.Base(src), func(j *Job) error {
		ctx, cancel := context.WithCancel(j.Context())
		defer cancel()
		stop := context.AfterFunc(a.ctx, cancel)
		defer stop()
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return a.buildEnded(b, pd, out, fmt.Errorf("index %s: %w", out, err))
		}
		_, err := index.Build(ctx, index.Options{
			Model: sess.m, ModelPath: sess.path, Sidecar: sess.sc, Source: src, Layers: layers, Top: liveTop, Out: out,
			Progress: func(p index.Progress) {
				b.mu.Lock()
				b.progress = p
				b.mu.Unlock()
				// Scan then render, as one bar.
				done := p.Done
				if p.Phase == "render" {
					done += p.Total
				}
				j.Progress(done, 2*max(p.Total, 1))
				if pd != nil {
					pd.update(p)
				}
			},
			Log: func(msg string) { a.logf("index: %s", msg) },
		})
		return a.buildEnded(b, pd, out, err)
	})
	if pd != nil {
		pd.job = j
		pd.d.Show()
	}
	return j
}

// buildEnded reports the end of a build and opens the index it made.
func (a *App) buildEnded(b *indexBuild, pd *buildDialog, out string, err error) error {
	b.mu.Lock()
	b.done, b.err = true, err
	b.mu.Unlock()
	if pd != nil {
		fyne.Do(pd.d.Hide)
	}
	switch {
	case errors.Is(err, context.Canceled):
		a.logf("index build stopped; building into %s again continues it", out)
		return err
	case err != nil:
		a.logf("index build failed: %v", err)
		a.showError(err)
		return err
	}
	if err := a.openIndex(out); err != nil {
		a.showError(err)
		return err
	}
	a.onUIAsync(func() { a.tabs.selectTab(tabTop9) })
	return nil
}

// buildDialog is the progress dialog of a build.
type buildDialog struct {
	d     dialog.Dialog
	label *widget.Label
	bar   *widget.ProgressBar
	job   *Job
}

func newBuildDialog(a *App, name, out string) *buildDialog {
	pd := &buildDialog{label: widget.NewLabel("starting…"), bar: widget.NewProgressBar()}
	where := widget.NewLabel("into " + out)
	where.Truncation = fyne.TextTruncateEllipsis
	cancel := widget.NewButton("Cancel", func() {
		if pd.job != nil {
			pd.job.Cancel()
		}
		pd.d.Hide()
	})
	hide := widget.NewButton("Run in background", func() { pd.d.Hide() })
	box := container.NewVBox(pd.label, pd.bar, where, container.NewHBox(cancel, hide))
	pd.d = dialog.NewCustomWithoutButtons("Indexing "+name, box, a.win)
	pd.d.Resize(fyne.NewSize(560, 200))
	return pd
}

// update shows a build's progress (from the build's goroutine).
func (pd *buildDialog) update(p index.Progress) {
	text := fmt.Sprintf("%s: %d of %d images", p.Phase, p.Done, p.Total)
	if p.Skipped > 0 {
		text += fmt.Sprintf(", %d skipped", p.Skipped)
	}
	if p.ETA > 0 {
		text += fmt.Sprintf(" — %s left", p.ETA.Round(time.Second))
	}
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	fyne.Do(func() {
		pd.label.SetText(text)
		pd.bar.SetValue(frac)
	})
}
