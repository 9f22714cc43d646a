package ltest

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// Results are a test's statistics: MOS per model (KindMOS) or the
// preference counts and binomial test (KindAB), and every rating with
// the listeners anonymised (L1, L2, ... in the order of their tokens).
type Results struct {
	Test      string      `json:"test"`
	Name      string      `json:"name"`
	Kind      Kind        `json:"kind"`
	Listeners int         `json:"listeners"`
	MOS       []ModelMOS  `json:"mos,omitempty"`
	AB        *Preference `json:"ab,omitempty"`
	Ratings   []RatingRow `json:"ratings"`
}

// ModelMOS is a model's mean opinion score over all its ratings, with
// the 95% confidence interval [Low, High] of MeanCI (nil with fewer than
// two ratings; Mean is nil with none).
type ModelMOS struct {
	Model string   `json:"model"`
	N     int      `json:"n"`
	Mean  *float64 `json:"mean"`
	Low   *float64 `json:"ci95_low"`
	High  *float64 `json:"ci95_high"`
}

// Preference is the outcome of an A/B test: how often each of the two
// models (in the test's Models order) was preferred, the ties, and the
// two-sided exact binomial test of Wins[0] in Wins[0]+Wins[1] against
// 1/2 (BinomialTest; ties excluded, as is usual: they carry no
// preference).
type Preference struct {
	Models [2]string `json:"models"`
	Wins   [2]int    `json:"wins"`
	Ties   int       `json:"ties"`
	P      float64   `json:"p_value"`
}

// RatingRow is one rating as exported.
type RatingRow struct {
	Listener  string `json:"listener"`
	Stimulus  string `json:"stimulus"`
	Text      string `json:"text"`
	Model     string `json:"model"`
	ModelB    string `json:"model_b,omitempty"`
	Score     int    `json:"score,omitempty"`
	Choice    string `json:"choice,omitempty"`
	Preferred string `json:"preferred,omitempty"` // the model chosen; "" for no preference
}

// Results computes test id's results from its stored ratings.
func (st *Store) Results(id string) (*Results, error) {
	var t *Test
	type raw struct {
		sid, listener string
		r             Rating
	}
	var rs []raw
	if err := st.eachRating(id, func(tt *Test, sid, l string, r Rating) {
		t = tt
		rs = append(rs, raw{sid, l, r})
	}); err != nil {
		return nil, err
	}
	if t == nil {
		var err error
		if t, err = st.Test(id); err != nil {
			return nil, err
		}
	}
	var tokens []string
	for _, r := range rs {
		if !slices.Contains(tokens, r.listener) {
			tokens = append(tokens, r.listener)
		}
	}
	slices.Sort(tokens)
	res := &Results{Test: t.ID, Name: t.Name, Kind: t.Kind, Listeners: len(tokens), Ratings: []RatingRow{}}
	scores := map[string][]float64{}
	pref := &Preference{Models: [2]string{t.Models[0], t.Models[len(t.Models)-1]}}
	for _, r := range rs {
		s, _ := t.Stimulus(r.sid)
		row := RatingRow{Listener: "L" + strconv.Itoa(slices.Index(tokens, r.listener)+1), Stimulus: s.ID, Text: s.Text,
			Model: s.Model, ModelB: s.ModelB, Score: r.r.Score, Choice: r.r.Choice}
		switch t.Kind {
		case KindMOS:
			scores[s.Model] = append(scores[s.Model], float64(r.r.Score))
		case KindAB:
			switch r.r.Choice {
			case ChoiceA:
				row.Preferred = s.Model
			case ChoiceB:
				row.Preferred = s.ModelB
			default:
				pref.Ties++
			}
			if i := slices.Index(pref.Models[:], row.Preferred); i >= 0 {
				pref.Wins[i]++
			}
		}
		res.Ratings = append(res.Ratings, row)
	}
	switch t.Kind {
	case KindMOS:
		for _, m := range t.Models {
			x := scores[m]
			mm := ModelMOS{Model: m, N: len(x)}
			if mean, half := MeanCI(x); !math.IsNaN(mean) {
				mm.Mean = &mean
				if !math.IsNaN(half) {
					lo, hi := mean-half, mean+half
					mm.Low, mm.High = &lo, &hi
				}
			}
			res.MOS = append(res.MOS, mm)
		}
	case KindAB:
		pref.P = BinomialTest(pref.Wins[0], pref.Wins[0]+pref.Wins[1], 0.5)
		res.AB = pref
	}
	return res, nil
}

// WriteCSV writes the summary of r as CSV with a header line: for a MOS
// test "model,n,mean,ci95_low,ci95_high" (empty cells where there is no
// value), for an A/B test "model,wins,ties,n,p_value" with one line per
// model (ties, n = wins of both and p_value repeated on both lines).
// Numbers are written with 6 decimals.
func (r *Results) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	num := func(x *float64) string {
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'f', 6, 64)
	}
	var rows [][]string
	switch r.Kind {
	case KindMOS:
		rows = append(rows, []string{"model", "n", "mean", "ci95_low", "ci95_high"})
		for _, m := range r.MOS {
			rows = append(rows, []string{m.Model, strconv.Itoa(m.N), num(m.Mean), num(m.Low), num(m.High)})
		}
	case KindAB:
		rows = append(rows, []string{"model", "wins", "ties", "n", "p_value"})
		if p := r.AB; p != nil {
			n := strconv.Itoa(p.Wins[0] + p.Wins[1])
			for i, m := range p.Models {
				rows = append(rows, []string{m, strconv.Itoa(p.Wins[i]), strconv.Itoa(p.Ties), n, num(&p.P)})
			}
		}
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("ltest: write csv: %w", err)
	}
	return nil
}

// WriteRatingsCSV writes every rating of r as CSV with the header
// "listener,stimulus,text,model,model_b,score,choice,preferred" (empty
// cells where a field does not apply to the test's kind).
func (r *Results) WriteRatingsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"listener", "stimulus", "text", "model", "model_b", "score", "choice", "preferred"}}
	for _, x := range r.Ratings {
		score := ""
		if x.Score != 0 {
			score = strconv.Itoa(x.Score)
		}
		rows = append(rows, []string{x.Listener, x.Stimulus, x.Text, x.Model, x.ModelB, score, x.Choice, x.Preferred})
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("ltest: write csv: %w", err)
	}
	return nil
}
