package demo
import ("testing";"context";"os")
func TestScratchSpeed(t *testing.T){
	d, err := Load(DataDir, "train"); if err != nil { t.Fatal(err) }
	net, st, err := Train(context.Background(), d.Subset(3200), Config{Epochs:1, Seed:1, LearnRate: 0.001, Log: os.Stdout})
	if err != nil { t.Fatal(err) }
	_ = net
	t.Log(st.Duration, st.EpochLoss)
}
