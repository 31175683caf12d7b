package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/deepscope/deepscope/camera"
)

// statusBar is the line at the bottom of the window: model, cursor,
// rendering, frame rates, per-stage times, jobs, and the last message.
type statusBar struct {
	label *widget.Label
}

func newStatusBar() *statusBar {
	l := widget.NewLabel("")
	l.Truncation = fyne.TextTruncateEllipsis
	l.TextStyle.Monospace = true
	return &statusBar{label: l}
}

func (s *statusBar) show(text string) {
	if s.label.Text != text {
		s.label.SetText(text)
	}
}

// statusInfo is what the status bar reports.
type statusInfo struct {
	Model     string
	Layer     string
	Unit      int
	UnitLabel string
	Method    string
	Display   string
	Frozen    bool
	Stats     camera.Stats
	HaveStats bool
	UIFPS     float64
	Jobs      []string
	Message   string
}

// statusText formats the status line.
func statusText(si statusInfo) string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f", d.Seconds()*1000) }
	var parts []string
	if si.Model == "" {
		return "no model: File ▸ Open model…  (h: help)"
	}
	parts = append(parts, si.Model)
	unit := fmt.Sprintf("%s:%d", si.Layer, si.Unit)
	if si.UnitLabel != "" {
		unit += " " + si.UnitLabel
	}
	parts = append(parts, unit)
	parts = append(parts, si.Method+"/"+si.Display)
	if si.HaveStats {
		st := si.Stats
		fps := fmt.Sprintf("%.1f fps", st.FPS)
		if si.Frozen {
			fps = "frozen"
		}
		parts = append(parts, fmt.Sprintf("%s (ui %.0f)", fps, si.UIFPS))
		t := st.Mean
		parts = append(parts, fmt.Sprintf("source %s prep %s fwd %s ms", ms(t.Source), ms(t.Preprocess), ms(t.Forward)))
	}
	if len(si.Jobs) > 0 {
		jobs := slices.Clone(si.Jobs)
		slices.Sort(jobs)
		parts = append(parts, "jobs: "+strings.Join(jobs, ", "))
	}
	if si.Message != "" {
		parts = append(parts, si.Message)
	}
	return strings.Join(parts, "  │  ")
}
