package speech

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// ms is a duration in milliseconds.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestParseSSML(t *testing.T) {
	// Pauses by name: w is the pause between two words (DefaultPause,
	// 150 ms), s and p the sentence and paragraph boundaries (400 and
	// 700 ms).
	w, s, p := DefaultPause, SentencePause, ParagraphPause
	tests := []struct {
		doc      string
		want     string          // the labels, space-separated
		pauses   []time.Duration // before each label
		trailing time.Duration
	}{
		{doc: "<speak>4 2 7</speak>", want: "4 2 7", pauses: []time.Duration{0, w, w}},
		{doc: "<speak>four, two. Seven!</speak>", want: "4 2 7", pauses: []time.Duration{0, w, w}},
		{doc: "<speak>1,250</speak>", want: "1 2 5 0", pauses: []time.Duration{0, w, w, w}},
		{doc: `<?xml version="1.0"?>` + "\n<!-- a comment -->\n<speak>\n  4<!-- inside -->2\n</speak>\n", want: "4 2", pauses: []time.Duration{0, w}},
		{doc: `<speak><p xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en">4</p></speak>`, want: "4", pauses: []time.Duration{0}},
		{doc: `<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US">4</speak>`, want: "4", pauses: []time.Duration{0}},
		// say-as.
		{doc: `<speak><say-as interpret-as="characters">12 3</say-as></speak>`, want: "1 2 3", pauses: []time.Duration{0, w, w}},
		{doc: `<speak><say-as interpret-as="cardinal"> 12 </say-as></speak>`, want: "1 2", pauses: []time.Duration{0, w}},
		{doc: `<speak><say-as interpret-as="cardinal">1,250,000</say-as></speak>`, want: "1 2 5 0 0 0 0", pauses: []time.Duration{0, w, w, w, w, w, w}},
		{doc: `<speak><say-as interpret-as="telephone">+1 (555) 010-9999</say-as></speak>`, want: "1 5 5 5 0 1 0 9 9 9 9", pauses: []time.Duration{0, w, w, w, w, w, w, w, w, w, w}},
		{doc: `<speak><say-as interpret-as="telephone">555.0199</say-as></speak>`, want: "5 5 5 0 1 9 9", pauses: []time.Duration{0, w, w, w, w, w, w}},
		{doc: `<speak>1 <say-as interpret-as="characters">4</say-as> 2</speak>`, want: "1 4 2", pauses: []time.Duration{0, w, w}},
		// Breaks.
		{doc: `<speak>4<break time="500ms"/>2</speak>`, want: "4 2", pauses: []time.Duration{0, ms(500)}},
		{doc: `<speak>4<break time="1.5s"/>2<break time="0s"/>7</speak>`, want: "4 2 7", pauses: []time.Duration{0, ms(1500), 0}},
		{doc: `<speak>4 <break time="1s"/> <break time="250ms"></break> 2</speak>`, want: "4 2", pauses: []time.Duration{0, ms(1250)}},
		{doc: `<speak>4<break/>2</speak>`, want: "4 2", pauses: []time.Duration{0, BreakStrengths["medium"]}},
		{doc: `<speak>4<break strength="none"/>2<break strength="x-strong"/>7</speak>`, want: "4 2 7", pauses: []time.Duration{0, 0, time.Second}},
		{doc: `<speak>4<break strength="weak" time="2s"/>2</speak>`, want: "4 2", pauses: []time.Duration{0, 2 * time.Second}},
		{doc: `<speak><break time="300ms"/>4<break time="10s"/></speak>`, want: "4", pauses: []time.Duration{ms(300)}, trailing: 10 * time.Second},
		// Sentences and paragraphs.
		{doc: `<speak><p><s>4 2</s><s>7</s></p><p>1</p></speak>`, want: "4 2 7 1", pauses: []time.Duration{0, w, s, p}},
		{doc: `<speak><s>4</s><break time="50ms"/><s>2</s></speak>`, want: "4 2", pauses: []time.Duration{0, ms(50)}},
		// Entities and character references.
		{doc: "<speak>4 &#x32; &#55;<![CDATA[ 1 ]]></speak>", want: "4 2 7 1", pauses: []time.Duration{0, w, w, w}},
		{doc: `<speak><say-as interpret-as="characters">&#52;&#50;</say-as></speak>`, want: "4 2", pauses: []time.Duration{0, w}},
	}
	for _, tt := range tests {
		got, err := ParseSSML(tt.doc, digitCondition)
		if err != nil || got.Text() != tt.want || !slices.Equal(got.Pauses, tt.pauses) || got.Trailing != tt.trailing {
			t.Errorf("ParseSSML(%q) = %q pauses %v trailing %v, %v; want %q pauses %v trailing %v",
				tt.doc, got.Text(), got.Pauses, got.Trailing, err, tt.want, tt.pauses, tt.trailing)
		}
	}
}

