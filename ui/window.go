package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// build lays out the window:
//
//	toolbar
//	input + top-5  | layer title          | unit inspector
//	layer list     | activation grid      |
//	status bar
func (a *App) build() {
	a.grid = newGridView()
	a.grid.OnTap = a.selectTile
	a.grid.OnHover = a.hovered
	a.gridTitle = widget.NewLabel("")
	a.gridTitle.Truncation = fyne.TextTruncateEllipsis
	a.input = newInputPane()
	a.insp = newInspector()
	a.buildTabs()
	a.status = newStatusBar()

	a.layerList = widget.NewList(
		func() int {
			a.mu.Lock()
			defer a.mu.Unlock()
			return len(a.st.Layers)
		},
		func() fyne.CanvasObject {
			l := widget.NewLabel("layer")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			a.mu.Lock()
			text := ""
			if id < len(a.st.Layers) {
				text = a.st.Layers[id].String()
			}
			a.mu.Unlock()
			o.(*widget.Label).SetText(text)
		})
	a.layerList.OnSelected = func(id widget.ListItemID) {
		if !a.syncing {
			a.selectLayer(id)
		}
		a.win.Canvas().Unfocus() // keys go to the explorer, not the list
	}

	a.insp.method.OnChanged = func(m string) {
		if !a.syncing {
			a.update(func(s State) State { s.Method = m; return s })
		}
		a.win.Canvas().Unfocus()
	}
	a.insp.display.OnChanged = func(d string) {
		if !a.syncing {
			a.update(func(s State) State { s.Display = d; return s })
		}
		a.win.Canvas().Unfocus()
	}
	a.insp.lock.OnChanged = func(on bool) {
		if !a.syncing {
			a.update(func(s State) State {
				if s.Locked != on {
					s = s.ToggleLock()
				}
				return s
			})
		}
		a.win.Canvas().Unfocus()
	}

	top := container.NewVBox(a.input.box)
	a.left = container.NewBorder(top, nil, nil, nil, a.layerList)
	center := container.NewBorder(a.gridTitle, nil, nil, nil, a.grid)
	right := container.NewVScroll(a.insp.box)
	a.tabs.scroll = right
	right.SetMinSize(fyne.NewSize(300, 200))
	body := container.NewBorder(nil, nil, a.left, right, center)
	content := container.NewBorder(a.toolbar(), a.status.label, nil, nil, body)
	a.win.SetContent(content)
	a.win.SetMainMenu(a.mainMenu())
	a.win.Resize(fyne.NewSize(1280, 800))
	a.win.SetPadded(false)

	a.win.Canvas().SetOnTypedRune(func(r rune) { a.Key(string(r)) })
	a.win.Canvas().SetOnTypedKey(func(e *fyne.KeyEvent) {
		if k := keyName(e.Name); k != "" {
			a.Key(k)
		}
	})
	a.syncWidgets(a.st)
	if a.st.Presentation {
		a.setPresentation(true)
	}
}

// keyName maps the special keys Key understands; letters arrive as runes.
func keyName(k fyne.KeyName) string {
	switch k {
	case fyne.KeyLeft:
		return KeyLeft
	case fyne.KeyRight:
		return KeyRight
	case fyne.KeyUp:
		return KeyUp
	case fyne.KeyDown:
		return KeyDown
	case fyne.KeyEscape:
		return KeyEscape
	case fyne.KeyF11:
		return KeyF11
	case fyne.KeyPageUp:
		return KeyPgUp
	case fyne.KeyPageDown:
		return KeyPgDown
	}
	return ""
}

// onSessionChanged refreshes what depends on the model: the layer list
// and the title.
func (a *App) onSessionChanged(*session) {
	a.onUIAsync(func() {
		a.layerList.Refresh()
		a.updateTitle()
	})
}

// onUIAsync runs fn on the UI goroutine without waiting (at once in test
// mode).
func (a *App) onUIAsync(fn func()) {
	if a.sync {
		fn()
		return
	}
	fyne.Do(fn)
}

// apply shows a composed frame. UI goroutine.
func (a *App) apply(c *composed) {
	a.shown = c
	a.grid.show(c.grid, c.geom, c.tiles, c.sel, c.lock, c.labels)
	a.showGridTitle()
	a.input.show(c.input, c.caption, c.top)
	a.insp.show(c.insp)
	a.status.show(c.status)
	a.applyTabs()
	// The controls follow the state as it is now: c was composed a moment
	// ago, maybe before the last key.
	a.syncWidgets(a.State())
}

// hovered shows the channel under the mouse and its maximum.
func (a *App) hovered(i int) {
	a.hover = i
	a.showGridTitle()
}

func (a *App) showGridTitle() {
	c := a.shown
	if c == nil {
		return
	}
	text := c.gridTitle
	if i := a.hover; i >= 0 && i < len(c.values) && c.sess != nil {
		cur := c.st.Current()
		what := "max"
		if cur.FC() {
			what = "value"
		}
		text = fmt.Sprintf("%s   │ hover: %s  %s %.3g", text, unitName(c.sess, cur, i), what, c.values[i])
	}
	if a.gridTitle.Text != text {
		a.gridTitle.SetText(text)
	}
}

// syncWidgets makes the controls show the state (without their change
// callbacks acting on it).
func (a *App) syncWidgets(st State) {
	a.syncing = true
	defer func() { a.syncing = false }()
	if len(st.Layers) > 0 {
		a.layerList.Select(st.Layer)
	}
	if a.insp.method.Selected != st.Method {
		a.insp.method.SetSelected(st.Method)
	}
	if a.insp.display.Selected != st.Display {
		a.insp.display.SetSelected(st.Display)
	}
	if a.insp.lock.Checked != st.Locked {
		a.insp.lock.SetChecked(st.Locked)
	}
	a.showHelp(st.Help)
}

// showHelp shows or hides the help overlay.
func (a *App) showHelp(on bool) {
	if on {
		if a.help == nil {
			a.help = widget.NewModalPopUp(helpContent(func() { a.update(func(s State) State { s.Help = false; return s }) }), a.win.Canvas())
		}
		if !a.help.Visible() {
			a.help.Show()
		}
		return
	}
	if a.help != nil && a.help.Visible() {
		a.help.Hide()
	}
}

// setPresentation turns the lecture-hall mode on or off: full screen,
// larger text, the layer list hidden so the tiles get its room, larger
// input and inspector panes.
func (a *App) setPresentation(on bool) {
	f := float32(1)
	if on {
		f = 1.5
	}
	a.fa.Settings().SetTheme(newTheme(f))
	a.win.SetFullScreen(on)
	if on {
		a.layerList.Hide()
	} else {
		a.layerList.Show()
	}
	a.input.setScale(f)
	a.insp.setScale(f)
	a.tabs.setScale(f)
	a.insp.showControls(!on) // keys drive a lecture; the room goes to the pictures
	a.grid.thick = 2 * f
	a.grid.Refresh()
	a.win.Content().Refresh()
}
