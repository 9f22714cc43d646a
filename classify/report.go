package classify

import (
	"fmt"
	"io"
	"sort"
)

// WriteText writes the report as `wavenet eval` prints it: a line with the
// files and both accuracies under title, one line per speaker (sorted)
// and, with verbose, every file's verdict.
func (r *Report) WriteText(w io.Writer, title string, verbose bool) error {
	fmt.Fprintf(w, "\n%s: %d files, digit recognised %.1f%%, speaker recognised %.1f%%\n",
		title, r.Files, 100*r.DigitAccuracy(), 100*r.SpeakerAccuracy())
	var speakers []string
	for s := range r.PerSpeaker {
		speakers = append(speakers, s)
	}
	sort.Strings(speakers)
	for _, s := range speakers {
		ps := r.PerSpeaker[s]
		sp := 0
		for _, res := range r.Results {
			if res.Speaker == s && res.SpeakerOK {
				sp++
			}
		}
		fmt.Fprintf(w, "  %-10s %3d files  digit %5.1f%%  speaker %5.1f%%\n", s, ps[1],
			100*float64(ps[0])/float64(ps[1]), 100*float64(sp)/float64(ps[1]))
	}
	if !verbose {
		return nil
	}
	for _, res := range r.Results {
		verdict := fmt.Sprintf("heard %s (p=%.2f) by %s (p=%.2f)", res.Pred.Digit, res.Pred.DigitProb, res.Pred.Speaker, res.Pred.SpeakerProb)
		if res.Err != nil {
			verdict = "error: " + res.Err.Error()
		}
		if _, err := fmt.Fprintf(w, "  %-28s %s\n", res.Name, verdict); err != nil {
			return err
		}
	}
	return nil
}
