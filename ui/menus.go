package ui

import (
	"errors"
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/deepscope/deepscope/model"
)

// keyItem is a menu item that acts like a key press.
func (a *App) keyItem(label, key string) *fyne.MenuItem {
	return fyne.NewMenuItem(fmt.Sprintf("%s\t%s", label, key), func() { a.Key(key) })
}

// mainMenu builds the menus: File, Source, View, Rendering, Help.
func (a *App) mainMenu() *fyne.MainMenu {
	file := fyne.NewMenu("File",
		fyne.NewMenuItem("Open model…", a.openModelDialog),
		fyne.NewMenuItem("Models (demo, downloaded, catalog)…", a.modelsMenuDialog),
		a.indexMenuItem(),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Export panes to…", a.exportDialog),
		a.keyItem("Export panes", "S"),
	)
	source := fyne.NewMenu("Source",
		fyne.NewMenuItem("Webcam", func() { a.switchSource("webcam") }),
		fyne.NewMenuItem("Video file…", func() { a.openFileDialog("video", []string{".mp4", ".avi", ".mkv", ".mov", ".webm", ".mpg", ".m4v"}) }),
		fyne.NewMenuItem("Image file…", func() {
			a.openFileDialog("image", []string{".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
		}),
		fyne.NewMenuItem("Folder of images…", a.openFolderDialog),
		fyne.NewMenuItem("Test pattern", func() { a.switchSource("pattern") }),
		fyne.NewMenuItemSeparator(),
		a.keyItem("Freeze / unfreeze", "f"),
		a.keyItem("Next file or frame", "e"),
		a.keyItem("Previous file or frame", "w"),
		a.keyItem("Webcam ↔ files", "c"),
		a.keyItem("Mirror", "x"),
		a.keyItem("Crop ↔ stretch", "r"),
	)
	view := fyne.NewMenu("View",
		a.keyItem("Previous layer", "u"),
		a.keyItem("Next layer", "o"),
		a.keyItem("Zoom: tiles, unit, rendering", "z"),
		a.keyItem("Overlay on the input", "v"),
		a.keyItem("Gamma boost", "t"),
		a.keyItem("Normalise per layer ↔ channel", "T"),
		a.keyItem("Pattern mode: optimized images in the tiles", "s"),
		a.keyItem("Optimize the unit's image", "g"),
		fyne.NewMenuItemSeparator(),
		a.keyItem("Presentation mode", "p"),
		a.keyItem("Reset the view", KeyEscape),
	)
	var methods []*fyne.MenuItem
	for _, m := range Methods() {
		methods = append(methods, fyne.NewMenuItem(m, func() { a.update(func(s State) State { s.Method = m; return s }) }))
	}
	var displays []*fyne.MenuItem
	for _, d := range Displays() {
		displays = append(displays, fyne.NewMenuItem(d, func() { a.update(func(s State) State { s.Display = d; return s }) }))
	}
	methodItem := fyne.NewMenuItem("Method", nil)
	methodItem.ChildMenu = fyne.NewMenu("", methods...)
	displayItem := fyne.NewMenuItem("Display filter", nil)
	displayItem.ChildMenu = fyne.NewMenu("", displays...)
	rendering := fyne.NewMenu("Rendering",
		methodItem, displayItem,
		a.keyItem("Next method", "b"),
		a.keyItem("Back-prop rule: gradient, guided, deconvnet", "n"),
		a.keyItem("Next display filter", "m"),
		a.keyItem("Lock the back-prop unit", "d"),
		a.keyItem("Seed summed ↔ at the maximum", "a"),
	)
	help := fyne.NewMenu("Help", a.keyItem("Keys", "h"))
	return fyne.NewMainMenu(file, source, view, rendering, help)
}

// toolbar is the row of buttons above the panes.
func (a *App) toolbar() *widget.Toolbar {
	act := func(icon fyne.Resource, fn func()) *widget.ToolbarAction {
		return widget.NewToolbarAction(icon, func() {
			fn()
			a.win.Canvas().Unfocus()
		})
	}
	return widget.NewToolbar(
		act(theme.FolderOpenIcon(), a.openModelDialog),
		act(theme.MediaVideoIcon(), func() {
			a.openFileDialog("video", []string{".mp4", ".avi", ".mkv", ".mov", ".webm", ".mpg", ".m4v"})
		}),
		act(theme.FileImageIcon(), a.openFolderDialog),
		widget.NewToolbarSeparator(),
		act(theme.MediaSkipPreviousIcon(), func() { a.Key("w") }),
		act(theme.MediaPauseIcon(), func() { a.Key("f") }),
		act(theme.MediaSkipNextIcon(), func() { a.Key("e") }),
		widget.NewToolbarSeparator(),
		act(theme.NavigateBackIcon(), func() { a.Key("u") }),
		act(theme.NavigateNextIcon(), func() { a.Key("o") }),
		act(theme.ZoomInIcon(), func() { a.Key("z") }),
		widget.NewToolbarSeparator(),
		act(theme.DocumentSaveIcon(), func() { a.Key("S") }),
		act(theme.ViewFullScreenIcon(), func() { a.Key("p") }),
		widget.NewToolbarSpacer(),
		act(theme.HelpIcon(), func() { a.Key("h") }),
	)
}

// startDir is where file dialogs open: next to the current model.
func (a *App) startDir() fyne.ListableURI {
	a.mu.Lock()
	sess := a.sess
	a.mu.Unlock()
	dir := "."
	if sess != nil {
		dir = filepath.Dir(sess.path)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	l, err := storage.ListerForURI(storage.NewFileURI(abs))
	if err != nil {
		return nil
	}
	return l
}

// openModelDialog asks for an ONNX file and opens it.
func (a *App) openModelDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			a.showError(err)
			return
		}
		if r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		a.loadModelAsync(path)
	}, a.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".onnx"}))
	if l := a.startDir(); l != nil {
		d.SetLocation(l)
	}
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// loadModelAsync loads a model off the UI goroutine; a model that cannot
// be opened gets a dialog saying why.
func (a *App) loadModelAsync(path string) {
	a.logf("loading %s…", filepath.Base(path))
	go func() {
		sess, err := loadSession(path)
		if err == nil {
			err = a.useSession(sess)
		}
		if err != nil {
			a.logf("cannot open %s: %v", filepath.Base(path), err)
			fyne.Do(func() { a.modelError(path, err) })
			return
		}
		a.logf("opened %s: %d layers", sess.m.Name, len(sess.layers))
	}()
}

