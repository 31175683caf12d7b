package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/deepscope/deepscope/assets"
)

// scaledTheme is the default dark theme with every size multiplied: the
// presentation mode's larger text, padding and icons.
type scaledTheme struct {
	fyne.Theme
	factor float32
}

func newTheme(factor float32) fyne.Theme {
	return &scaledTheme{Theme: theme.DefaultTheme(), factor: factor}
}

// Color forces the dark variant: activations read best on black.
func (t *scaledTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, theme.VariantDark)
}

func (t *scaledTheme) Size(n fyne.ThemeSizeName) float32 { return t.Theme.Size(n) * t.factor }

// appIcon is the window icon: the application icon scripts/icon draws
// (assets/icon.png).
func appIcon() fyne.Resource { return fyne.NewStaticResource("deepscope.png", assets.Icon()) }
