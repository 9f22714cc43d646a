// Package kindstest helps the tests of packages that run jobs of
// jobs/kinds: a job store on an embedded NATS server in a test's
// temporary directory, and a job kind that stores a given model as its
// model/ output (the source of compress jobs).
package kindstest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Open connects to the NATS at url, or ("") starts an embedded server
// with its files under t.TempDir(); the store is closed when the test
// ends. Jobs of a stopped worker come back after a second (AckWait).
func Open(t testing.TB, url string) *jobs.Store {
	t.Helper()
	o := jobs.Options{URL: url, AckWait: time.Second}
	if url == "" {
		o.DataDir = t.TempDir()
	}
	s, err := jobs.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// PutModel returns a job handler that stores m's checkpoint as the
// job's outputs kinds.ModelPrefix/...: a job that made a model.
func PutModel(t testing.TB, m *wavenet.Model) jobs.Handler {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if err := wavenet.Save(context.Background(), dir, m, nil); err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, task *jobs.Task) error {
		for _, name := range []string{wavenet.ConfigFile, wavenet.WeightsFile} {
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			_, err = task.Put(ctx, kinds.ModelPrefix+"/"+name, "", f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
}
