package api

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/wavenet-go/wavenet/internal/safetensors"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// LoadModels loads the checkpoints under dir, one per subdirectory that
// holds a config.json; the id of a model is its directory name, which must
// pass ValidModelID (other names are reported in skipped, with the reason).
// When dir itself is a checkpoint, it is served alone, under its base name
// if that is a valid id and "default" otherwise.
func LoadModels(ctx context.Context, dir string) (models map[string]*wavenet.Model, skipped []string, err error) {
	models, _, skipped, err = LoadModelsInt8(ctx, dir)
	return models, skipped, err
}

// LoadModelsInt8 is LoadModels that also reports which checkpoints store
// their weights as int8 (for Options.Int8). Reading int8 checkpoints needs
// their dequantizer registered (package compress does it in init; the
// binary imports it).
func LoadModelsInt8(ctx context.Context, dir string) (models map[string]*wavenet.Model, int8 map[string]bool, skipped []string, err error) {
	models, int8 = map[string]*wavenet.Model{}, map[string]bool{}
	if _, err := os.Stat(filepath.Join(dir, wavenet.ConfigFile)); err == nil {
		id := filepath.Base(filepath.Clean(dir))
		if !ValidModelID(id) {
			id = "default"
		}
		m, q, err := loadCheckpoint(ctx, dir)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("api: load model %s: %w", dir, err)
		}
		models[id] = m
		if q {
			int8[id] = true
		}
		return models, int8, nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("api: models directory: %w", err)
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
		m, q, err := loadCheckpoint(ctx, path)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("api: load model %q: %w", name, err)
		}
		models[name] = m
		if q {
			int8[name] = true
		}
	}
	if len(models) == 0 {
		return nil, nil, skipped, fmt.Errorf("api: no checkpoint (a directory with %s) under %s", wavenet.ConfigFile, dir)
	}
	return models, int8, skipped, nil
}

// loadCheckpoint loads the model of a checkpoint directory and reports
// whether its weights are stored as int8 (I8 or U8).
func loadCheckpoint(ctx context.Context, dir string) (*wavenet.Model, bool, error) {
	m, err := wavenet.Load(ctx, dir)
	if err != nil {
		return nil, false, err
	}
	q, err := storedInt8(filepath.Join(dir, wavenet.WeightsFile))
	if err != nil {
		return nil, false, err
	}
	return m, q, nil
}

// maxHeader bounds the safetensors header storedInt8 reads (the format
// itself allows 100 MB; ours are a few KB).
const maxHeader = 100 << 20

// storedInt8 reports whether a safetensors file holds I8 or U8 tensors,
// from its header alone (wavenet.LoadCheckpoint would also read the
// directory's other files, optimizer state included).
func storedInt8(name string) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, fmt.Errorf("api: %w", err)
	}
	defer f.Close()
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return false, fmt.Errorf("api: %s: header: %w", name, err)
	}
	size := binary.LittleEndian.Uint64(n[:])
	if size > maxHeader {
		return false, fmt.Errorf("api: %s: header of %d bytes, want at most %d", name, size, maxHeader)
	}
	h := make([]byte, size)
	if _, err := io.ReadFull(f, h); err != nil {
		return false, fmt.Errorf("api: %s: header: %w", name, err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(h, &entries); err != nil {
		return false, fmt.Errorf("api: %s: header: %w", name, err)
	}
	for k, v := range entries {
		if k == "__metadata__" {
			continue
		}
		var t struct {
			DType string `json:"dtype"`
		}
		if err := json.Unmarshal(v, &t); err != nil {
			return false, fmt.Errorf("api: %s: tensor %q: %w", name, k, err)
		}
		if t.DType == string(safetensors.I8) || t.DType == string(safetensors.U8) {
			return true, nil
		}
	}
	return false, nil
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
