package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar tracks done out of total units of work. It is safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	logger   *slog.Logger
	label    string
	unit     string
	total    int64
	done     int64
	start    time.Time
	last     time.Time
	interval time.Duration
	extra    string
	drawn    int64 // done at the last draw, -1 before the first
}

// New returns a bar writing to w (a terminal gets a redrawn line, anything
// else gets slog text lines every 10 s). total <= 0 means unknown.
func New(w io.Writer, label, unit string, total int64) *Bar {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	now := time.Now()
	b := &Bar{w: w, tty: tty, label: label, unit: unit, total: total, start: now, interval: 10 * time.Second, drawn: -1}
	if tty {
		b.interval = 200 * time.Millisecond
	} else {
		b.logger = slog.New(slog.NewTextHandler(w, nil))
	}
	return b
}

// Add records n more units done, with an optional status text (loss, ...).
func (b *Bar) Add(n int64, status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if status != "" {
		b.extra = status
	}
	now := time.Now()
	if now.Sub(b.last) < b.interval && (b.total <= 0 || b.done < b.total) {
		return
	}
	b.last = now
	b.draw(now)
}

// Set records the absolute amount done.
func (b *Bar) Set(done int64, status string) {
	b.mu.Lock()
	d := done - b.done
	b.mu.Unlock()
	b.Add(d, status)
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn != b.done {
		b.draw(time.Now())
	}
	if b.tty {
		fmt.Fprintln(b.w)
	}
}

func (b *Bar) draw(now time.Time) {
	b.drawn = b.done
	el := now.Sub(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.done) / el
	}
	eta := ""
	if b.total > 0 && rate > 0 && b.done < b.total {
		eta = (time.Duration(float64(b.total-b.done)/rate) * time.Second).Round(time.Second).String()
	}
	if !b.tty {
		attrs := []any{"done", b.done, "rate_per_s", fmt.Sprintf("%.1f", rate), "unit", b.unit}
		if b.total > 0 {
			attrs = append(attrs, "total", b.total)
		}
		if eta != "" {
			attrs = append(attrs, "eta", eta)
		}
		if b.extra != "" {
			attrs = append(attrs, "status", b.extra)
		}
		b.logger.Info(b.label, attrs...)
		return
	}
	line := b.label + " "
	if b.total > 0 {
		const width = 24
		f := float64(b.done) / float64(b.total)
		if f > 1 {
			f = 1
		}
		n := int(f * width)
		line += "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] " +
			fmt.Sprintf("%d/%d %s", b.done, b.total, b.unit)
	} else {
		line += fmt.Sprintf("%d %s", b.done, b.unit)
	}
	line += fmt.Sprintf(" %.0f %s/s", rate, b.unit)
	if eta != "" {
		line += " ETA " + eta
	}
	if b.extra != "" {
		line += " " + b.extra
	}
	fmt.Fprintf(b.w, "\r\033[K%s", line)
}