// modelError explains why a model cannot be opened; unsupported operators
// are listed one per line.
func (a *App) modelError(path string, err error) {
	title := "Cannot open " + filepath.Base(path)
	msg := err.Error()
	if errors.Is(err, model.ErrUnsupportedOp) {
		title = filepath.Base(path) + " uses unsupported operators"
		list := msg
		if i := strings.Index(msg, model.ErrUnsupportedOp.Error()+": "); i >= 0 {
			list = msg[i+len(model.ErrUnsupportedOp.Error())+2:]
		}
		msg = "deepscope's engine does not implement these ONNX operators, so it cannot run this model:\n\n• " +
			strings.Join(strings.Split(list, "; "), "\n• ") +
			"\n\nThe model that was open stays open."
	}
	a.showMessage(title, msg)
}

// showMessage shows a dialog with a title and a wrapped message.
func (a *App) showMessage(title, msg string) {
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	box := container.NewVScroll(l)
	box.SetMinSize(fyne.NewSize(520, 160))
	d := dialog.NewCustom(title, "OK", box, a.win)
	d.Show()
}

// showError shows an error dialog (from any goroutine).
func (a *App) showError(err error) {
	if a.sync {
		return
	}
	fyne.Do(func() { a.showMessage("Error", err.Error()) })
}

// openFileDialog asks for a video or an image file and streams it.
func (a *App) openFileDialog(what string, exts []string) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			a.showError(err)
			return
		}
		if r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		a.switchSource(path)
	}, a.win)
	d.SetFilter(storage.NewExtensionFileFilter(exts))
	if l := a.startDir(); l != nil {
		d.SetLocation(l)
	}
	d.SetTitleText("Open a " + what)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// openFolderDialog asks for a folder of images and steps through it.
func (a *App) openFolderDialog() {
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil {
			a.showError(err)
			return
		}
		if l != nil {
			a.switchSource(l.Path())
		}
	}, a.win)
	if l := a.startDir(); l != nil {
		d.SetLocation(l)
	}
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// exportDialog asks for a folder and exports the panes there.
func (a *App) exportDialog() {
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil {
			a.showError(err)
			return
		}
		if l != nil {
			a.export(l.Path())
		}
	}, a.win)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// helpContent is the help overlay: every key and what it does.
func helpContent(close func()) fyne.CanvasObject {
	title := canvas.NewText("deepscope — keys", theme.Color(theme.ColorNameForeground))
	title.TextSize = theme.TextSize() * 1.4
	title.TextStyle.Bold = true
	grid := container.NewWithoutLayout()
	for _, b := range Bindings {
		k := canvas.NewText(b.Keys, color.NRGBA{0xff, 0xc8, 0x1e, 0xff})
		k.TextStyle.Monospace = true
		k.TextSize = theme.TextSize()
		d := canvas.NewText(b.Help, theme.Color(theme.ColorNameForeground))
		d.TextSize = theme.TextSize()
		grid.Add(k)
		grid.Add(d)
	}
	note := widget.NewLabel("Click a tile to select its unit; hover to see its maximum. Menus and the toolbar do the same as the keys.")
	note.Wrapping = fyne.TextWrapWord
	closeBtn := widget.NewButton("Close (h / Esc)", close)
	return container.NewVBox(title, container.New(&helpLayout{}, grid), note, container.NewCenter(closeBtn))
}

// helpLayout gives the key column a fixed share of the width.
type helpLayout struct{}

func (*helpLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	g := objs[0].(*fyne.Container)
	rows := (len(g.Objects) + 1) / 2
	h := float32(rows) * (theme.TextSize() + 6)
	w := float32(0)
	for i := 0; i+1 < len(g.Objects); i += 2 {
		k := g.Objects[i].(*canvas.Text)
		d := g.Objects[i+1].(*canvas.Text)
		w = max(w, 180+fyne.MeasureText(d.Text, d.TextSize, d.TextStyle).Width+k.TextSize)
	}
	return fyne.NewSize(w, h)
}

func (*helpLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	g := objs[0].(*fyne.Container)
	g.Resize(size)
	rh := theme.TextSize() + 6
	for i := 0; i+1 < len(g.Objects); i += 2 {
		y := float32(i/2) * rh
		g.Objects[i].Move(fyne.NewPos(0, y))
		g.Objects[i].Resize(fyne.NewSize(170, rh))
		g.Objects[i+1].Move(fyne.NewPos(180, y))
		g.Objects[i+1].Resize(fyne.NewSize(size.Width-180, rh))
	}
}
