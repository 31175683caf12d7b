package ui

import (
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"time"
)

// Export files, written into the export folder.
const (
	ExportInput     = "input.png"     // the frame as the network sees it (with the overlay)
	ExportGrid      = "grid.png"      // the activation grid (or the zoom)
	ExportUnit      = "unit.png"      // the selected unit's activation, enlarged
	ExportRendering = "rendering.png" // the rendering as shown
	ExportWindow    = "window.png"    // the whole window
	ExportSettings  = "settings.json" // what they show (Settings)
)

// exportDefault exports into a new folder under Options.ExportDir (or
// ~/deepscope-export) named after the time and the unit ('s').
func (a *App) exportDefault() {
	root := a.opts.ExportDir
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		root = filepath.Join(home, "deepscope-export")
	}
	st := a.State()
	name := fmt.Sprintf("%s-%s-%d", time.Now().Format("20060102-150405"), sanitize(st.Current().Name), st.Unit)
	a.export(filepath.Join(root, name))
}

// sanitize makes a layer name safe in a file name.
func sanitize(s string) string {
	out := []rune{}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			out = append(out, r)
		default:
			out = append(out, '_')
		}
	}
	return string(out)
}

// export writes the panes as PNG files and the settings as JSON into dir
// (UI goroutine): the pictures are copied here, encoded in a background
// job. It returns the job.
func (a *App) export(dir string) *Job {
	c := a.shown
	imgs := map[string]image.Image{}
	if c != nil {
		imgs[ExportInput] = clone(c.input)
		imgs[ExportGrid] = clone(c.grid)
		imgs[ExportUnit] = clone(c.insp.act)
		imgs[ExportRendering] = clone(c.insp.rend)
	}
	if shot := a.win.Canvas().Capture(); shot != nil {
		imgs[ExportWindow] = shot
	}
	settings := a.settings(c)
	return a.jobs.Start("export", "export", func(j *Job) error {
		err := writeExport(dir, imgs, settings)
		if err != nil {
			a.logf("export failed: %v", err)
			a.showError(err)
			return err
		}
		a.logf("exported %d pictures and %s to %s", len(imgs), ExportSettings, dir)
		return nil
	})
}

// settings describes what the panes of c show.
func (a *App) settings(c *composed) Settings {
	st := a.State()
	if c != nil {
		st = c.st
	}
	s := st.Settings()
	s.Source = a.sourceName()
	if c != nil && c.sess != nil {
		s.Model = c.sess.path
		s.Top5 = c.top
		if l := st.Current(); l.Labelled {
			s.UnitLabel = c.sess.label(st.Unit)
		}
	}
	a.mu.Lock()
	if a.cur != nil {
		s.Frame = a.cur.pos
	}
	a.mu.Unlock()
	return s
}

// writeExport writes the pictures and the settings.
func writeExport(dir string, imgs map[string]image.Image, settings Settings) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, img := range imgs {
		if img == nil {
			continue
		}
		if err := writePNG(filepath.Join(dir, name), img); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ExportSettings), append(data, '\n'), 0o644)
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// clone copies an image (the pools reuse theirs); nil stays nil.
func clone(img *image.RGBA) image.Image {
	if img == nil || img.Rect.Empty() {
		return nil
	}
	out := image.NewRGBA(img.Rect)
	draw.Draw(out, out.Rect, img, img.Rect.Min, draw.Src)
	return out
}
