package demo
import ("testing";"context";"fmt";"os")
func TestScratchSpeed(t *testing.T){
	useBatched = os.Getenv("BATCHED") == "1"
	data := trainingData(t, 3200)
	_, st, err := Train(context.Background(), data, Config{Epochs: 1, Seed: 7})
	if err != nil { t.Fatal(err) }
	fmt.Printf("loss %.3f %v\n", st.EpochLoss, st.Duration)
}
