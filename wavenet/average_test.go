package wavenet

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestAverage(t *testing.T) {
	cfg := Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1, 2}, ResidualChannels: 3,
		DilationChannels: 2, SkipChannels: 4, QuantizationChannels: 8, UseBiases: true}
	var ms []*Model
	for s := range uint64(3) {
		m, err := New(cfg, rand.New(rand.NewPCG(s, 9)))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	avg, err := Average(ms...)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range avg.Params() {
		for j, got := range p.Data {
			want := (float64(ms[0].Params()[i].Data[j]) + float64(ms[1].Params()[i].Data[j]) + float64(ms[2].Params()[i].Data[j])) / 3
			if math.Abs(float64(got)-want) > 1e-7 {
				t.Fatalf("%s[%d] = %g, want the mean %g", p.Name, j, got, want)
			}
		}
	}
	if one, _ := Average(ms[1]); !reflect.DeepEqual(one.Params(), ms[1].Params()) {
		t.Errorf("average of one model differs from it")
	}
	other := cfg
	other.Dilations = []int{1, 2, 4}
	o, err := New(other, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Average(ms[0], o); err == nil {
		t.Errorf("average of models with different configs = nil error, want an error")
	}
	// A model that records the default processing averages with one from
	// before the record; one trained on untrimmed audio does not.
	recorded := ms[1].Clone()
	recorded.Config.Preprocess = &DefaultPreprocess
	if _, err := Average(ms[0], recorded); err != nil {
		t.Errorf("average of a model recording DefaultPreprocess with one recording none: %v", err)
	}
	untrimmed := DefaultPreprocess
	untrimmed.Trim = false
	recorded.Config.Preprocess = &untrimmed
	if _, err := Average(ms[0], recorded); err == nil {
		t.Errorf("average of models trained on differently processed audio = nil error, want an error")
	}
	if _, err := Average(); err == nil {
		t.Errorf("average of nothing = nil error, want an error")
	}
}
