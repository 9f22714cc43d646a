package speech

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/wavenet-go/wavenet/wavenet"
)

// Script is text made sayable: the labels to say, in order, the silence
// before each and what was changed to get them.
type Script struct {
	// Labels are values of the condition, at most MaxLabels of them.
	Labels []string
	// Pauses, if not nil, has one entry per label: the silence before it
	// (Pauses[0] is silence before the first label, usually 0). Nil means
	// the same pause between every two labels (the request's, default
	// DefaultPause), as for free text.
	Pauses []time.Duration
	// Trailing is the silence after the last label.
	Trailing time.Duration
	// Changes says how the input was read where it was not already a
	// list of labels: numbers read digit by digit, punctuation dropped,
	// number words, words skipped.
	Changes []Change
}

// Text returns the labels separated by spaces: text that ParseText reads
// back as Labels (for labels without spaces or punctuation, such as the
// digits), to pass to Items or as synth.Request.Text.
func (s Script) Text() string { return strings.Join(s.Labels, " ") }

// Change describes one word of the input that was read other than as
// written.
type Change struct {
	Pos  int    // character (rune) offset of From in the input (SSML: in its text), 0-based
	Line int    // SSML: the line of the document (0 for free text)
	From string // the word as written ("1,250")
	To   string // the labels said for it, space-separated ("1 2 5 0"); "" if skipped
	Why  string // how it was read (one of the Read* constants, joined by "; ")
}

// The reasons of a Change.
const (
	ReadDigits     = "read digit by digit"
	ReadGrouping   = "grouping commas dropped"
	ReadPhone      = "phone punctuation dropped"
	ReadPlus       = "leading + dropped"
	ReadNumberWord = "number word"
	ReadSkipped    = "skipped: the model cannot say it"
)

// NormalizeOptions configure Normalize.
type NormalizeOptions struct {
	// SkipWords drops words without digits that the model cannot say
	// ("Call", "now"), each reported as a Change, instead of failing.
	// Numbers that cannot be read ("3.5", "-4", "$5", "1st") are errors
	// in any case: dropping them would change what the text says. Number
	// words are read in any case, "oh" included: "Oh, call 42" is 0 4 2.
	SkipWords bool
}

// Normalize reads free text (an OpenAI-style "input") as labels of c.
// The model says only its label values (the ten digits), so:
//
//   - words are separated by spaces; punctuation that is not said is
//     dropped around them (, ; : . ! ? quotes, brackets, dashes);
//   - a word that is a value (any case) or a number word ("zero"/"oh" to
//     "nine", when the digits are values) is said as that value, as by
//     ParseText; hyphens join such words ("four-two");
//   - a number is read digit by digit ("427" is 4 2 7, "2026" is 2 0 2 6),
//     since the model has no words for "twenty" or "hundred"; grouping
//     commas are dropped ("1,250" is 1 2 5 0), and so is phone
//     punctuation: dashes, brackets, a leading "+" and dots when there are
//     two or more ("+1 (555) 010-9999", "555-0199", "555.010.9999");
//   - a decimal point ("3.5"), a minus sign ("-4") or any other character
//     in a number ("$5", "1st", "1/2") cannot be said: an error;
//   - any other word cannot be said: an error naming every such word with
//     its character offset, or, with o.SkipWords, a Change saying it was
//     skipped (words with digits are errors in any case).
//
// Errors are *InputError; What is c.Name and Value the first word the
// model cannot say. A text with nothing to say is an error too.
func Normalize(text string, c wavenet.Condition, o NormalizeOptions) (Script, error) {
	n := normalizer{c: c, skip: o.SkipWords}
	n.text(text)
	if err := n.err(fmt.Sprintf("text %s", quoteShort(text))); err != nil {
		return Script{}, err
	}
	return Script{Labels: n.labels, Changes: n.changes}, nil
}

// normalizer reads text word by word, collecting labels, changes and the
// words it cannot say.
type normalizer struct {
	c       wavenet.Condition
	skip    bool
	labels  []string
	changes []Change
	bad     []badWord
	tooMany bool
}

// badWord is a word that cannot be said, at character offset pos.
type badWord struct {
	pos  int
	word string
	why  string // "" for a plain word
	line int    // SSML: the line (pos is then within the text of an element)
}

