package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/wavenet-go/wavenet/speech"
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

// LoadSpeechStats reads the duration statistics (speech.StatsFile) of the
// checkpoints LoadModels loaded from dir, by model id, for
// Options.Speech. A checkpoint without the file is listed in missing and
// gets no entry (its text requests use speech.DefaultDuration); a file
// that cannot be read or parsed is an error.
func LoadSpeechStats(dir string, models map[string]*wavenet.Model) (stats map[string]*speech.Stats, missing []string, err error) {
	stats = map[string]*speech.Stats{}
	single := false
	if _, err := os.Stat(filepath.Join(dir, wavenet.ConfigFile)); err == nil {
		single = true
	}
	ids := make([]string, 0, len(models))
	for id := range models {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		path := dir
		if !single {
			if !ValidModelID(id) {
				return nil, nil, fmt.Errorf("api: model id %q: not a directory name", id)
			}
			path = filepath.Join(dir, id)
		}
		st, err := speech.LoadStats(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, id)
		case err != nil:
			return nil, nil, fmt.Errorf("api: model %q: %w", id, err)
		default:
			stats[id] = st
		}
	}
	return stats, missing, nil
}
