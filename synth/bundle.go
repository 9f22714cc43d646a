package synth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Bundle is what synthesis needs of one model: the network, whether its
// checkpoint stores int8 weights (then it is generated with
// cache.NewInt8's int8 products) and its speech duration statistics (nil:
// speech.DefaultDuration for every word, and no default guidance or
// candidates).
type Bundle struct {
	Model *wavenet.Model
	Int8  bool
	Stats *speech.Stats
}

// validID is the shape of a model id: a directory name without path
// separators, dots first, or anything a URL or shell would interpret.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidModelID reports whether id may name a model (and a directory under
// a models directory): letters, digits, '.', '_' and '-', not starting
// with '.', at most 64 characters. It rejects "..", "a/b" and "a\\b".
func ValidModelID(id string) bool { return validID.MatchString(id) }

// LoadDir loads the checkpoint directory dir with its speech statistics
// (speech.StatsFile; absent: nil Stats).
func LoadDir(ctx context.Context, dir string) (*Bundle, error) {
	m, err := wavenet.Load(ctx, dir)
	if err != nil {
		return nil, err
	}
	return bundle(m, os.DirFS(dir), ".", dir)
}

// LoadFS loads the checkpoint in directory dir of fsys (the embedded
// default model: models.FS(), "default") with its speech statistics.
func LoadFS(fsys fs.FS, dir string) (*Bundle, error) {
	m, err := wavenet.LoadFS(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("synth: %s: %w", dir, err)
	}
	return bundle(m, fsys, dir, dir)
}

// bundle completes the bundle of m, loaded from directory dir of fsys
// (shown as name in errors): whether its weights are stored as int8
// (wavenet.StoredDType) and its speech statistics.
func bundle(m *wavenet.Model, fsys fs.FS, dir, name string) (*Bundle, error) {
	dt, err := wavenet.StoredDType(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("synth: %s: %w", name, err)
	}
	st, err := speech.ReadStats(fsys, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("synth: %s: %w", name, err)
	}
	return &Bundle{Model: m, Int8: dt == wavenet.Int8, Stats: st}, nil
}

// LoadModels loads the checkpoints under dir, one per subdirectory that
// holds a config.json; the id of a model is its directory name, which must
// pass ValidModelID (other names are reported in skipped, with the reason).
// A checkpoint that does not load (corrupt, truncated) is left out and
// reported in failed, by id, so that one bad model does not stop the
// others from being served; err is set when none loads. When dir itself
// is a checkpoint, it is served alone, under its base name if that is a
// valid id and "default" otherwise (an error if it does not load).
func LoadModels(ctx context.Context, dir string) (bundles map[string]*Bundle, skipped []string, failed map[string]error, err error) {
	bundles = map[string]*Bundle{}
	if _, err := os.Stat(filepath.Join(dir, wavenet.ConfigFile)); err == nil {
		id := filepath.Base(filepath.Clean(dir))
		if !ValidModelID(id) {
			id = "default"
		}
		b, err := LoadDir(ctx, dir)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("synth: load model %s: %w", dir, err)
		}
		bundles[id] = b
		return bundles, nil, nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("synth: models directory: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		st, err := os.Stat(path) // follows symlinks
		if err != nil || !st.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(path, wavenet.ConfigFile)); errors.Is(err, fs.ErrNotExist) {
			skipped = append(skipped, name+": no "+wavenet.ConfigFile)
			continue
		}
		if !ValidModelID(name) {
			skipped = append(skipped, name+": not a valid model id (letters, digits, '.', '_', '-'; not starting with '.')")
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		b, err := LoadDir(ctx, path)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, nil, nil, err
			}
			if failed == nil {
				failed = map[string]error{}
			}
			failed[name] = fmt.Errorf("synth: load model %q: %w", name, err)
			continue
		}
		bundles[name] = b
	}
	if len(bundles) == 0 {
		if len(failed) > 0 {
			errs := make([]error, 0, len(failed))
			for _, e := range entries {
				if err, ok := failed[e.Name()]; ok {
					errs = append(errs, err)
				}
			}
			return nil, skipped, failed, fmt.Errorf("synth: no checkpoint under %s loads: %w", dir, errors.Join(errs...))
		}
		return nil, skipped, nil, fmt.Errorf("synth: no checkpoint (a directory with %s) under %s", wavenet.ConfigFile, dir)
	}
	return bundles, skipped, failed, nil
}
