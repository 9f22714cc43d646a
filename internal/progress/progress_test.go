package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestBarLogsWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "train", "steps", 3)
	b.Add(1, "loss 2.0")
	b.Add(2, "loss 1.0") // completes: drawn at once
	b.Finish()           // nothing new: no second line
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("got %d lines, want 2 (first add, completion):\n%s", n, out)
	}
	for _, want := range []string{"msg=train", "done=3", "total=3", `status="loss 1.0"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
