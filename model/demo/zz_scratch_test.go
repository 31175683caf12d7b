package demo
import ("testing";"context";"fmt")
func TestScratchOverfit(t *testing.T){
	data := trainingData(t, 320)
	for _, lr := range []float64{0.003, 0.001} {
		_, st, err := Train(context.Background(), data, Config{Epochs: 8, Seed: 7, BatchSize: 32, LearnRate: lr})
		if err != nil { t.Fatal(err) }
		fmt.Printf("lr %g: %.3f\n", lr, st.EpochLoss)
	}
}
