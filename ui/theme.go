package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
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

// appIcon is the window icon: a small grid of gray tiles with a selected
// one, drawn here (no asset file needed).
func appIcon() fyne.Resource {
	const n, cell = 4, 14
	img := image.NewRGBA(image.Rect(0, 0, n*cell+2, n*cell+2))
	fill(img, colBackground)
	for i := range n * n {
		x, y := 1+(i%n)*cell, 1+(i/n)*cell
		g := uint8(40 + (i*53)%200)
		c := color.RGBA{g, g, g, 0xff}
		if i == 6 {
			c = color.RGBA{0xff, 0xc8, 0x1e, 0xff}
		}
		fillRect(img, image.Rect(x+1, y+1, x+cell-1, y+cell-1), c)
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return fyne.NewStaticResource("deepscope.png", buf.Bytes())
}
