package main

import (
	"os"
	"strings"
	"testing"
)

func TestZZTry(t *testing.T) {

	args := strings.Fields(os.Getenv("TRY_ARGS"))
	if len(args) == 0 {
		t.Skip()
	}
	code, out, errOut := deepscope(t, append([]string{"render"}, args...)...)
	t.Logf("exit %d\n%s\n%s", code, out, errOut)
}
