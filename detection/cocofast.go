package detection

import (
	"strconv"
)

// scanResults is a fast reader for the common shape of a COCO results
// list: an array of flat objects whose image_id, category_id, bbox and
// score are plain JSON numbers (other keys are skipped whatever they
// hold). It reports ok=false for anything else, invalid JSON included;
// the caller then uses encoding/json, which explains the problem.
func scanResults(data []byte) (recs []resultRec, ok bool) {
	s := scanner{b: data}
	if !s.lit('[') {
		return nil, false
	}
	recs = make([]resultRec, 0, len(data)/80)
	if s.lit(']') {
		return recs, s.end()
	}
	for {
		var r resultRec
		if !s.object(&r) {
			return nil, false
		}
		recs = append(recs, r)
		if s.lit(',') {
			continue
		}
		if s.lit(']') {
			return recs, s.end()
		}
		return nil, false
	}
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// lit consumes c after optional white space.
func (s *scanner) lit(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// key reads a string without escapes.
func (s *scanner) key() (string, bool) {
	if !s.lit('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) && s.b[s.i] != '"' {
		if s.b[s.i] == '\\' || s.b[s.i] < 0x20 {
			return "", false
		}
		s.i++
	}
	if s.i == len(s.b) {
		return "", false
	}
	k := s.b[start:s.i]
	s.i++
	switch string(k) { // no allocation: compared, not kept
	case "image_id":
		return "image_id", true
	case "category_id":
		return "category_id", true
	case "bbox":
		return "bbox", true
	case "score":
		return "score", true
	}
	return "", true
}

// number returns the bytes of a JSON number.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			s.i++
			continue
		}
		break
	}
	if s.i == start {
		return nil, false
	}
	return s.b[start:s.i], true
}

func (s *scanner) float() (float64, bool) {
	n, ok := s.number()
	if !ok || !validJSONNumber(n) {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(n), 64)
	return v, err == nil
}

func (s *scanner) int() (int64, bool) {
	n, ok := s.number()
	if !ok || !validJSONNumber(n) {
		return 0, false
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	return v, err == nil
}

// validJSONNumber checks the JSON number grammar (strconv is laxer:
// it takes "+1", "1.", ".5", "0x10", "1_000").
func validJSONNumber(n []byte) bool {
	i := 0
	if i < len(n) && n[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(n) && n[i] >= '0' && n[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(n) && n[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(n) && n[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(n) && (n[i] == 'e' || n[i] == 'E') {
		i++
		if i < len(n) && (n[i] == '+' || n[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(n)
}

func (s *scanner) object(r *resultRec) bool {
	if !s.lit('{') {
		return false
	}
	if s.lit('}') {
		return true
	}
	for {
		k, ok := s.key()
		if !ok || !s.lit(':') {
			return false
		}
		switch k {
		case "image_id":
			if r.hasImg {
				return false // duplicate key: let encoding/json decide
			}
			r.imageID, r.hasImg = s.int()
			if !r.hasImg {
				return false
			}
		case "category_id":
			if r.hasCat {
				return false
			}
			r.categoryID, r.hasCat = s.int()
			if !r.hasCat {
				return false
			}
		case "score":
			if r.hasScore {
				return false
			}
			r.score, r.hasScore = s.float()
			if !r.hasScore {
				return false
			}
		case "bbox":
			if r.hasBB || !s.lit('[') {
				return false
			}
			bb := &r.bbox
			for j := 0; j < 4; j++ {
				if j > 0 && !s.lit(',') {
					return false
				}
				v, ok := s.float()
				if !ok {
					return false
				}
				bb[j] = v
			}
			if !s.lit(']') {
				return false
			}
			r.hasBB = true
		default:
			if !s.skip(0) {
				return false
			}
		}
		if s.lit(',') {
			continue
		}
		return s.lit('}')
	}
}

// skip passes over any JSON value (depth-limited).
func (s *scanner) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		s.i++
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '\\':
				if !s.escape() {
					return false
				}
				continue
			case '"':
				s.i++
				return true
			}
			if s.b[s.i] < 0x20 {
				return false
			}
			s.i++
		}
		return false
	case c == '[' || c == '{':
		s.i++
		closing := byte(']')
		if c == '{' {
			closing = '}'
		}
		if s.lit(closing) {
			return true
		}
		for {
			if c == '{' {
				if !s.skip(depth+1) || !s.lit(':') {
					return false
				}
			}
			if !s.skip(depth + 1) {
				return false
			}
			if s.lit(',') {
				continue
			}
			return s.lit(closing)
		}
	case c == 't':
		return s.word("true")
	case c == 'f':
		return s.word("false")
	case c == 'n':
		return s.word("null")
	default:
		_, ok := s.float()
		return ok
	}
}

// escape consumes a string escape at s.i (the backslash).
func (s *scanner) escape() bool {
	if s.i+1 >= len(s.b) {
		return false
	}
	switch s.b[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return true
	case 'u':
		if s.i+6 > len(s.b) {
			return false
		}
		for _, c := range s.b[s.i+2 : s.i+6] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
		s.i += 6
		return true
	}
	return false
}

func (s *scanner) word(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}