func (n *normalizer) text(text string) {
	rs := []rune(text)
	for i := 0; i < len(rs); {
		if unicode.IsSpace(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && !unicode.IsSpace(rs[j]) {
			j++
		}
		n.word(rs[i:j], i)
		i = j
	}
}

// isQuiet reports whether r is punctuation that is not said.
func isQuiet(r rune) bool {
	return strings.ContainsRune(",;:.!?\"'()[]{}-\u2013\u2014\u2026\u201c\u201d\u2018\u2019\u00ab\u00bb", r)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// word reads one space-separated word w at character offset pos.
func (n *normalizer) word(w []rune, pos int) {
	var why []string
	// Trim punctuation that is not said, but not a sign before a digit.
	for len(w) > 0 && isQuiet(w[0]) && !(w[0] == '-' && len(w) > 1 && isDigit(w[1])) {
		w, pos = w[1:], pos+1
	}
	for len(w) > 0 && isQuiet(w[len(w)-1]) {
		w = w[:len(w)-1]
	}
	if len(w) == 0 {
		return
	}
	from := string(w)
	if w[0] == '-' {
		n.bad = append(n.bad, badWord{pos: pos, word: from, why: "no word for a minus sign"})
		return
	}
	if w[0] == '+' && len(w) > 1 && isDigit(w[1]) {
		w = w[1:]
		why = append(why, ReadPlus)
	}
	if labels, more, ok := readNumber(string(w)); ok {
		if more != "" {
			why = append(why, more)
		}
		n.number(labels, from, pos, why)
		return
	}
	if ip, frac, ok := strings.Cut(string(w), "."); ok && isNumberShape(ip) && isNumberShape(frac) && !strings.Contains(frac, ",") {
		n.bad = append(n.bad, badWord{pos: pos, word: from, why: fmt.Sprintf("no word for a decimal point (write %q to read the digits)", ip+" "+frac)})
		return
	}
	// Words, possibly joined by punctuation ParseText separates at or by
	// hyphens.
	for _, piece := range splitKeep(w, pos, func(r rune) bool { return isSeparator(r) || r == '-' }) {
		n.piece(piece.word, piece.pos)
	}
}

// number adds the digit labels of the number from at pos.
func (n *normalizer) number(digits, from string, pos int, why []string) {
	var out []string
	for _, r := range digits {
		v, ok := wordValue(string(r), n.c)
		if !ok {
			n.bad = append(n.bad, badWord{pos: pos, word: from, why: fmt.Sprintf("%q is not a %s", string(r), n.c.Name)})
			return
		}
		out = append(out, v)
	}
	if len(out) > 1 {
		why = append([]string{ReadDigits}, why...)
	}
	if len(why) > 0 {
		n.changes = append(n.changes, Change{Pos: pos, From: from, To: strings.Join(out, " "), Why: strings.Join(why, "; ")})
	}
	n.add(out...)
}

// piece reads one word without spaces or separators.
func (n *normalizer) piece(w string, pos int) {
	if v, ok := wordValue(w, n.c); ok {
		if _, isNum := numberWords[strings.ToLower(w)]; isNum && !strings.EqualFold(v, w) {
			n.changes = append(n.changes, Change{Pos: pos, From: w, To: v, Why: ReadNumberWord})
		}
		n.add(v)
		return
	}
	if strings.ContainsFunc(w, isDigit) {
		if digits, _, ok := readNumber(w); ok {
			n.number(digits, w, pos, nil)
			return
		}
		n.bad = append(n.bad, badWord{pos: pos, word: w})
		return
	}
	// A word of one-character values, as ParseText reads it.
	var out []string
	for _, r := range w {
		if !slices.Contains(n.c.Values, string(r)) {
			out = nil
			break
		}
		out = append(out, string(r))
	}
	switch {
	case out != nil:
		n.add(out...)
	case n.skip:
		n.changes = append(n.changes, Change{Pos: pos, From: w, Why: ReadSkipped})
	default:
		n.bad = append(n.bad, badWord{pos: pos, word: w})
	}
}

func (n *normalizer) add(labels ...string) {
	if len(n.labels)+len(labels) > MaxLabels {
		n.tooMany = true
		return
	}
	n.labels = append(n.labels, labels...)
}

// maxNamed bounds the words an error lists.
const maxNamed = 10

// err returns the *InputError of what n could not read in what (a
// description of the input such as `text "..."`), or nil.
func (n *normalizer) err(what string) error {
	bad := func(v, msg string) error {
		return &InputError{What: n.c.Name, Value: v, Allowed: slices.Clone(n.c.Values), Msg: msg}
	}
	if len(n.bad) > 0 {
		var parts []string
		for _, b := range n.bad[:min(len(n.bad), maxNamed)] {
			p := fmt.Sprintf("%q (character %d)", b.word, b.pos)
			if b.line > 0 {
				p = fmt.Sprintf("%q (line %d)", b.word, b.line)
			}
			if b.why != "" {
				p += ": " + b.why
			}
			parts = append(parts, p)
		}
		if len(n.bad) > maxNamed {
			parts = append(parts, fmt.Sprintf("and %d more", len(n.bad)-maxNamed))
		}
		return bad(n.bad[0].word, fmt.Sprintf("%s: the model cannot say %s; it says only %s values, numbers digit by digit and number words (zero to nine)",
			what, strings.Join(parts, ", "), n.c.Name))
	}
	if n.tooMany {
		return bad("", fmt.Sprintf("%s has more than %d %s values", what, MaxLabels, n.c.Name))
	}
	if len(n.labels) == 0 {
		return bad("", fmt.Sprintf("%s has no %s to say", what, n.c.Name))
	}
	return nil
}

// quoteShort quotes s, shortened to its first 60 characters.
func quoteShort(s string) string {
	if rs := []rune(s); len(rs) > 60 {
		return fmt.Sprintf("%q...", string(rs[:60]))
	}
	return fmt.Sprintf("%q", s)
}

// readNumber reads w as a number said digit by digit: ASCII digits with
// grouping commas ("1,250"), or digit groups joined by phone punctuation
// (- ( ) and dots when there are two or more). It returns the digits and
// the Change reason of the punctuation dropped ("" for none).
func readNumber(w string) (digits, why string, ok bool) {
	if w == "" || !isDigit(rune(w[0])) || !isDigit(rune(w[len(w)-1])) {
		return "", "", false
	}
	var b strings.Builder
	commas, dots, phone := 0, 0, 0
	for _, r := range w {
		switch {
		case isDigit(r):
			b.WriteRune(r)
		case r == ',':
			commas++
		case r == '.':
			dots++
		case r == '-' || r == '(' || r == ')':
			phone++
		default:
			return "", "", false
		}
	}
	switch {
	case commas > 0 && (dots > 0 || phone > 0):
		return "", "", false
	case commas > 0:
		if !isNumberShape(w) {
			return "", "", false // a list such as "4,2,7": ParseText separates it
		}
		return b.String(), ReadGrouping, true
	case dots == 1:
		return "", "", false // a decimal point
	case dots > 0 || phone > 0:
		return b.String(), ReadPhone, true
	}
	return b.String(), "", true
}

// isNumberShape reports whether w is ASCII digits, optionally grouped in
// threes by commas ("1,250,000").
func isNumberShape(w string) bool {
	groups := strings.Split(w, ",")
	for i, g := range groups {
		if g == "" || strings.ContainsFunc(g, func(r rune) bool { return !isDigit(r) }) {
			return false
		}
		if len(groups) > 1 && (i > 0 && len(g) != 3 || i == 0 && len(g) > 3) {
			return false
		}
	}
	return true
}

// posWord is a word at a character offset.
type posWord struct {
	word string
	pos  int
}

// splitKeep splits w (at character offset pos) at runes for which sep is
// true, keeping the offsets of the non-empty pieces.
func splitKeep(w []rune, pos int, sep func(rune) bool) []posWord {
	var out []posWord
	start := 0
	for i := 0; i <= len(w); i++ {
		if i == len(w) || sep(w[i]) {
			if i > start {
				out = append(out, posWord{string(w[start:i]), pos + start})
			}
			start = i + 1
		}
	}
	return out
}
