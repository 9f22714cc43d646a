package speech

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/wavenet-go/wavenet/wavenet"
)

// SSMLNamespace is the SSML namespace; elements may be in it or in none.
const SSMLNamespace = "http://www.w3.org/2001/10/synthesis"

// MaxPause bounds the silence before or after a label of an SSML
// document (the limit of synth's pause_seconds).
const MaxPause = 10 * time.Second

// The pauses of SSML structure and break strengths. Two words in a row
// are DefaultPause apart (the pause of free text); a sentence (<s>)
// boundary is a medium break, a paragraph (<p>) boundary a strong one.
const (
	SentencePause  = 400 * time.Millisecond
	ParagraphPause = 700 * time.Millisecond
)

// BreakStrengths maps the strength of an SSML <break> to its pause; a
// <break/> without time or strength is "medium".
var BreakStrengths = map[string]time.Duration{
	"none":     0,
	"x-weak":   DefaultPause,
	"weak":     250 * time.Millisecond,
	"medium":   SentencePause,
	"strong":   ParagraphPause,
	"x-strong": time.Second,
}

// InterpretAs are the supported values of <say-as interpret-as>.
var InterpretAs = []string{"characters", "cardinal", "telephone"}

// ssmlElements are the supported elements and their attributes (xml:lang
// and namespace declarations are accepted, and ignored, on each).
var ssmlElements = map[string][]string{
	"speak":  {"version"},
	"say-as": {"interpret-as"},
	"break":  {"time", "strength"},
	"p":      nil,
	"s":      nil,
}

var ssmlElementNames = []string{"speak", "say-as", "break", "p", "s"}

// ParseSSML reads the subset of SSML (W3C Speech Synthesis Markup
// Language 1.1, https://www.w3.org/TR/speech-synthesis11/, as Google
// Cloud Text-to-Speech accepts it in input.ssml) that maps onto a model
// that says only the values of c:
//
//   - <speak> is the root (attributes version, xmlns, xml:lang);
//   - text is read as Normalize reads it (without skipping words);
//   - <say-as interpret-as="characters">: each character is a value
//     ("123" is 1 2 3), spaces ignored, anything else an error;
//     "cardinal": one number, read digit by digit since the model has no
//     words for "twelve" or "hundred" ("1,250" is 1 2 5 0; a sign or a
//     decimal point is an error); "telephone": the digits of a phone
//     number, its punctuation (+ ( ) - . spaces) dropped, letters an
//     error;
//   - <break time="500ms"/> ("1s", "1.5s"; at most MaxPause) or
//     strength="none|x-weak|weak|medium|strong|x-strong"
//     (BreakStrengths; time wins when both are given) sets the pause
//     before the next label: the sum of the breaks since the previous
//     label, so <break strength="none"/> removes the pause between two
//     words;
//   - <s> and <p> boundaries between two labels without a break pause
//     SentencePause and ParagraphPause; other labels are DefaultPause
//     apart;
//   - the five XML entities and character references are decoded;
//     comments are ignored.
//
// Breaks before the first label are the Script's Pauses[0], breaks after
// the last its Trailing. Any other element or attribute, a DOCTYPE,
// malformed XML, a pause longer than MaxPause or text the model cannot
// say is an *InputError naming it and its line.
func ParseSSML(doc string, c wavenet.Condition) (Script, error) {
	p := ssmlParser{n: normalizer{c: c}, d: xml.NewDecoder(strings.NewReader(doc))}
	if err := p.run(); err != nil {
		return Script{}, err
	}
	if err := p.n.err("ssml"); err != nil {
		return Script{}, err
	}
	return Script{Labels: p.n.labels, Pauses: p.pauses, Trailing: p.pending, Changes: p.n.changes}, nil
}

