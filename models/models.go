package models

import (
	"embed"
	"io/fs"

	"github.com/wavenet-go/wavenet/wavenet"
)

// ID is the model id the default model (the digit voice) is served
// under, and the directory of FS() that holds its checkpoint.
const ID = "default"

// VocoderID is the id and directory of the default vocoder: a mel-
// spectrogram WaveNet (local conditioning) for copy synthesis and
// vocoding (`wavenet vocode`, POST /v1/vocode).
const VocoderID = "vocoder"

// JudgeID is the directory of the spectrogram CNN judge of `wavenet eval`
// and `wavenet samples` (classify.LoadCNNFS(models.FS(), JudgeID)): not a
// WaveNet, so not among IDs.
const JudgeID = "judge"

//go:embed all:default all:vocoder all:judge
var files embed.FS

// FS returns the embedded files: the checkpoint directories ID and
// VocoderID (load one with synth.LoadFS(models.FS(), id)).
func FS() fs.FS { return files }

// Available reports whether the default checkpoint (ID) is embedded.
func Available() bool { return Has(ID) }

// Has reports whether the checkpoint directory id is embedded.
func Has(id string) bool {
	_, err := fs.Stat(files, id+"/"+wavenet.ConfigFile)
	return err == nil
}

// IDs returns the ids of the embedded checkpoints, the digit voice first.
func IDs() []string {
	var ids []string
	for _, id := range []string{ID, VocoderID} {
		if Has(id) {
			ids = append(ids, id)
		}
	}
	return ids
}
