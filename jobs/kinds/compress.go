package kinds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/wavenet"
)

// CompressRequest is a compress job: the model of Model (an embedded
// model id, default "default") or of Job (a job that made a model:
// compress or train) quantized or pruned into the outputs model/...
type CompressRequest struct {
	Model string `json:"model,omitempty"`
	Job   string `json:"job,omitempty"`
	// Method is quantize or prune.
	Method string `json:"method"`
	// quantize: DType int8 (default), fp16 or bf16; int8 defaults to
	// PyTorch's weight observers (qint8, symmetric, per tensor), changed
	// by PerChannel, Affine and Unsigned (quint8).
	DType      string `json:"dtype,omitempty"`
	PerChannel bool   `json:"per_channel,omitempty"`
	Affine     bool   `json:"affine,omitempty"`
	Unsigned   bool   `json:"unsigned,omitempty"`
	// prune: Amount is the fraction of weights zeroed (default 0.5),
	// per tensor unless Global, whole rows when Structured.
	Amount     *float64 `json:"amount,omitempty"`
	Global     bool     `json:"global,omitempty"`
	Structured bool     `json:"structured,omitempty"`
}

// CompressResult is the result of a compress job.
type CompressResult struct {
	Format    string  `json:"format"`
	Bytes     int     `json:"bytes"`      // model.safetensors of the new model
	FP32Bytes int     `json:"fp32_bytes"` // the same for the source in float32
	Sparsity  float64 `json:"sparsity"`
}

// compressSpec is what a compress job does.
type compressSpec struct {
	save  compress.SaveOptions
	prune *compress.PruneOptions
}

func (r *CompressRequest) spec() (compressSpec, error) {
	var s compressSpec
	if r.Model != "" && r.Job != "" {
		return s, badRequest(Compress, "model %q and job %q: give one source", r.Model, r.Job)
	}
	if r.Job == "" && r.Model == "" {
		r.Model = models.ID
	}
	if r.Model != "" && !slices.Contains(models.IDs(), r.Model) {
		return s, badRequest(Compress, "model %q: want an embedded model (%v) or job: the id of a job that made a model", r.Model, models.IDs())
	}
	switch r.Method {
	case "quantize":
		dt := r.DType
		if dt == "" {
			dt = string(compress.Int8)
		}
		f, err := compress.ParseFormat(dt)
		if err != nil || f == compress.FP32 {
			return s, badRequest(Compress, "dtype %q: want int8, fp16 or bf16", r.DType)
		}
		s.save = compress.SaveOptions{Format: f, PerChannel: r.PerChannel, DType: compress.QInt8, Scheme: compress.Symmetric}
		if r.Unsigned {
			s.save.DType = compress.QUInt8
		}
		if r.Affine {
			s.save.Scheme = compress.Affine
		}
	case "prune":
		a := 0.5
		if r.Amount != nil {
			a = *r.Amount
		}
		if !(a >= 0 && a <= 1) {
			return s, badRequest(Compress, "amount %v: want a fraction between 0 and 1", a)
		}
		s.prune = &compress.PruneOptions{Amount: compress.Fraction(a), Global: r.Global, Structured: r.Structured}
		s.save = compress.SaveOptions{Format: compress.FP32}
	default:
		return s, badRequest(Compress, "method %q: want quantize or prune", r.Method)
	}
	return s, nil
}

// sourceModel writes the checkpoint directory of the request's source
// model into dir.
func (r *CompressRequest) sourceModel(ctx context.Context, s *jobs.Store, dir string) error {
	if r.Job == "" {
		return copyFS(models.FS(), r.Model, dir)
	}
	n, err := fetchDir(ctx, s, r.Job, ModelPrefix, dir)
	if err != nil {
		return err
	}
	if n == 0 {
		return badRequest(Compress, "job %s made no model (no outputs under %s/)", r.Job, ModelPrefix)
	}
	return nil
}

func (o Options) compress(ctx context.Context, t *jobs.Task) error {
	var r CompressRequest
	if err := t.Decode(&r); err != nil {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	sp, err := r.spec()
	if err != nil {
		return err
	}
	tmp, err := o.tempDir("compress-" + t.ID)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src, dst := filepath.Join(tmp, "src"), filepath.Join(tmp, "dst")
	if err := t.Progress(ctx, "loading", 0.05); err != nil {
		return err
	}
	if err := r.sourceModel(ctx, t.Store(), src); err != nil {
		return err
	}
	m, _, err := compress.Load(ctx, src)
	if err != nil {
		return err
	}
	fp32, err := compress.Marshal(m, compress.SaveOptions{})
	if err != nil {
		return err
	}
	res := CompressResult{Format: string(sp.save.Format), FP32Bytes: len(fp32)}
	if sp.prune != nil {
		if err := t.Progress(ctx, "pruning", 0.2); err != nil {
			return err
		}
		if _, err := compress.PruneModel(m, *sp.prune, nil); err != nil {
			return err
		}
	}
	if err := t.Progress(ctx, "quantizing", 0.5); err != nil {
		return err
	}
	q, n, err := compress.Quantized(m, sp.save)
	if err != nil {
		return err
	}
	res.Bytes, res.Sparsity = n, compress.Sparsity(q)
	if err := compress.Save(ctx, dst, m, sp.save); err != nil {
		return err
	}
	// The source's other files (speech.json: word durations) go along.
	if err := copyExtras(src, dst); err != nil {
		return err
	}
	if err := t.Progress(ctx, "storing", 0.8); err != nil {
		return err
	}
	out := dirSync{t: t, prefix: ModelPrefix, dir: dst}
	if err := out.sync(ctx); err != nil {
		return err
	}
	return t.SetResult(res)
}

// copyExtras copies the files of checkpoint directory src other than
// its config and weights into dst.
func copyExtras(src, dst string) error {
	es, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("kinds: %w", err)
	}
	for _, e := range es {
		if e.IsDir() || e.Name() == wavenet.ConfigFile || e.Name() == wavenet.WeightsFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return fmt.Errorf("kinds: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return fmt.Errorf("kinds: %w", err)
		}
	}
	return nil
}
