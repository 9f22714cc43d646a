package cli

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/compressapi"
	"github.com/wavenet-go/wavenet/api/detectionapi"
	"github.com/wavenet-go/wavenet/api/listeningapi"
	"github.com/wavenet-go/wavenet/api/rlapi"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/ltest"
	"github.com/wavenet-go/wavenet/wavenet"
)

// serveFeatures are the REST features serve mounts besides the core
// routes: the one place that lists them.
type serveFeatures struct {
	list      []api.Feature
	closers   []func()
	compress  *compressapi.Manager
	listening *listeningapi.Service
}

// featureLimits bound the features' work (serve's flags); the zero
// value takes each feature's defaults.
type featureLimits struct {
	detection    detectionapi.Options
	compress, rl api.Retention
	logger       *slog.Logger
}

// newServeFeatures builds detection, rl (unless noRL), compress and the
// listening tests, kept in the NATS JetStream of the job store js (shared
// by every replica), whose folders of WAVs are under dataDir/wavs.
func newServeFeatures(noRL bool, dataDir string, js *jobs.Store, lim featureLimits) (*serveFeatures, error) {
	f := &serveFeatures{list: []api.Feature{detectionapi.New(lim.detection)}}
	if !noRL {
		feat, closeRuns := rlapi.New(rlapi.Options{Retention: lim.rl, Logger: lim.logger})
		f.list = append(f.list, feat)
		f.closers = append(f.closers, closeRuns)
	}
	f.compress = compressapi.New(compressapi.Options{Retention: lim.compress, Logger: lim.logger})
	f.list = append(f.list, f.compress.Feature())
	f.closers = append(f.closers, f.compress.Close)
	st, err := ltest.Open(context.Background(), js.JetStream(), js.Options().Replicas)
	if err != nil {
		f.close()
		return nil, err
	}
	f.listening = listeningapi.New(listeningapi.Options{Store: st, WAVRoot: filepath.Join(dataDir, "wavs")})
	f.list = append(f.list, f.listening.Feature())
	f.closers = append(f.closers, func() { _ = st.Close() })
	return f, nil
}

// serve hands srv's model table to the features that add models: until
// then compression jobs answer 503.
func (f *serveFeatures) serve(srv *api.Server) {
	f.compress.SetRegistry(serveRegistry{srv})
	f.listening.SetSynthesizer(ltest.Engine{E: srv.Engine()})
}

// close stops the features' background work (rl runs, compression jobs)
// and waits for it, and closes the listening tests' database.
func (f *serveFeatures) close() {
	for _, c := range f.closers {
		c()
	}
}

// serveRegistry adapts the server's model table to compressapi.Registry,
// so that models made by compression jobs are served at once.
type serveRegistry struct{ srv *api.Server }

var _ compressapi.Registry = serveRegistry{}

func (r serveRegistry) Model(id string) (*wavenet.Model, bool) { return r.srv.Model(id) }

func (r serveRegistry) RemoveModel(id string) error { return r.srv.RemoveModel(id) }

// AddModel serves m with its source model's word duration statistics,
// and with the int8 generator (cache.NewInt8) when it is an int8
// quantization.
func (r serveRegistry) AddModel(id string, m *wavenet.Model, o compressapi.Served) error {
	return r.srv.AddModel(id, m, api.WithInt8(o.Int8), api.WithSpeechStats(r.srv.SpeechStats(o.Source)))
}
