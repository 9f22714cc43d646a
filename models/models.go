package models

import (
	"embed"
	"io/fs"

	"github.com/wavenet-go/wavenet/wavenet"
)

// ID is the model id the default model is served under, and the
// directory of FS() that holds its checkpoint.
const ID = "default"

//go:embed all:default
var files embed.FS

// FS returns the embedded files: the checkpoint directory ID (load it
// with synth.LoadFS(models.FS(), models.ID)).
func FS() fs.FS { return files }

// Available reports whether a default checkpoint is embedded.
func Available() bool {
	_, err := fs.Stat(files, ID+"/"+wavenet.ConfigFile)
	return err == nil
}
