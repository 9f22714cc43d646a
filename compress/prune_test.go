package compress

import (
	"slices"
	"testing"
)

func TestAmountRoundsHalfToEven(t *testing.T) {
	cases := []struct {
		a    Amount
		n    int
		want int
	}{
		{Fraction(0.5), 5, 2},  // round(2.5) = 2 in Python
		{Fraction(0.5), 7, 4},  // round(3.5) = 4
		{Fraction(0.3), 10, 3}, // 3.0000000000000004 rounds to 3
		{Fraction(1), 9, 9},
		{Fraction(0), 9, 0},
		{Count(4), 9, 4},
	}
	for _, c := range cases {
		got, err := c.a.of(c.n)
		if err != nil || got != c.want {
			t.Errorf("%+v.of(%d) = %d, %v; want %d", c.a, c.n, got, err, c.want)
		}
	}
	for _, bad := range []Amount{Fraction(-0.1), Fraction(1.5), Count(10), Count(-1)} {
		if _, err := bad.of(9); err == nil {
			t.Errorf("%+v.of(9): want an error", bad)
		}
	}
}

func TestL1Unstructured(t *testing.T) {
	w := []float32{0.5, -0.1, 0.3, -0.9, 0.2, 0.05}
	m, err := L1Unstructured(w, Fraction(0.5), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The three smallest |w| are 0.05, 0.1, 0.2 at indices 5, 1, 4.
	want := Mask{1, 0, 1, 1, 0, 0}
	if !slices.Equal(m, want) {
		t.Errorf("L1Unstructured(%v, 0.5) = %v, want %v", w, m, want)
	}
	// Iterative: 50% of the remaining three (round(1.5) = 2) prunes 0.3, 0.5.
	m2, err := L1Unstructured(w, Fraction(0.5), m)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Mask{0, 0, 0, 1, 0, 0}); !slices.Equal(m2, want) {
		t.Errorf("second round = %v, want %v", m2, want)
	}
	m2.Apply(w)
	if want := []float32{0, 0, 0, -0.9, 0, 0}; !slices.Equal(w, want) {
		t.Errorf("Apply = %v, want %v", w, want)
	}
}

func TestGlobalAndStructured(t *testing.T) {
	a := []float32{0.1, 0.2, 0.3}
	b := []float32{1, 2, 0.15}
	ms, err := GlobalUnstructured([][]float32{a, b}, Count(3))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ms[0], Mask{0, 0, 1}) || !slices.Equal(ms[1], Mask{1, 1, 0}) {
		t.Errorf("GlobalUnstructured = %v, want [[0 0 1] [1 1 0]]", ms)
	}
	// Rows with L1 norms 3, 0.6, 1.5: prune the two smallest.
	w := []float32{1, -2, 0.3, 0.3, -1, 0.5}
	m, err := LnStructured(w, 3, 2, Fraction(0.67), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Mask{1, 1, 0, 0, 0, 0}); !slices.Equal(m, want) {
		t.Errorf("LnStructured = %v, want %v", m, want)
	}
	if s := m.Sparsity(); s != 4.0/6 {
		t.Errorf("Sparsity = %v, want 4/6", s)
	}
}
