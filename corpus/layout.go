package corpus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/wavenet-go/wavenet/audio"
)

// Layout is how a corpus lists its audio files and their labels.
type Layout string

// The layouts Load reads.
const (
	// Auto detects the layout from the path: a file is a manifest (or an
	// LJSpeech metadata.csv), a directory holding metadata.csv is
	// LJSpeech, any other directory a tree.
	Auto Layout = ""
	// Tree is a folder tree of .wav and .flac files, read recursively;
	// labels come from Options.Pattern and Options.SpeakerFromFolder.
	Tree Layout = "tree"
	// LJSpeech is a directory with a metadata.csv of "id|text|normalized
	// text" lines and the audio in wavs/<id>.wav
	// (https://keithito.com/LJ-Speech-Dataset/).
	LJSpeech Layout = "ljspeech"
	// Manifest is a CSV file with a header (a path column and any label
	// columns) or a JSON lines file ({"path": ..., "speaker": ..., ...}),
	// paths relative to the manifest's directory.
	Manifest Layout = "manifest"
)

// Layouts lists the layouts ParseLayout accepts.
func Layouts() []string { return []string{"auto", string(Tree), string(LJSpeech), string(Manifest)} }

// ParseLayout reads a layout name: auto (or empty), tree, ljspeech or
// manifest.
func ParseLayout(s string) (Layout, error) {
	switch l := Layout(strings.ToLower(strings.TrimSpace(s))); l {
	case "", "auto":
		return Auto, nil
	case Tree, LJSpeech, Manifest:
		return l, nil
	}
	return Auto, fmt.Errorf("corpus: layout %q: want one of %s", s, strings.Join(Layouts(), ", "))
}

// MetadataFile is the name of an LJSpeech corpus's list of utterances.
const MetadataFile = "metadata.csv"

// TextLabel is the manifest column (or JSON key) that holds an
// utterance's transcript: it goes to Utterance.Text, not to the labels.
const TextLabel = "text"

// PathColumn is the manifest column (or JSON key) of the audio file.
const PathColumn = "path"

// DetectLayout says which layout Auto reads at path.
func DetectLayout(path string) (Layout, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Auto, fmt.Errorf("corpus: %w (want a directory of audio files, an LJSpeech directory or a manifest file)", err)
	}
	switch {
	case !st.IsDir() && filepath.Base(path) == MetadataFile:
		return LJSpeech, nil
	case !st.IsDir():
		return Manifest, nil
	}
	if _, err := os.Stat(filepath.Join(path, MetadataFile)); err == nil {
		return LJSpeech, nil
	}
	return Tree, nil
}

// listing is what a layout says about a corpus before any audio is read.
type listing struct {
	jobs      []job
	names     []string // label names, in order
	unmatched []string
}

func (l *listing) addName(n string) {
	if n != "" && !slices.Contains(l.names, n) {
		l.names = append(l.names, n)
	}
}

// listTree walks dir for audio files. The pattern is matched against the
// slash-separated path relative to dir, and, if that fails, against the
// base name (so FSDD names match in any subfolder); its named groups are
// the labels. speakerFromFolder takes the speaker label from the
// first-level folder (VCTK's wav48/p225/p225_001.flac read from wav48).
func listTree(ctx context.Context, dir string, re *regexp.Regexp, speakerFromFolder bool) (*listing, error) {
	l := &listing{}
	for _, n := range re.SubexpNames() {
		l.addName(n)
	}
	if speakerFromFolder {
		l.addName("speaker")
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !audio.IsAudioFile(path) {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		m := re.FindStringSubmatch(rel)
		if m == nil {
			m = re.FindStringSubmatch(d.Name())
		}
		folder, _, nested := strings.Cut(rel, "/")
		if m == nil || (speakerFromFolder && !nested) {
			l.unmatched = append(l.unmatched, rel)
			return nil
		}
		labels := make(map[string]string, len(l.names))
		for i, n := range re.SubexpNames() {
			if n != "" && (m[i] != "" || labels[n] == "") {
				labels[n] = m[i]
			}
		}
		if speakerFromFolder {
			labels["speaker"] = folder
		}
		l.jobs = append(l.jobs, job{name: rel, path: path, labels: labels})
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("corpus: walk %s: %w", dir, err)
	}
	return l, nil
}

// listLJSpeech reads dir/metadata.csv: "id|text|normalized text" lines,
// the audio in dir/wavs/<id>.wav. The text (the normalized column when
// there is one) becomes Utterance.Text; there are no labels.
func listLJSpeech(dir string) (*listing, error) {
	meta := filepath.Join(dir, MetadataFile)
	b, err := os.ReadFile(meta)
	if err != nil {
		return nil, fmt.Errorf("corpus: ljspeech: %w (an LJSpeech corpus is a directory with %s and wavs/)", err, MetadataFile)
	}
	l := &listing{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.SplitN(line, "|", 3)
		id := strings.TrimSpace(f[0])
		if len(f) < 2 || id == "" {
			return nil, fmt.Errorf("corpus: %s line %d: %q: want id|text|normalized text", meta, i+1, line)
		}
		text := f[len(f)-1]
		rel := "wavs/" + id + ".wav"
		l.jobs = append(l.jobs, job{name: rel, path: filepath.Join(dir, "wavs", id+".wav"), labels: map[string]string{}, text: text})
	}
	if len(l.jobs) == 0 {
		return nil, fmt.Errorf("corpus: %s lists no utterances", meta)
	}
	return l, nil
}

// listManifest reads a CSV (header with a path column) or JSON lines
// manifest. Its columns or keys other than path and text are labels.
func listManifest(file string) (*listing, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("corpus: manifest: %w", err)
	}
	var l *listing
	switch ext := strings.ToLower(filepath.Ext(file)); {
	case ext == ".jsonl" || ext == ".ndjson" || ext == ".json" ||
		ext != ".csv" && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")):
		l, err = listJSONL(b)
	default:
		l, err = listCSV(b)
	}
	if err != nil {
		return nil, fmt.Errorf("corpus: manifest %s: %w", file, err)
	}
	if len(l.jobs) == 0 {
		return nil, fmt.Errorf("corpus: manifest %s lists no files", file)
	}
	base := filepath.Dir(file)
	for i := range l.jobs {
		j := &l.jobs[i]
		j.name = filepath.ToSlash(filepath.Clean(j.path))
		if !filepath.IsAbs(j.path) {
			j.path = filepath.Join(base, filepath.FromSlash(j.path))
		}
	}
	return l, nil
}

