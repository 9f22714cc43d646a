package ltest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/synth"
)

func TestMeanCI(t *testing.T) {
	// half = t(0.975, n-1) * s / sqrt(n), with t from a printed table of
	// Student's t (6 decimals: 12.706205 for 1 df, 2.776445 for 4,
	// 2.262157 for 9) and s worked out by hand; the table's rounding
	// bounds the error well under the tolerance.
	const tol = 1e-5
	tests := []struct {
		x          []float64
		mean, half float64
	}{
		// s = sqrt(2), half = 12.706205 * sqrt(2) / sqrt(2)
		{[]float64{2, 4}, 3, 12.706205},
		// s = sqrt(2/4), half = 2.776445 * sqrt(0.5) / sqrt(5)
		{[]float64{3, 4, 5, 4, 4}, 4, 2.776445 * math.Sqrt(0.5) / math.Sqrt(5)},
		// sum of squares 20, s = sqrt(20/9), half = 2.262157 * s / sqrt(10)
		{[]float64{1, 2, 3, 4, 5, 5, 4, 3, 2, 1}, 3, 2.262157 * math.Sqrt(20.0/9) / math.Sqrt(10)},
		// no spread: no interval width
		{[]float64{5, 5, 5}, 5, 0},
	}
	for _, tt := range tests {
		mean, half := MeanCI(tt.x)
		if math.Abs(mean-tt.mean) > tol || math.Abs(half-tt.half) > tol {
			t.Errorf("MeanCI(%v) = %v, %v, want %v, %v (tolerance %g)", tt.x, mean, half, tt.mean, tt.half, tol)
		}
	}
	if mean, half := MeanCI([]float64{4}); mean != 4 || !math.IsNaN(half) {
		t.Errorf("MeanCI([4]) = %v, %v, want 4, NaN", mean, half)
	}
	if mean, _ := MeanCI(nil); !math.IsNaN(mean) {
		t.Errorf("MeanCI(nil) mean = %v, want NaN", mean)
	}
}

func TestBinomialTest(t *testing.T) {
	// For p = 1/2 the two-sided p-value is twice the smaller tail,
	// 2 * sum C(n, i) / 2^n, worked out by hand; R's binom.test gives the
	// same numbers. For p = 0.2 the binomial probabilities of n = 3 are
	// written out in the table's comments.
	const tol = 1e-12
	tests := []struct {
		k, n int
		p    float64
		want float64
	}{
		{7, 10, 0.5, 2 * float64(120+45+10+1) / 1024}, // 0.34375
		{9, 10, 0.5, 2 * float64(10+1) / 1024},        // 0.021484375
		{3, 10, 0.5, 2 * float64(1+10+45+120) / 1024}, // symmetric to 7 of 10
		{5, 10, 0.5, 1},
		{0, 5, 0.5, 2.0 / 32},
		{10, 20, 0.5, 1},
		{0, 0, 0.5, 1},
		// P(i) for n = 3, p = 0.2: 0.512, 0.384, 0.096, 0.008; k = 2 sums
		// the outcomes no more likely than 0.096: 0.096 + 0.008.
		{2, 3, 0.2, 0.104},
		// k = 1 (0.384) sums all but 0.512.
		{1, 3, 0.2, 0.488},
	}
	for _, tt := range tests {
		if got := BinomialTest(tt.k, tt.n, tt.p); math.Abs(got-tt.want) > tol {
			t.Errorf("BinomialTest(%d, %d, %v) = %.15g, want %.15g (tolerance %g)", tt.k, tt.n, tt.p, got, tt.want, tol)
		}
	}
}

// fakeSynth says (model, text) as a short 8 kHz tone whose pitch depends
// on both, and counts its calls.
type fakeSynth struct{ calls int }

