package demo
import ("testing";"context")
func TestScratchExport(t *testing.T){
	d, err := Load(DataDir, "train"); if err != nil { t.Fatal(err) }
	net, _, err := Train(context.Background(), d.Subset(640), Config{Epochs:1, Seed:1})
	if err != nil { t.Fatal(err) }
	if err := Export("../../assets", net); err != nil { t.Fatal(err) }
}
