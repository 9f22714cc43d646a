package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/wavenet-go/wavenet/wavenet"
)

// LoadModels loads the checkpoints under dir, one per subdirectory that
// holds a config.json; the id of a model is its directory name, which must
// pass ValidModelID (other names are reported in skipped, with the reason).
// When dir itself is a checkpoint, it is served alone, under its base name
// if that is a valid id and "default" otherwise.
func LoadModels(ctx context.Context, dir string) (models map[string]*wavenet.Model, skipped []string, err error) {
	models = map[string]*wavenet.Model{}
	if _, err := os.Stat(filepath.Join(dir, wavenet.ConfigFile)); err == nil {
		id := filepath.Base(filepath.Clean(dir))
		if !ValidModelID(id) {
			id = "default"
		}
		m, err := wavenet.Load(ctx, dir)
		if err != nil {
			return nil, nil, fmt.Errorf("api: load model %s: %w", dir, err)
		}
		models[id] = m
		return models, nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("api: models directory: %w", err)
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
			return nil, nil, err
		}
		m, err := wavenet.Load(ctx, path)
		if err != nil {
			return nil, nil, fmt.Errorf("api: load model %q: %w", name, err)
		}
		models[name] = m
	}
	if len(models) == 0 {
		return nil, skipped, fmt.Errorf("api: no checkpoint (a directory with %s) under %s", wavenet.ConfigFile, dir)
	}
	return models, skipped, nil
}
