package assets

import _ "embed"

// IconFile is the application icon, drawn by scripts/icon (512x512 PNG);
// FyneApp.toml names it for `fyne package`.
const IconFile = "icon.png"

//go:embed icon.png
var icon []byte

// Icon returns the PNG bytes of the application icon (a copy).
func Icon() []byte { return append([]byte(nil), icon...) }