// ssmlParser is the state of ParseSSML.
type ssmlParser struct {
	n        normalizer
	d        *xml.Decoder
	stack    []string // open elements
	pauses   []time.Duration
	pending  time.Duration // breaks since the last label
	breaks   bool          // whether a break came since the last label
	boundary time.Duration // the longest <s>/<p> boundary since the last label
	done     bool          // the root is closed
	text     strings.Builder
	textLine int    // the line where text starts
	lineAt   int    // the line where the current token starts
	sayAs    string // interpret-as of the open <say-as>
}

// inputErr is an error about the document's structure.
func (p *ssmlParser) inputErr(what, value string, allowed []string, format string, args ...any) error {
	line, _ := p.d.InputPos()
	return &InputError{What: what, Value: value, Allowed: allowed,
		Msg: fmt.Sprintf("ssml line %d: %s", line, fmt.Sprintf(format, args...))}
}

func (p *ssmlParser) pauseErr() error {
	return p.inputErr("break time", p.pending.String(), []string{"pauses up to " + MaxPause.String()},
		"breaks in a row add up to %v, more than %v", p.pending, MaxPause)
}

func (p *ssmlParser) run() error {
	for {
		p.lineAt, _ = p.d.InputPos()
		tok, err := p.d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return &InputError{What: "ssml", Allowed: slices.Clone(ssmlElementNames),
					Msg: fmt.Sprintf("ssml is not well-formed XML: line %d: %s", se.Line, se.Msg)}
			}
			return p.inputErr("ssml", "", slices.Clone(ssmlElementNames), "ssml is not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.start(t); err != nil {
				return err
			}
		case xml.EndElement:
			if err := p.end(); err != nil {
				return err
			}
		case xml.CharData:
			if err := p.chars(string(t)); err != nil {
				return err
			}
		case xml.Directive:
			return p.inputErr("ssml", "", slices.Clone(ssmlElementNames), "<!%s> is not supported (no DOCTYPE or entity declarations)", firstWord(string(t)))
		case xml.ProcInst:
			if len(p.stack) > 0 || p.done {
				return p.inputErr("ssml", t.Target, slices.Clone(ssmlElementNames), "processing instruction <?%s?> is not supported", t.Target)
			}
		}
		if p.n.tooMany || len(p.n.bad) > 0 {
			return nil // reported by the normalizer's error
		}
	}
	if !p.done {
		return p.inputErr("ssml", "", slices.Clone(ssmlElementNames), "the document has no <speak> element")
	}
	return nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func (p *ssmlParser) start(t xml.StartElement) error {
	name := t.Name.Local
	if t.Name.Space != "" && t.Name.Space != SSMLNamespace {
		name = t.Name.Space + ":" + name
	}
	attrs, ok := ssmlElements[name]
	switch {
	case !ok:
		return p.inputErr("ssml element", name, slices.Clone(ssmlElementNames), "element <%s> is not supported", name)
	case p.done:
		return p.inputErr("ssml element", name, []string{"speak"}, "element <%s> after the end of <speak>", name)
	case len(p.stack) == 0 && name != "speak":
		return p.inputErr("ssml element", name, []string{"speak"}, "the root element is <%s>; want <speak>", name)
	case len(p.stack) > 0 && name == "speak":
		return p.inputErr("ssml element", name, slices.Clone(ssmlElementNames), "<speak> inside <%s>", p.stack[len(p.stack)-1])
	case len(p.stack) > 0 && (p.stack[len(p.stack)-1] == "say-as" || p.stack[len(p.stack)-1] == "break"):
		return p.inputErr("ssml element", name, []string{"text only"}, "element <%s> inside <%s>, which holds only text", name, p.stack[len(p.stack)-1])
	}
	var interp, bt, bs string
	hasTime, hasStrength := false, false
	for _, a := range t.Attr {
		an := a.Name.Local
		switch {
		case a.Name.Space == "xmlns" || (a.Name.Space == "" && an == "xmlns"):
			continue // namespaced elements are checked by name
		case an == "lang" && (a.Name.Space == "xml" || a.Name.Space == "http://www.w3.org/XML/1998/namespace"):
			continue
		case a.Name.Space != "" || !slices.Contains(attrs, an):
			full := an
			if a.Name.Space != "" {
				full = a.Name.Space + ":" + an
			}
			return p.inputErr("ssml attribute", full, append(slices.Clone(attrs), "xml:lang", "xmlns"), "attribute %q of <%s> is not supported", full, name)
		}
		switch an {
		case "interpret-as":
			interp = a.Value
		case "time":
			bt, hasTime = a.Value, true
		case "strength":
			bs, hasStrength = a.Value, true
		}
	}
	if err := p.flush(); err != nil {
		return err
	}
	switch name {
	case "say-as":
		if !slices.Contains(InterpretAs, interp) {
			return p.inputErr("interpret-as", interp, slices.Clone(InterpretAs), "<say-as interpret-as=%q> is not supported", interp)
		}
		p.sayAs = interp
	case "break":
		d, ok := BreakStrengths["medium"], true
		if hasStrength {
			if d, ok = BreakStrengths[bs]; !ok {
				var names []string
				for k := range BreakStrengths {
					names = append(names, k)
				}
				slices.Sort(names)
				return p.inputErr("break strength", bs, names, "<break strength=%q> is not a strength", bs)
			}
		}
		if hasTime {
			var err error
			if d, err = parseBreakTime(bt); err != nil {
				return p.inputErr("break time", bt, []string{"a duration such as 500ms or 1.5s, up to " + MaxPause.String()}, "<break time=%q>: %v", bt, err)
			}
		}
		p.pending += d
		p.breaks = true
		if p.pending > MaxPause {
			return p.pauseErr()
		}
	case "p", "s":
		p.boundaryAt(name)
	}
	p.stack = append(p.stack, name)
	return nil
}