func TestParseSSMLErrors(t *testing.T) {
	tests := []struct {
		doc string
		bad []string // parts of the error
	}{
		// Text the model cannot say.
		{"<speak>Call 555-0199\nnow</speak>", []string{`"Call" (line 1)`, `"now" (line 2)`, "allowed: 0, 1, 2"}},
		{"<speak>\n<p>4</p>\n<p>\n\n2 two twelve</p></speak>", []string{`"twelve" (line 5)`}},
		{"<speak>3.5</speak>", []string{`"3.5"`, "decimal point"}},
		{`<speak><say-as interpret-as="characters">4A</say-as></speak>`, []string{`ssml line 1: <say-as interpret-as="characters">"4A"</say-as>: the model cannot say "A"`}},
		{`<speak><say-as interpret-as="characters">4-2</say-as></speak>`, []string{`cannot say "-"`}},
		{`<speak><say-as interpret-as="cardinal">-12</say-as></speak>`, []string{`"-12"`, "minus sign"}},
		{`<speak><say-as interpret-as="cardinal">1.5</say-as></speak>`, []string{`"1.5"`, "decimal point"}},
		{`<speak><say-as interpret-as="cardinal">twelve</say-as></speak>`, []string{`"twelve"`, "not a whole number"}},
		{`<speak><say-as interpret-as="cardinal">1 2</say-as></speak>`, []string{`"1 2"`, "not a whole number"}},
		{`<speak><say-as interpret-as="telephone">1-800-FLOWERS</say-as></speak>`, []string{`"F" is not part of a phone number`}},
		{`<speak><say-as interpret-as="telephone"> - </say-as></speak>`, []string{"nothing to say"}},
		{`<speak></speak>`, []string{"ssml has no digit to say"}},
		{`<speak><break time="1s"/></speak>`, []string{"ssml has no digit to say"}},
		// Elements and attributes.
		{`<speak>4<audio src="x.wav"/></speak>`, []string{"ssml line 1: element <audio> is not supported", "allowed: speak, say-as, break, p, s"}},
		{`<speak><prosody rate="slow">4</prosody></speak>`, []string{"element <prosody>"}},
		{`<speak><emphasis>4</emphasis></speak>`, []string{"element <emphasis>"}},
		{`<p>4</p>`, []string{"the root element is <p>; want <speak>"}},
		{`<speak>4</speak><speak>2</speak>`, []string{"element <speak> after the end of <speak>"}},
		{`<speak><speak>4</speak></speak>`, []string{"<speak> inside <speak>"}},
		{`<speak><say-as interpret-as="characters"><break/>4</say-as></speak>`, []string{"element <break> inside <say-as>, which holds only text (allowed: text only)"}},
		{`<speak><say-as interpret-as="date">2026</say-as></speak>`, []string{`<say-as interpret-as="date"> is not supported`, "allowed: characters, cardinal, telephone"}},
		{`<speak><say-as>4</say-as></speak>`, []string{`<say-as interpret-as=""> is not supported`}},
		{`<speak><say-as interpret-as="telephone" format="1">555</say-as></speak>`, []string{`attribute "format" of <say-as> is not supported`, "allowed: interpret-as, xml:lang, xmlns"}},
		{`<speak foo="1">4</speak>`, []string{`attribute "foo" of <speak>`}},
		{`<speak><p xmlns="urn:x">4</p></speak>`, []string{"element <urn:x:p> is not supported"}},
		{`<speak xmlns:x="urn:x"><x:mark/>4</speak>`, []string{"element <urn:x:mark> is not supported"}},
		{`<speak>4<break time="2 s"/>2</speak>`, []string{`<break time="2 s">`, "non-negative decimal number"}},
		{`<speak>4<break time="-1s"/>2</speak>`, []string{`<break time="-1s">`}},
		{`<speak>4<break time="500"/>2</speak>`, []string{`<break time="500">: want a number of seconds (s) or milliseconds (ms)`}},
		{`<speak>4<break time="11s"/>2</speak>`, []string{`<break time="11s">: longer than 10s`}},
		{`<speak>4<break time="1e3ms"/>2</speak>`, []string{`<break time="1e3ms">`}},
		{`<speak>4<break time="NaNs"/>2</speak>`, []string{`<break time="NaNs">`}},
		{`<speak>4<break time="6s"/><break time="6s"/>2</speak>`, []string{"breaks in a row add up to 12s, more than 10s"}},
		{`<speak>4<break strength="loud"/>2</speak>`, []string{`<break strength="loud"> is not a strength`, "allowed: medium, none, strong, weak, x-strong, x-weak"}},
		{`<speak>4<break>2</break></speak>`, []string{`text "2" inside <break>, which is empty`}},
		{`4<speak>2</speak>`, []string{`text "4" outside <speak>`}},
		{`<speak>2</speak>4`, []string{`text "4" outside <speak>`}},
		// Malformed XML.
		{`<speak>4`, []string{"ssml is not well-formed XML: line 1: unexpected EOF"}},
		{`<speak>4</spak>`, []string{"ssml is not well-formed XML", "spak"}},
		{"<speak>\n4 &nbsp; 2</speak>", []string{"ssml is not well-formed XML: line 2", "nbsp"}},
		{`<speak>4 < 2</speak>`, []string{"ssml is not well-formed XML"}},
		{"<speak>\xff</speak>", []string{"ssml is not well-formed XML", "UTF-8"}},
		{`<!DOCTYPE speak [<!ENTITY x "4">]><speak>&x;</speak>`, []string{"<!DOCTYPE> is not supported"}},
		{`<?xml version="1.0" encoding="ISO-8859-1"?><speak>4</speak>`, []string{"ssml is not well-formed XML", "ISO-8859-1"}},
		{`<speak><?php echo 4 ?></speak>`, []string{"processing instruction <?php?> is not supported"}},
		{"", []string{"the document has no <speak> element"}},
		{"4 2", []string{`text "4 2" outside <speak>`}},
		{"<speak>" + strings.Repeat("1", MaxLabels+1) + "</speak>", []string{"more than 1000 digit values"}},
		{"<speak>" + strings.Repeat(`<say-as interpret-as="characters">1</say-as>`, MaxLabels+1) + "</speak>", []string{"more than 1000 digit values"}},
	}
	for _, tt := range tests {
		got, err := ParseSSML(tt.doc, digitCondition)
		if !IsInputError(err) {
			t.Errorf("ParseSSML(%q) = %q, %v, want an *InputError", tt.doc, got.Labels, err)
			continue
		}
		for _, b := range tt.bad {
			if !strings.Contains(err.Error(), b) {
				t.Errorf("ParseSSML(%q) error %q does not contain %q", tt.doc, err, b)
			}
		}
	}
}

