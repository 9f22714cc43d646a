package synth

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// RandomID is the id LoadServed serves a random model (Served.Random) as.
const RandomID = "random"

// Served says which models a service serves: Random when set, else the
// checkpoints of Dir when set, else the checkpoints in directories FSDirs
// of FS (the embedded models: models.FS(), models.IDs()).
type Served struct {
	// Random is a wavenet preset (tiny, small, ibab): one UNTRAINED model
	// with random weights (seed 1), served as RandomID. Its audio is
	// noise: for load tests only.
	Random string
	// Dir is a directory of checkpoint directories, or one checkpoint
	// directory (LoadModels).
	Dir string
	// FS and FSDirs name the checkpoints served, each as its directory
	// name, when neither Random nor Dir is set.
	FS     fs.FS
	FSDirs []string
	// Logger receives warnings (a random model, skipped directory
	// entries) and notes (int8 models, models without speech statistics);
	// default slog.Default().
	Logger *slog.Logger
}

// RandomBundle returns an untrained model of the wavenet preset with
// weights drawn from a generator seeded with seed: noise, for load tests.
func RandomBundle(preset string, seed uint64) (*Bundle, error) {
	cfg, err := wavenet.Preset(preset)
	if err != nil {
		return nil, fmt.Errorf("synth: random model: %w", err)
	}
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(seed, seed)))
	if err != nil {
		return nil, fmt.Errorf("synth: random model: %w", err)
	}
	return &Bundle{Model: m}, nil
}

// LoadServed loads the models s names, by id, and logs what a service
// operator should know about them. Checkpoints of s.Dir that do not load
// are logged and returned in failed (by id), the others served; the error
// is set when nothing loads.
func LoadServed(ctx context.Context, s Served) (bundles map[string]*Bundle, failed map[string]error, err error) {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	switch {
	case s.Random != "":
		b, err := RandomBundle(s.Random, 1)
		if err != nil {
			return nil, nil, err
		}
		bundles = map[string]*Bundle{RandomID: b}
		log.Warn("serving an untrained random model (noise): for load tests only", "preset", s.Random)
	case s.Dir != "":
		var skipped []string
		if bundles, skipped, failed, err = LoadModels(ctx, s.Dir); err != nil {
			return nil, nil, err
		}
		for _, e := range skipped {
			log.Warn("models directory entry skipped", "entry", e)
		}
		for id, err := range failed {
			log.Error("model does not load: not served", "model", id, "err", err)
		}
	case s.FS != nil && len(s.FSDirs) > 0:
		bundles = map[string]*Bundle{}
		for _, dir := range s.FSDirs {
			b, err := LoadFS(s.FS, dir)
			if err != nil {
				return nil, nil, err
			}
			bundles[dir] = b
		}
	default:
		return nil, nil, fmt.Errorf("synth: no models to serve (no random preset, directory or file system)")
	}
	for id, b := range bundles {
		if b.Int8 {
			log.Info("model stored as int8: served with the int8 generator", "model", id)
		}
		if b.Stats == nil && b.Model.Config.Local == nil {
			log.Info("model has no "+speech.StatsFile+": text requests use default word durations", "model", id,
				"median_s", speech.DefaultDuration.Median, "p90_s", speech.DefaultDuration.P90)
		}
	}
	return bundles, failed, nil
}
