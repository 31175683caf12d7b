// Package locale keeps Fyne from logging "Error parsing user locale C" at
// start-up (from the init of fyne.io/fyne/v2/lang, so in every deepscope
// command) on machines whose locale is C.UTF-8 or similar, as containers
// and CI runners have: it sets LANGUAGE=en there, which only says which
// language to translate messages to, and Fyne speaks English anyway.
//
// It must be initialised before Fyne's lang package. Go initialises
// packages in import-path order as soon as their imports are (Go 1.21),
// and this one imports only os, so it runs before
// github.com/jeandeaual/go-locale, which fyne.io/fyne/v2/lang needs.
package locale

import (
	"os"
	"strings"
)

func init() {
	if os.Getenv("LANGUAGE") != "" {
		return
	}
	for _, env := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(env)
		if v == "" {
			continue
		}
		if v == "C" || v == "POSIX" || strings.HasPrefix(v, "C.") {
			os.Setenv("LANGUAGE", "en")
		}
		return
	}
}