func listCSV(b []byte) (*listing, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	header[0] = strings.TrimPrefix(header[0], "\uFEFF") // a byte-order mark
	pathCol := slices.Index(header, PathColumn)
	if pathCol < 0 {
		return nil, fmt.Errorf("header %q has no %q column: the first line names the columns, e.g. path,speaker", strings.Join(header, ","), PathColumn)
	}
	l := &listing{}
	for i, h := range header {
		if i != pathCol && h != TextLabel {
			l.addName(h)
		}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		j := job{path: rec[pathCol], labels: map[string]string{}}
		line, _ := r.FieldPos(0)
		if j.path == "" {
			return nil, fmt.Errorf("line %d: empty path", line)
		}
		for i, h := range header {
			switch {
			case i == pathCol:
			case h == TextLabel:
				j.text = rec[i]
			default:
				j.labels[h] = rec[i]
			}
		}
		l.jobs = append(l.jobs, j)
	}
	return l, nil
}

func listJSONL(b []byte) (*listing, error) {
	l := &listing{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		var obj map[string]any
		if err := d.Decode(&obj); err != nil {
			return nil, fmt.Errorf("line %d: %w (want one JSON object per line, e.g. {\"path\": \"a.wav\", \"speaker\": \"ann\"})", n, err)
		}
		p, _ := obj[PathColumn].(string)
		if p == "" {
			return nil, fmt.Errorf("line %d: no %q string", n, PathColumn)
		}
		j := job{path: p, labels: map[string]string{}}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys) // label order: sorted keys, first seen first
		for _, k := range keys {
			var s string
			switch v := obj[k].(type) {
			case nil:
				continue
			case string:
				s = v
			case json.Number:
				s = v.String()
			case bool:
				s = fmt.Sprint(v)
			default:
				return nil, fmt.Errorf("line %d: %q is a %T, want a string, number or boolean", n, k, v)
			}
			switch k {
			case PathColumn:
			case TextLabel:
				j.text = s
			default:
				j.labels[k] = s
				l.addName(k)
			}
		}
		l.jobs = append(l.jobs, j)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return l, nil
}

// list resolves the layout of path and lists its files.
func list(ctx context.Context, path string, opts *Options) (Layout, *listing, error) {
	layout := opts.Layout
	if layout == Auto {
		var err error
		if layout, err = DetectLayout(path); err != nil {
			return layout, nil, err
		}
	}
	if layout != Tree && (opts.Pattern != "" || opts.SpeakerFromFolder) {
		return layout, nil, fmt.Errorf("corpus: %s is a %s corpus: a pattern or speaker folders apply to folder trees only (labels are the %s's columns)", path, layout, layout)
	}
	st, err := os.Stat(path)
	if err != nil {
		return layout, nil, fmt.Errorf("corpus: %w", err)
	}
	dir := st.IsDir()
	switch layout {
	case Tree:
		if !dir {
			return layout, nil, fmt.Errorf("corpus: %s is a file: a tree layout reads a directory (for a list of files use --layout manifest)", path)
		}
		pattern := opts.Pattern
		if pattern == "" && !opts.SpeakerFromFolder {
			pattern = FSDDPattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return layout, nil, fmt.Errorf("corpus: pattern: %w", err)
		}
		opts.Pattern = pattern
		l, err := listTree(ctx, path, re, opts.SpeakerFromFolder)
		if err == nil && pattern == FSDDPattern && len(l.jobs) == 0 && len(l.unmatched) > 0 {
			return layout, nil, fmt.Errorf("corpus: none of the %d audio files in %s (%s, ...) has an FSDD name {digit}_{speaker}_{index}.wav (or .flac): "+
				"give a pattern whose named groups are the labels (e.g. --pattern '^(?P<speaker>[^/]+)/.*\\.(wav|flac)$'), "+
				"--speaker-from-folder, or a manifest", len(l.unmatched), path, l.unmatched[0])
		}
		return layout, l, err
	case LJSpeech:
		if !dir {
			path = filepath.Dir(path)
		}
		l, err := listLJSpeech(path)
		return layout, l, err
	case Manifest:
		if dir {
			return layout, nil, fmt.Errorf("corpus: %s is a directory: a manifest layout reads a .csv or .jsonl file (give its path)", path)
		}
		l, err := listManifest(path)
		return layout, l, err
	}
	return layout, nil, errors.New("corpus: unknown layout " + string(layout))
}
