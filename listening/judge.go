package listening

import (
	"context"
	"fmt"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/models"
)

// The judges Options.Judge, VocoderOptions.Judge and LoadJudge name;
// anything else is a directory holding a CNN judge (classify.LoadCNN).
const (
	// JudgeCNN is the embedded spectrogram CNN (models.JudgeID), the
	// default ("" means it too).
	JudgeCNN = "cnn"
	// JudgeMFCC is the MFCC + logistic-regression classifier, trained at
	// run time on the FSDD recordings outside the validation indices.
	JudgeMFCC = "mfcc"
)

// Judge is a loaded judge and what it is, for reports.
type Judge struct {
	classify.Judge
	// Origin says where it comes from: "the embedded judge
	// (models/judge)", "trained on 2400 recordings of DIR (FSDD indices
	// outside 5-9)" or the directory it was loaded from.
	Origin string
	// Trained is the number of recordings it was trained on here (the
	// MFCC classifier), 0 for a judge loaded trained.
	Trained int
}

// LoadJudge returns the judge spec names (JudgeCNN or "", JudgeMFCC, or a
// directory). The MFCC classifier is trained on the recordings of fsdd
// outside the indices lo..hi, peak-normalised first when normalize.
func LoadJudge(ctx context.Context, spec, fsdd string, lo, hi int, normalize bool) (*Judge, error) {
	switch spec {
	case "", JudgeCNN:
		if !models.Has(models.JudgeID) {
			return nil, fmt.Errorf("listening: no CNN judge is embedded (models/%s): use --judge %s or --judge DIR", models.JudgeID, JudgeMFCC)
		}
		m, err := classify.LoadCNNFS(models.FS(), models.JudgeID)
		if err != nil {
			return nil, fmt.Errorf("listening: the embedded judge: %w", err)
		}
		return &Judge{Judge: m, Origin: "the embedded judge (models/" + models.JudgeID + ")"}, nil
	case JudgeMFCC:
		ex, _, _, err := classify.LoadDir(ctx, fsdd, classify.IndexIn(lo, hi, false))
		if err != nil {
			return nil, fmt.Errorf("listening: classifier training data: %w", err)
		}
		if normalize {
			for i := range ex {
				audio.Normalize(ex[i].Samples, corpus.DefaultNormalizeDB)
			}
		}
		c, err := classify.Train(ctx, ex)
		if err != nil {
			return nil, err
		}
		return &Judge{Judge: c, Origin: fmt.Sprintf("trained on %d recordings of %s (FSDD indices outside %d-%d)", len(ex), fsdd, lo, hi),
			Trained: len(ex)}, nil
	}
	m, err := classify.LoadCNN(spec)
	if err != nil {
		return nil, fmt.Errorf("listening: judge %s: %w", spec, err)
	}
	return &Judge{Judge: m, Origin: spec}, nil
}