func (f *fakeSynth) Say(_ context.Context, model, text string, seed uint64) ([]byte, error) {
	if model == "missing" {
		return nil, errors.New("no such model")
	}
	f.calls++
	x := make([]float32, 400)
	freq := 200 + 10*float64(len(model)+len(text)) + float64(seed%7)
	for i := range x {
		x[i] = float32(0.3 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return synth.Encode(audio.EncodingWAV, 8000, x)
}

// openStore opens the store on an embedded NATS server keeping its files
// in dir; stop stops the server (it stops by itself when the test ends).
func openStore(t *testing.T, dir string) (st *Store, stop func()) {
	t.Helper()
	js, err := jobs.Open(context.Background(), jobs.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(js.Close) }
	t.Cleanup(stop)
	st, err = Open(context.Background(), js.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return st, stop
}

func TestCreateAndRestart(t *testing.T) {
	dir := t.TempDir()
	st, stop := openStore(t, dir)
	syn := &fakeSynth{}
	test, err := st.Create(context.Background(), syn, Spec{Kind: KindMOS, Models: []string{"m1", "m2"}, Texts: []string{"1 2", "3"}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(test.Stimuli) != 4 || syn.calls != 4 {
		t.Fatalf("Create: %d stimuli from %d syntheses, want 4 from 4", len(test.Stimuli), syn.calls)
	}
	ab, err := st.Create(context.Background(), syn, Spec{Kind: KindAB, Models: []string{"m1", "m2"}, Texts: []string{"1 2", "3", "4", "5"}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	l1, _ := st.NewListener()
	l2, _ := st.NewListener()
	for i, s := range test.Stimuli {
		if err := st.Rate(test.ID, s.ID, l1, Rating{Score: 1 + i}); err != nil {
			t.Fatal(err)
		}
		if err := st.Rate(test.ID, s.ID, l2, Rating{Score: 5 - i}); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range ab.Stimuli {
		if err := st.Rate(ab.ID, s.ID, l1, Rating{Choice: []string{ChoiceA, ChoiceB, ChoiceNone, ChoiceA}[i]}); err != nil {
			t.Fatal(err)
		}
	}
	before, err := st.Results(test.ID)
	if err != nil {
		t.Fatal(err)
	}
	beforeAB, _ := st.Results(ab.ID)
	wav, err := st.Audio(test.ID, "s1", ChoiceA)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	stop() // the server goes down with everything in memory

	st, _ = openStore(t, dir)
	defer st.Close()
	after, err := st.Results(test.ID)
	if err != nil {
		t.Fatal(err)
	}
	afterAB, _ := st.Results(ab.ID)
	for _, p := range [][2]*Results{{before, after}, {beforeAB, afterAB}} {
		b, _ := json.Marshal(p[0])
		a, _ := json.Marshal(p[1])
		if !bytes.Equal(a, b) {
			t.Errorf("results after reopening:\n%s\nwant\n%s", a, b)
		}
	}
	if len(after.Ratings) != 8 || after.Listeners != 2 {
		t.Errorf("after reopening: %d ratings from %d listeners, want 8 from 2", len(after.Ratings), after.Listeners)
	}
	wav2, err := st.Audio(test.ID, "s1", ChoiceA)
	if err != nil || !bytes.Equal(wav, wav2) {
		t.Errorf("audio after reopening: %d bytes (err %v), want the %d bytes stored", len(wav2), err, len(wav))
	}
	if !st.KnownListener(l1) {
		t.Errorf("listener %s forgotten after reopening", l1)
	}
	ts, _ := st.Tests()
	if len(ts) != 2 {
		t.Errorf("Tests() after reopening: %d tests, want 2", len(ts))
	}
	if err := st.Delete(test.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Test(test.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Test after Delete: %v, want ErrNotFound", err)
	}
	if _, err := st.Results(test.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Results after Delete: %v, want ErrNotFound", err)
	}
}

func TestRateRejects(t *testing.T) {
	st, _ := openStore(t, t.TempDir())
	defer st.Close()
	mos, err := st.Create(context.Background(), &fakeSynth{}, Spec{Kind: KindMOS, Models: []string{"m"}, Texts: []string{"1"}})
	if err != nil {
		t.Fatal(err)
	}
	ab, err := st.Create(context.Background(), &fakeSynth{}, Spec{Kind: KindAB, Models: []string{"m", "n"}, Texts: []string{"1"}})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := st.NewListener()
	tests := []struct {
		name         string
		test, sid, l string
		r            Rating
		want         error
	}{
		{"unknown test", "nope", "s1", l, Rating{Score: 3}, ErrNotFound},
		{"unknown stimulus", mos.ID, "s9", l, Rating{Score: 3}, ErrNotFound},
		{"unknown listener", mos.ID, "s1", "forged", Rating{Score: 3}, ErrUnknownListener},
		{"no listener", mos.ID, "s1", "", Rating{Score: 3}, ErrUnknownListener},
		{"score 0", mos.ID, "s1", l, Rating{Score: 0}, ErrInvalid},
		{"score 6", mos.ID, "s1", l, Rating{Score: 6}, ErrInvalid},
		{"choice in MOS", mos.ID, "s1", l, Rating{Score: 3, Choice: ChoiceA}, ErrInvalid},
		{"bad choice", ab.ID, "s1", l, Rating{Choice: "c"}, ErrInvalid},
		{"score in A/B", ab.ID, "s1", l, Rating{Choice: ChoiceA, Score: 2}, ErrInvalid},
	}
	for _, tt := range tests {
		if err := st.Rate(tt.test, tt.sid, tt.l, tt.r); !errors.Is(err, tt.want) {
			t.Errorf("%s: Rate(%q, %q, %q, %+v) = %v, want %v", tt.name, tt.test, tt.sid, tt.l, tt.r, err, tt.want)
		}
	}
	if _, err := st.Audio(mos.ID, "s1", ChoiceB); !errors.Is(err, ErrInvalid) {
		t.Errorf("Audio of side b of a MOS stimulus: %v, want ErrInvalid", err)
	}
	if _, err := st.Audio(ab.ID, "s2", ChoiceA); !errors.Is(err, ErrNotFound) {
		t.Errorf("Audio of an unknown stimulus: %v, want ErrNotFound", err)
	}
	specs := []Spec{
		{Kind: "mushra", Models: []string{"m"}, Texts: []string{"1"}},
		{Kind: KindAB, Models: []string{"m"}, Texts: []string{"1"}},
		{Kind: KindMOS, Models: []string{"m", "m"}, Texts: []string{"1"}},
		{Kind: KindMOS, Models: []string{"m"}},
		{Kind: KindMOS, Models: []string{"m"}, Texts: []string{" "}},
	}
	for _, s := range specs {
		if _, err := st.Create(context.Background(), &fakeSynth{}, s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Create(%+v) = %v, want ErrInvalid", s, err)
		}
	}
	if _, err := st.Create(context.Background(), &fakeSynth{}, Spec{Kind: KindMOS, Models: []string{"missing"}, Texts: []string{"1"}}); err == nil {
		t.Error("Create with a model the synthesizer does not have: no error")
	}
}

func TestListenersOwnRatings(t *testing.T) {
	st, _ := openStore(t, t.TempDir())
	defer st.Close()
	test, err := st.Create(context.Background(), &fakeSynth{}, Spec{Kind: KindMOS, Models: []string{"m"}, Texts: []string{"1"}})
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := st.NewListener()
	bob, _ := st.NewListener()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.Rate(test.ID, "s1", alice, Rating{Score: 2}))
	must(st.Rate(test.ID, "s1", bob, Rating{Score: 5}))
	must(st.Rate(test.ID, "s1", alice, Rating{Score: 3})) // alice changes her mind
	ra, _ := st.Ratings(test.ID, alice)
	rb, _ := st.Ratings(test.ID, bob)
	if ra["s1"].Score != 3 || rb["s1"].Score != 5 {
		t.Errorf("after alice rates 2 then 3 and bob 5: alice %d, bob %d; want 3, 5", ra["s1"].Score, rb["s1"].Score)
	}
	res, _ := st.Results(test.ID)
	if m := res.MOS[0]; m.N != 2 || *m.Mean != 4 {
		t.Errorf("MOS = %d ratings, mean %v; want 2, 4", m.N, *m.Mean)
	}
}

func TestOrder(t *testing.T) {
	test := &Test{ID: "abc"}
	for i := range 20 {
		test.Stimuli = append(test.Stimuli, Stimulus{ID: fmt.Sprintf("s%d", i+1)})
	}
	want := make([]string, 20)
	for i, s := range test.Stimuli {
		want[i] = s.ID
	}
	a := Order(test, "alice")
	sorted := slices.Clone(a)
	slices.SortFunc(sorted, func(x, y string) int { return slices.Index(want, x) - slices.Index(want, y) })
	if !slices.Equal(sorted, want) {
		t.Fatalf("Order(alice) = %v is not a permutation of %v", a, want)
	}
	if again := Order(test, "alice"); !slices.Equal(a, again) {
		t.Errorf("Order(alice) twice: %v then %v, want the same", a, again)
	}
	// 20! orders: two listeners (or one listener of the identity order)
	// agreeing by chance has probability 1/20!, so equality is a bug.
	if b := Order(test, "bob"); slices.Equal(a, b) {
		t.Errorf("Order(alice) = Order(bob) = %v, want different orders", a)
	}
	if slices.Equal(a, want) {
		t.Errorf("Order(alice) = %v, the creation order", a)
	}
}

func TestCreateFromDir(t *testing.T) {
	syn := &fakeSynth{}
	wav := func(m, s string) *fstest.MapFile {
		b, _ := syn.Say(context.Background(), m, s, 0)
		return &fstest.MapFile{Data: b}
	}
	fsys := fstest.MapFS{
		"run/base/one.wav":  wav("base", "one"),
		"run/base/two.wav":  wav("base", "two"),
		"run/base/only.wav": wav("base", "only"),
		"run/new/one.wav":   wav("new", "one"),
		"run/new/two.wav":   wav("new", "two"),
		"run/bad/one.wav":   {Data: []byte("not a wav")},
	}
	st, _ := openStore(t, t.TempDir())
	defer st.Close()
	test, err := st.CreateFromDir(fsys, Spec{Kind: KindAB, Models: []string{"base", "new"}, Dir: "run"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(test.Texts, []string{"one", "two"}) || len(test.Stimuli) != 2 {
		t.Fatalf("CreateFromDir: texts %v, %d stimuli; want [one two], 2", test.Texts, len(test.Stimuli))
	}
	s := test.Stimuli[0]
	got, _ := st.Audio(test.ID, s.ID, ChoiceB)
	if want := fsys["run/"+s.ModelB+"/one.wav"].Data; !bytes.Equal(got, want) {
		t.Errorf("side b of %s: %d bytes, want %s/one.wav's %d", s.ID, len(got), s.ModelB, len(want))
	}
	for _, spec := range []Spec{
		{Kind: KindMOS, Dir: "../etc"},
		{Kind: KindMOS, Dir: "run"}, // includes "bad"
		{Kind: KindMOS, Dir: "none"},
	} {
		if _, err := st.CreateFromDir(fsys, spec); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateFromDir(%+v) = %v, want ErrInvalid", spec, err)
		}
	}
}

func TestResultsExport(t *testing.T) {
	st, _ := openStore(t, t.TempDir())
	defer st.Close()
	ctx := context.Background()
	mos, _ := st.Create(ctx, &fakeSynth{}, Spec{Name: "mos", Kind: KindMOS, Models: []string{"x", "y"}, Texts: []string{"1"}})
	ab, _ := st.Create(ctx, &fakeSynth{}, Spec{Name: "ab", Kind: KindAB, Models: []string{"x", "y"}, Texts: []string{"1"}})
	// x gets 3, 4, 5 (mean 4, s 1, half t(0.975, 2) = 4.302653 / sqrt(3));
	// y gets one 2 (no interval).
	for _, score := range []int{3, 4, 5} {
		l, _ := st.NewListener()
		if err := st.Rate(mos.ID, "s1", l, Rating{Score: score}); err != nil {
			t.Fatal(err)
		}
	}
	l, _ := st.NewListener()
	_ = st.Rate(mos.ID, "s2", l, Rating{Score: 2})
	// A/B: 4 listeners prefer x, 1 prefers y, 2 have no preference:
	// p = 2 * (C(5,0) + C(5,1)) / 32 = 0.375.
	sx, sy := ChoiceA, ChoiceB
	if ab.Stimuli[0].Model != "x" {
		sx, sy = sy, sx
	}
	for _, c := range []string{sx, sx, sx, sx, sy, ChoiceNone, ChoiceNone} {
		l, _ := st.NewListener()
		if err := st.Rate(ab.ID, "s1", l, Rating{Choice: c}); err != nil {
			t.Fatal(err)
		}
	}

	res, err := st.Results(mos.ID)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	half := 4.302653 / math.Sqrt(3)
	want := fmt.Sprintf("model,n,mean,ci95_low,ci95_high\nx,3,4.000000,%.6f,%.6f\ny,1,2.000000,,\n", 4-half, 4+half)
	if b.String() != want {
		t.Errorf("MOS CSV:\n%s\nwant\n%s", b.String(), want)
	}
	js, _ := json.Marshal(res)
	var back Results
	if err := json.Unmarshal(js, &back); err != nil || len(back.Ratings) != 4 || back.MOS[1].Low != nil || *back.MOS[0].Mean != 4 {
		t.Errorf("MOS JSON %s: does not read back as 4 ratings, x's mean 4 and no interval for y (err %v)", js, err)
	}
	if strings.Contains(string(js), l) {
		t.Errorf("results JSON holds a listener token: %s", js)
	}

	res, _ = st.Results(ab.ID)
	b.Reset()
	_ = res.WriteCSV(&b)
	want = "model,wins,ties,n,p_value\nx,4,2,5,0.375000\ny,1,2,5,0.375000\n"
	if b.String() != want {
		t.Errorf("A/B CSV:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	_ = res.WriteRatingsCSV(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 8 || lines[0] != "listener,stimulus,text,model,model_b,score,choice,preferred" {
		t.Errorf("A/B ratings CSV has %d lines, header %q; want 1 + 7 ratings and the header", len(lines), lines[0])
	}
	if n := strings.Count(b.String(), ",x\n"); n != 4 {
		t.Errorf("A/B ratings CSV prefers x %d times, want 4:\n%s", n, b.String())
	}
	if p := res.AB; p.Wins != [2]int{4, 1} || p.Ties != 2 || math.Abs(p.P-0.375) > 1e-12 {
		t.Errorf("A/B results %+v, want wins [4 1], 2 ties, p 0.375", *p)
	}
}

// TestReplicasShareTests: two processes' stores on one NATS (a second
// connection to the first's embedded server, as a second `serve` replica
// with --nats) see the same tests, listeners and ratings; ids from
// outside that are not ids (key patterns among them) are not found.
func TestReplicasShareTests(t *testing.T) {
	first, err := jobs.Open(context.Background(), jobs.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(first.Close)
	second, err := jobs.Open(context.Background(), jobs.Options{URL: first.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Close)
	a, err := Open(context.Background(), first.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), second.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	test, err := a.Create(context.Background(), &fakeSynth{}, Spec{Kind: KindMOS, Models: []string{"m1"}, Texts: []string{"1"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := b.NewListener()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Rate(test.ID, "s1", tok, Rating{Score: 4}); err != nil {
		t.Fatalf("rating on the other replica: %v", err)
	}
	r, err := a.Ratings(test.ID, tok)
	if err != nil || r["s1"].Score != 4 {
		t.Fatalf("the first replica reads %v, %v; want the other's score 4", r, err)
	}
	if wa, err := b.Audio(test.ID, "s1", ChoiceA); err != nil || len(wa) == 0 {
		t.Fatalf("audio on the other replica: %d bytes, %v", len(wa), err)
	}
	for _, id := range []string{"*", ">", test.ID + ".>", "test.*", "", "../x"} {
		if _, err := b.Test(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Test(%q) = %v, want ErrNotFound", id, err)
		}
		if err := b.Rate(test.ID, id, tok, Rating{Score: 3}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Rate(stimulus %q) = %v, want ErrNotFound", id, err)
		}
	}
	if err := b.Rate(test.ID, "s1", "*", Rating{Score: 3}); !errors.Is(err, ErrUnknownListener) {
		t.Errorf("Rate by listener \"*\" = %v, want ErrUnknownListener", err)
	}
	if err := a.Delete(test.ID); err != nil {
		t.Fatal(err)
	}
	if ts, err := b.Tests(); err != nil || len(ts) != 0 {
		t.Errorf("after Delete on one replica the other lists %d tests (%v), want 0", len(ts), err)
	}
	if keys, err := b.keys(context.Background(), "rating."+test.ID+".>"); err != nil || len(keys) != 0 {
		t.Errorf("ratings left after Delete: %v (%v)", keys, err)
	}
	if _, err := b.audio.GetBytes(context.Background(), test.ID+"/"+audioKey("s1", ChoiceA)); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Errorf("audio after Delete: %v, want ErrObjectNotFound", err)
	}
}