// boundaryAt notes the start or end of a <p> or <s>.
func (p *ssmlParser) boundaryAt(name string) {
	d := SentencePause
	if name == "p" {
		d = ParagraphPause
	}
	p.boundary = max(p.boundary, d)
}

func (p *ssmlParser) end() error {
	// The decoder checks that end tags match start tags.
	name := p.stack[len(p.stack)-1]
	if err := p.flush(); err != nil {
		return err
	}
	p.stack = p.stack[:len(p.stack)-1]
	switch name {
	case "speak":
		p.done = true
	case "say-as":
		p.sayAs = ""
	case "p", "s":
		p.boundaryAt(name)
	}
	return nil
}

// chars collects text; whitespace outside elements is allowed.
func (p *ssmlParser) chars(s string) error {
	if len(p.stack) == 0 || p.stack[len(p.stack)-1] == "break" {
		if strings.TrimSpace(s) != "" {
			where := "outside <speak>"
			if len(p.stack) > 0 {
				where = "inside <break>, which is empty"
			}
			return p.inputErr("ssml", "", slices.Clone(ssmlElementNames), "text %s %s", quoteShort(strings.TrimSpace(s)), where)
		}
		return nil
	}
	if p.text.Len() == 0 {
		p.textLine = p.lineAt
	}
	p.text.WriteString(s)
	return nil
}

// flush reads the text collected since the last element boundary.
func (p *ssmlParser) flush() error {
	s := p.text.String()
	p.text.Reset()
	if p.sayAs == "" {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		sub := normalizer{c: p.n.c}
		sub.text(s)
		lines := lineCounter{rs: []rune(s), line: p.textLine}
		for _, b := range sub.bad {
			b.line = lines.at(b.pos)
			p.n.bad = append(p.n.bad, b)
		}
		lines = lineCounter{rs: lines.rs, line: p.textLine}
		for _, ch := range sub.changes {
			ch.Line = lines.at(ch.Pos)
			p.n.changes = append(p.n.changes, ch)
		}
		p.n.tooMany = p.n.tooMany || sub.tooMany
		p.say(sub.labels...)
		return nil
	}
	labels, err := p.readSayAs(s)
	if err != nil {
		return err
	}
	p.say(labels...)
	return nil
}

