package kinds

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/jobs"
)

// ModelPrefix is the output folder of a model made by a job.
const ModelPrefix = "model"

// fileStamp is what putDir compares to know a file changed.
type fileStamp struct {
	size int64
	mod  time.Time
}

// dirSync copies a local directory to a task's outputs under a prefix,
// uploading only what changed since the last call and deleting the
// outputs whose files are gone.
type dirSync struct {
	t      *jobs.Task
	prefix string
	dir    string
	sent   map[string]fileStamp // by relative slash path
	// keep, if set, says which files (by relative slash path) to copy.
	keep func(rel string) bool
}

// sync uploads new and changed files, then deletes outputs of removed
// ones (so that a reader never lacks a file the newest checkpoint needs).
// Files or folders whose name starts with '.' (temporary) are skipped.
func (d *dirSync) sync(ctx context.Context) error {
	if d.sent == nil {
		d.sent = map[string]fileStamp{}
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != d.dir && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.dir, p)
		rel = filepath.ToSlash(rel)
		if d.keep != nil && !d.keep(rel) {
			return nil
		}
		seen[rel] = true
		st := fileStamp{info.Size(), info.ModTime()}
		if old, ok := d.sent[rel]; ok && old == st {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := d.t.Put(ctx, path.Join(d.prefix, rel), contentType(rel), f); err != nil {
			return err
		}
		d.sent[rel] = st
		return nil
	})
	if err != nil {
		return fmt.Errorf("kinds: store %s: %w", d.dir, err)
	}
	for rel := range d.sent {
		if !seen[rel] {
			if err := d.t.Remove(ctx, path.Join(d.prefix, rel)); err != nil {
				return err
			}
			delete(d.sent, rel)
		}
	}
	return nil
}

// fetchDir writes the outputs of job id under prefix/ into dir (made if
// need be) and returns how many there were.
func fetchDir(ctx context.Context, s *jobs.Store, id, prefix, dir string) (int, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range j.Outputs {
		rel, ok := strings.CutPrefix(o.Name, prefix+"/")
		if !ok {
			continue
		}
		if err := fetchFile(ctx, s, id, o.Name, filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func fetchFile(ctx context.Context, s *jobs.Store, id, name, dst string) error {
	r, _, err := s.OpenOutput(ctx, id, name)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("kinds: %w", err)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("kinds: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("kinds: fetch %s/%s: %w", id, name, err)
	}
	return f.Close()
}

// copyFS copies the files of folder dir of fsys (not its sub-folders)
// into the local folder dst.
func copyFS(fsys fs.FS, dir, dst string) error {
	es, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("kinds: %w", err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("kinds: %w", err)
	}
	for _, e := range es {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("kinds: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return fmt.Errorf("kinds: %w", err)
		}
	}
	return nil
}

// tempDir makes a new folder under Options.WorkDir (made if need be),
// named from prefix; the caller removes it.
func (o Options) tempDir(prefix string) (string, error) {
	if o.WorkDir != "" {
		if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
			return "", fmt.Errorf("kinds: %w", err)
		}
	}
	dir, err := os.MkdirTemp(o.WorkDir, prefix+"-")
	if err != nil {
		return "", fmt.Errorf("kinds: %w", err)
	}
	return dir, nil
}

// contentType is the type of an output by its extension.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".json":
		return "application/json"
	case ".jsonl":
		return "application/jsonl"
	case ".png":
		return "image/png"
	case ".wav":
		return "audio/wav"
	case ".md":
		return "text/markdown"
	}
	return "application/octet-stream"
}
