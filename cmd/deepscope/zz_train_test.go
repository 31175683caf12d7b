package main
import ("os";"strings";"testing")
func TestZZTrain(t *testing.T){
	args := strings.Fields(os.Getenv("ZZ_ARGS"))
	if len(args) == 0 { t.Skip() }
	if code := cmdTrainDemo(args, os.Stdout, os.Stderr); code != 0 { t.Fatal(code) }
}
