package ui

import "strings"

// Action is a key's effect beyond the State: something the application
// does (quit, step the source) rather than a value it shows.
type Action int

// The actions keys can ask for.
const (
	ActNone         Action = iota
	ActQuit                // q
	ActNextFile            // e: the next image or frame
	ActPrevFile            // w: the previous one
	ActToggleCamera        // c: webcam <-> files
	ActExport              // S: export the panes
	ActOptimize            // g: optimize the cursor unit's image (again: stop)
)

// Binding is one line of the help overlay: the keys and what they do.
type Binding struct {
	Keys string // as shown, e.g. "j  ←"
	Help string
}

// Keys names the keys Key understands: a typed character ("j", "J", "?")
// or one of these.
const (
	KeyLeft   = "Left"
	KeyRight  = "Right"
	KeyUp     = "Up"
	KeyDown   = "Down"
	KeyEscape = "Escape"
	KeyF11    = "F11"
	KeyPgUp   = "PageUp"
	KeyPgDown = "PageDown"
)

// Bindings lists every key, in the order of the help overlay, grouped
// like deepvis' help screen.
var Bindings = []Binding{
	{"j l i k   ← → ↑ ↓", "move the cursor left, right, up, down"},
	{"J L I K", "move the cursor by 3"},
	{"u o   PgUp PgDn", "previous / next layer"},
	{"d", "lock the back-prop unit at the cursor (again: release)"},
	{"b  B", "next / previous rendering: off, " + strings.Join(Methods()[1:], ", ")},
	{"n", "back-prop rule: gradient, guided, deconvnet"},
	{"m", "display filter: " + strings.Join(Displays(), ", ")},
	{"a", "seed the back-prop unit summed over its positions, or at its maximum"},
	{"t", "gamma boost of the tiles: 1, 0.5, 0.25"},
	{"T", "normalise tiles per layer / per channel"},
	{"z", "zoom: tiles, the selected unit, its rendering"},
	{"v", "overlay on the input: off, the unit's activation, the rendering's heat map"},
	{"f", "freeze / unfreeze the input"},
	{"e  w", "next / previous file or frame"},
	{"c", "switch between the webcam and the files"},
	{"x", "mirror the input"},
	{"r", "crop or stretch the input to the network's shape"},
	{"s", "pattern mode: each tile shows its unit's optimized image once computed"},
	{"g", "optimize the unit's image (activation maximization; again: stop)"},
	{"S", "export the panes as PNG with the settings as JSON"},
	{"p  F11", "presentation mode (full screen, large text)"},
	{"h  ?", "this help"},
	{"Esc", "close the help, or reset the view"},
	{"q", "quit"},
}

// Key applies one key press to the state. Unknown keys change nothing.
// It is a pure function: the caller applies the new state (and the
// action) to the pipeline and the widgets.
func Key(s State, key string) (State, Action) {
	if s.Help {
		// The help overlay takes every key: it closes on the help keys and
		// Esc; q still quits.
		switch key {
		case "h", "?", KeyEscape:
			s.Help = false
		case "q":
			return s, ActQuit
		}
		return s, ActNone
	}
	switch key {
	case "j", KeyLeft:
		s = s.Move(-1, 0)
	case "l", KeyRight:
		s = s.Move(1, 0)
	case "i", KeyUp:
		s = s.Move(0, -1)
	case "k", KeyDown:
		s = s.Move(0, 1)
	case "J":
		s = s.Move(-3, 0)
	case "L":
		s = s.Move(3, 0)
	case "I":
		s = s.Move(0, -3)
	case "K":
		s = s.Move(0, 3)
	case "u", KeyPgUp:
		s = s.SelectLayer(s.Layer - 1)
	case "o", KeyPgDown:
		s = s.SelectLayer(s.Layer + 1)
	case "d":
		s = s.ToggleLock()
	case "b":
		s.Method = cycle(Methods(), s.Method, 1)
	case "B":
		s.Method = cycle(Methods(), s.Method, -1)
	case "n":
		s.Method = cycle(BackModes, s.Method, 1)
	case "m":
		s.Display = cycle(Displays(), s.Display, 1)
	case "a":
		s.AtMax = !s.AtMax
	case "t":
		s.Gamma = (s.Gamma + 1) % len(Gammas)
	case "T":
		s.PerChannel = !s.PerChannel
	case "z":
		s.Zoom = (s.Zoom + 1) % numZooms
	case "v":
		s.Overlay = (s.Overlay + 1) % numOverlays
	case "f":
		s.Frozen = !s.Frozen
	case "x":
		s.Mirror = !s.Mirror
	case "r":
		s.Stretch = !s.Stretch
	case "p", KeyF11:
		s.Presentation = !s.Presentation
	case "h", "?":
		s.Help = true
	case KeyEscape:
		s = s.reset()
	case "e":
		return s, ActNextFile
	case "w":
		return s, ActPrevFile
	case "c":
		return s, ActToggleCamera
	case "s":
		s.Pattern = !s.Pattern
	case "g":
		return s, ActOptimize
	case "S":
		return s, ActExport
	case "q":
		return s, ActQuit
	}
	return s, ActNone
}