// lineCounter finds the lines of increasing character offsets in rs,
// which starts at line.
type lineCounter struct {
	rs   []rune
	pos  int // rs[:pos] is counted
	line int
}

// at returns the line of character offset pos, at least the last one's.
func (l *lineCounter) at(pos int) int {
	for ; l.pos < pos && l.pos < len(l.rs); l.pos++ {
		if l.rs[l.pos] == '\n' {
			l.line++
		}
	}
	return l.line
}

// say adds labels with the pause before each.
func (p *ssmlParser) say(labels ...string) {
	for _, l := range labels {
		var d time.Duration
		switch {
		case p.breaks || len(p.pauses) == 0:
			d = p.pending
		case p.boundary > 0:
			d = p.boundary
		default:
			d = DefaultPause
		}
		p.n.add(l)
		if p.n.tooMany {
			return
		}
		p.pauses = append(p.pauses, d)
		p.pending, p.breaks, p.boundary = 0, false, 0
	}
}

// readSayAs reads the text s of a <say-as>.
func (p *ssmlParser) readSayAs(s string) ([]string, error) {
	c := p.n.c
	cannot := func(v, format string, args ...any) error {
		return p.inputErr(c.Name, v, slices.Clone(c.Values), "<say-as interpret-as=%q>%s</say-as>: %s", p.sayAs, quoteShort(s), fmt.Sprintf(format, args...))
	}
	var out []string
	add := func(r rune) error {
		v, ok := wordValue(string(r), c)
		if !ok {
			return cannot(string(r), "the model cannot say %q", string(r))
		}
		out = append(out, v)
		return nil
	}
	t := strings.TrimSpace(s)
	switch p.sayAs {
	case "characters":
		for _, r := range t {
			if !unicode.IsSpace(r) {
				if err := add(r); err != nil {
					return nil, err
				}
			}
		}
	case "cardinal":
		if !isNumberShape(t) {
			why := "not a whole number (digits, optionally grouped by commas: 1,250)"
			switch {
			case strings.HasPrefix(t, "-"):
				why = "no word for a minus sign"
			case strings.Contains(t, "."):
				why = "no word for a decimal point"
			}
			return nil, cannot(t, "%s", why)
		}
		for _, r := range t {
			if r != ',' {
				if err := add(r); err != nil {
					return nil, err
				}
			}
		}
		if len(t) > 1 {
			line, _ := p.d.InputPos()
			p.n.changes = append(p.n.changes, Change{From: t, To: strings.Join(out, " "), Why: ReadDigits, Line: line})
		}
	case "telephone":
		for _, r := range t {
			if unicode.IsSpace(r) || strings.ContainsRune("+()-.", r) {
				continue
			}
			if !isDigit(r) {
				return nil, cannot(string(r), "%q is not part of a phone number the model can say (digits and + ( ) - . only)", string(r))
			}
			if err := add(r); err != nil {
				return nil, err
			}
		}
	}
	if len(out) == 0 {
		return nil, cannot("", "nothing to say")
	}
	return out, nil
}

// parseBreakTime reads an SSML time designation: a non-negative decimal
// number followed by "s" or "ms", at most MaxPause.
func parseBreakTime(s string) (time.Duration, error) {
	num, unit := s, time.Second
	switch {
	case strings.HasSuffix(s, "ms"):
		num, unit = s[:len(s)-2], time.Millisecond
	case strings.HasSuffix(s, "s"):
		num = s[:len(s)-1]
	default:
		return 0, errors.New("want a number of seconds (s) or milliseconds (ms)")
	}
	if num == "" || strings.Count(num, ".") > 1 || strings.ContainsFunc(num, func(r rune) bool { return !isDigit(r) && r != '.' }) || num == "." {
		return 0, errors.New("want a non-negative decimal number before the unit")
	}
	x, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, errors.New("want a non-negative decimal number before the unit")
	}
	if x*float64(unit) > float64(MaxPause) {
		return 0, fmt.Errorf("longer than %v", MaxPause)
	}
	return time.Duration(x * float64(unit)), nil
}
