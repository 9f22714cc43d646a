package classify

import (
	"errors"
	"strings"
	"testing"
)

func TestReportWriteText(t *testing.T) {
	// ann: 2 files, digit right once, speaker right twice; bob: 1 file
	// that was too short (wrong on both counts).
	r := &Report{Files: 3, Digits: 1, Speaks: 2, PerSpeaker: map[string][2]int{"bob": {0, 1}, "ann": {1, 2}},
		Results: []Result{
			{Name: "1_ann_5.wav", Speaker: "ann", Pred: Prediction{Digit: "1", DigitProb: 0.9, Speaker: "ann", SpeakerProb: 0.8}, DigitOK: true, SpeakerOK: true},
			{Name: "2_ann_5.wav", Speaker: "ann", Pred: Prediction{Digit: "3", DigitProb: 0.5, Speaker: "ann", SpeakerProb: 0.7}, SpeakerOK: true},
			{Name: "1_bob_5.wav", Speaker: "bob", Err: errors.New("too short")},
		}}
	var b strings.Builder
	if err := r.WriteText(&b, "val", true); err != nil {
		t.Fatal(err)
	}
	want := "\nval: 3 files, digit recognised 33.3%, speaker recognised 66.7%\n" +
		"  ann          2 files  digit  50.0%  speaker 100.0%\n" +
		"  bob          1 files  digit   0.0%  speaker   0.0%\n" +
		"  1_ann_5.wav                  heard 1 (p=0.90) by ann (p=0.80)\n" +
		"  2_ann_5.wav                  heard 3 (p=0.50) by ann (p=0.70)\n" +
		"  1_bob_5.wav                  error: too short\n"
	if b.String() != want {
		t.Errorf("WriteText(verbose) =\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	r.WriteText(&b, "val", false)
	if strings.Contains(b.String(), "heard") {
		t.Errorf("WriteText(not verbose) lists verdicts:\n%s", b.String())
	}
}
