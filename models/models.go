package models

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// ID is the model id the default model is served under.
const ID = "default"

//go:embed all:default
var files embed.FS

// ErrNoDefault is returned by Default when the binary was built without a
// checkpoint in models/default/.
var ErrNoDefault = errors.New("models: no default model embedded in this build (models/default/ has no " +
	wavenet.ConfigFile + "); serve a checkpoint directory with --models DIR")

// FS returns the embedded checkpoint directory "default".
func FS() fs.FS { return files }

// Available reports whether a default checkpoint is embedded.
func Available() bool {
	_, err := fs.Stat(files, "default/"+wavenet.ConfigFile)
	return err == nil
}

// Default loads the embedded default model. It returns ErrNoDefault when
// none is embedded.
func Default() (*wavenet.Model, error) {
	if !Available() {
		return nil, ErrNoDefault
	}
	m, err := wavenet.LoadFS(files, "default")
	if err != nil {
		return nil, fmt.Errorf("models: embedded default model: %w", err)
	}
	return m, nil
}

// Stats returns the duration statistics of the embedded default model
// (speech.StatsFile beside its checkpoint), which say how long each
// (speaker, digit) is generated: nil, nil when the model has none (then
// speech.DefaultDuration applies) or no default model is embedded.
func Stats() (*speech.Stats, error) {
	if !Available() {
		return nil, nil
	}
	st, err := speech.ReadStats(files, "default")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("models: embedded default model: %w", err)
	}
	return st, nil
}
