package speech

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/wavenet-go/wavenet/wavenet"
)

// InputError reports a request that does not fit the model: an unknown
// condition value, a missing condition or text that is not made of label
// values. Allowed lists what would be accepted.
type InputError struct {
	What    string   // "speaker", "text", ...: the condition or field concerned
	Value   string   // the offending value ("" for a missing one)
	Allowed []string // accepted values
	Msg     string   // what is wrong, if not an unknown value
}

func (e *InputError) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = fmt.Sprintf("unknown %s %q", e.What, e.Value)
	}
	return fmt.Sprintf("speech: %s (allowed: %s)", msg, strings.Join(e.Allowed, ", "))
}

// MaxLabels bounds the number of labels of one text.
const MaxLabels = 1000

// numberWords are the English number words said as digits.
var numberWords = map[string]string{
	"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
	"five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}

// isSeparator reports whether r separates the words of a text: spaces and
// punctuation (, ; . ! ?).
func isSeparator(r rune) bool {
	return unicode.IsSpace(r) || r == ',' || r == ';' || r == '.' || r == '!' || r == '?'
}

// ParseText splits text into values of c. Words are separated by spaces or
// punctuation (",;.!?": "4 2 7", "4,2,7", "Four. Two!"); a word that
// matches a value case-insensitively is that value; a number word ("zero"
// or "oh" to "nine") is its digit when the digits are values; a word
// that is none of these but whose every character is a one-character
// value is split into characters ("427"). Anything else is an *InputError
// listing the allowed values.
func ParseText(text string, c wavenet.Condition) ([]string, error) {
	bad := func(v, msg string) error {
		return &InputError{What: c.Name, Value: v, Allowed: slices.Clone(c.Values), Msg: msg}
	}
	words := strings.FieldsFunc(text, isSeparator)
	if len(words) == 0 {
		return nil, bad("", fmt.Sprintf("text %q has no %s to say", text, c.Name))
	}
	var out []string
	for _, w := range words {
		if v, ok := wordValue(w, c); ok {
			out = append(out, v)
		} else {
			for _, r := range w {
				if !slices.Contains(c.Values, string(r)) {
					return nil, bad(string(r), fmt.Sprintf("text %q: %q is not a %s", text, string(r), c.Name))
				}
				out = append(out, string(r))
			}
		}
		if len(out) > MaxLabels {
			return nil, bad("", fmt.Sprintf("text has more than %d %s values", MaxLabels, c.Name))
		}
	}
	return out, nil
}

// wordValue returns the value of c that word w names: itself, a value
// equal but for case, or the digit of a number word.
func wordValue(w string, c wavenet.Condition) (string, bool) {
	if slices.Contains(c.Values, w) {
		return w, true
	}
	for _, v := range c.Values {
		if strings.EqualFold(v, w) {
			return v, true
		}
	}
	if d, ok := numberWords[strings.ToLower(w)]; ok && slices.Contains(c.Values, d) {
		return d, true
	}
	return "", false
}

// Item is one word of a text to say: its label and the model's condition
// indices to say it with.
type Item struct {
	Label string
	Cond  []int // one index per model condition
}

// Items parses text (ParseText, on the model's label condition,
// wavenet.Config.LabelCondition) into the items to say, with the other
// conditions' values taken from cond by name; a condition not given takes
// its first value. Errors are *InputError.
func Items(cfg wavenet.Config, text string, cond map[string]string) ([]Item, error) {
	lc := cfg.LabelCondition()
	if lc < 0 {
		names := make([]string, len(cfg.Conditions))
		for i, c := range cfg.Conditions {
			names[i] = c.Name
		}
		return nil, &InputError{What: "conditions", Allowed: names,
			Msg: "the model has no label condition to say text with (its conditions are listed)"}
	}
	labels, err := ParseText(text, cfg.Conditions[lc])
	if err != nil {
		return nil, err
	}
	base := make([]int, len(cfg.Conditions))
	for name := range cond {
		if i := cfg.Condition(name); i < 0 || i == lc {
			var allowed []string
			for j, c := range cfg.Conditions {
				if j != lc {
					allowed = append(allowed, c.Name)
				}
			}
			return nil, &InputError{What: "condition", Value: name, Allowed: allowed}
		}
	}
	for i, c := range cfg.Conditions {
		v, ok := cond[c.Name]
		if i == lc || !ok {
			continue
		}
		h, err := c.Index(v)
		if err != nil {
			return nil, &InputError{What: c.Name, Value: v, Allowed: slices.Clone(c.Values)}
		}
		base[i] = h
	}
	items := make([]Item, len(labels))
	for i, l := range labels {
		c := slices.Clone(base)
		c[lc], _ = cfg.Conditions[lc].Index(l)
		items[i] = Item{Label: l, Cond: c}
	}
	return items, nil
}

// IsInputError reports whether err is an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