// Example of the items and pauses a route passes on: Items reads the
// Script's Text, and Pauses[i] is the silence before item i.
func ExampleParseSSML() {
	s, err := ParseSSML(`<speak>Four <break time="1s"/><say-as interpret-as="telephone">555-01</say-as></speak>`, digitCondition)
	if err != nil {
		fmt.Println(err)
		return
	}
	items, err := Items(testConfig(16), s.Text(), map[string]string{"speaker": "bob"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, it := range items {
		fmt.Println(s.Pauses[i], it.Label, it.Cond)
	}
	// Output:
	// 0s 4 [1 4]
	// 1s 5 [1 5]
	// 150ms 5 [1 5]
	// 150ms 5 [1 5]
	// 150ms 0 [1 0]
	// 150ms 1 [1 1]
}

func TestConcatPauses(t *testing.T) {
	a := slices.Repeat([]float32{1}, 100)
	b := slices.Repeat([]float32{0.5}, 60)
	// With no pause before the first part, the same pause before the
	// others and none after, ConcatPauses is Concat.
	if got, want := ConcatPauses([][]float32{a, b, a}, []int{0, 10, 10}, 0, testRate), Concat([][]float32{a, b, a}, 10, testRate); !slices.Equal(got, want) {
		t.Errorf("ConcatPauses(pauses 0, 10, 10) differs from Concat(pause 10)")
	}
	got := ConcatPauses([][]float32{a, b}, []int{5, 0}, 7, testRate)
	want := slices.Concat(make([]float32, 5), Concat([][]float32{a, b}, 0, testRate), make([]float32, 7))
	if !slices.Equal(got, want) {
		t.Errorf("ConcatPauses(pauses 5, 0, trailing 7) = %d samples, want 5 of silence, Concat(a, b, pause 0), 7 of silence (%d)", len(got), len(want))
	}
	// 150 ms and 1.5 s at 8 kHz are 1200 and 12000 samples; 0.1 ms rounds
	// to 1 sample (0.8).
	if got := PauseSamples([]time.Duration{DefaultPause, 1500 * time.Millisecond, 100 * time.Microsecond}, 8000); !slices.Equal(got, []int{1200, 12000, 1}) {
		t.Errorf("PauseSamples(150ms, 1.5s, 0.1ms at 8 kHz) = %v, want [1200 12000 1]", got)
	}
	if PauseSamples(nil, 8000) != nil {
		t.Errorf("PauseSamples(nil) != nil")
	}
}
