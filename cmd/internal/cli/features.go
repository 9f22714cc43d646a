package cli

import (
	"context"
	"path/filepath"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/compressapi"
	"github.com/wavenet-go/wavenet/api/detectionapi"
	"github.com/wavenet-go/wavenet/api/listeningapi"
	"github.com/wavenet-go/wavenet/api/rlapi"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/ltest"
)

// serveFeatures are the REST features serve mounts besides the core
// routes: the one place that lists them.
type serveFeatures struct {
	list      []api.Feature
	closers   []func()
	listening *listeningapi.Service
}

// featureLimits bound the features' work (serve's flags); the zero
// value takes each feature's defaults.
type featureLimits struct {
	detection detectionapi.Options
}

// newServeFeatures builds detection, rl (unless noRL), compress (rl and
// compress are views of the jobs of the job store js) and the listening
// tests, kept in the NATS JetStream of js (shared by every replica),
// whose folders of WAVs are under dataDir/wavs.
func newServeFeatures(noRL bool, dataDir string, js *jobs.Store, lim featureLimits) (*serveFeatures, error) {
	f := &serveFeatures{list: []api.Feature{detectionapi.New(lim.detection)}}
	if !noRL {
		f.list = append(f.list, rlapi.New(rlapi.Options{Store: js}).Feature())
	}
	f.list = append(f.list, compressapi.New(compressapi.Options{Store: js}).Feature())
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

// serve hands srv's synthesis engine to the listening tests.
func (f *serveFeatures) serve(srv *api.Server) {
	f.listening.SetSynthesizer(ltest.Engine{E: srv.Engine()})
}

// close stops the features' background work
// and waits for it, and closes the listening tests' database.
func (f *serveFeatures) close() {
	for _, c := range f.closers {
		c()
	}
}
