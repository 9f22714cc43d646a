package ltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnknownListener is a rating from a token the store did not issue.
var ErrUnknownListener = errors.New("ltest: unknown listener")

// The buckets in NATS JetStream (the service's one durable store, shared
// by every replica): RecordsBucket, a key-value bucket of tests by id
// ("test.ID": JSON), listeners by token ("listener.TOKEN": the time
// issued) and ratings ("rating.ID.SID.TOKEN": JSON); AudioBucket, an
// object store of the stimuli's WAVs ("ID/SID/SIDE").
const (
	RecordsBucket = "wavenet-ltest"
	AudioBucket   = "wavenet-ltest-audio"
)

// opTimeout bounds each store operation.
const opTimeout = 30 * time.Second

// The shapes of the ids that become keys: test ids and listener tokens
// are hex (newID, newToken), stimulus ids "s" and a number. Anything else
// from outside is not found, never a key pattern.
var (
	idRe    = regexp.MustCompile(`^[0-9a-f]{16}$`)
	sidRe   = regexp.MustCompile(`^s[0-9]{1,6}$`)
	tokenRe = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Store holds listening tests, their audio and their ratings in NATS
// JetStream. It is safe for concurrent use, also by several processes
// (replicas) on the same NATS.
type Store struct {
	kv    jetstream.KeyValue
	audio jetstream.ObjectStore
}

// Open binds to the listening-test buckets of js, creating them (with
// replicas copies on a cluster; 0 means 1) if they do not exist.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	replicas = max(replicas, 1)
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: RecordsBucket,
		Description: "wavenet listening tests, listeners and ratings", History: 1,
		Storage: jetstream.FileStorage, Replicas: replicas})
	if err != nil {
		return nil, fmt.Errorf("ltest: bucket %s: %w", RecordsBucket, err)
	}
	audio, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: AudioBucket,
		Description: "wavenet listening-test stimuli (WAV), named TEST/STIMULUS/SIDE",
		Storage:     jetstream.FileStorage, Replicas: replicas})
	if err != nil {
		return nil, fmt.Errorf("ltest: bucket %s: %w", AudioBucket, err)
	}
	return &Store{kv: kv, audio: audio}, nil
}

// Close releases nothing: the NATS connection belongs to the caller. It
// is kept so callers close what they open.
func (st *Store) Close() error { return nil }

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

func testKey(id string) string { return "test." + id }

// put stores t's audio (audioKey -> WAV), then t: a test is listed only
// once its audio is stored.
func (st *Store) put(t *Test, wavs map[string][]byte) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("ltest: %w", err)
	}
	ctx, cancel := opCtx()
	defer cancel()
	for k, w := range wavs {
		if _, err := st.audio.PutBytes(ctx, t.ID+"/"+k, w); err != nil {
			return fmt.Errorf("ltest: store test %s: audio %s: %w", t.ID, k, err)
		}
	}
	if _, err := st.kv.Create(ctx, testKey(t.ID), b); err != nil {
		return fmt.Errorf("ltest: store test %s: %w", t.ID, err)
	}
	return nil
}

// getTest reads test id.
func (st *Store) getTest(ctx context.Context, id string) (*Test, error) {
	if !idRe.MatchString(id) {
		return nil, fmt.Errorf("%w: no test %q", ErrNotFound, id)
	}
	e, err := st.kv.Get(ctx, testKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: no test %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("ltest: test %s: %w", id, err)
	}
	var t Test
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return nil, fmt.Errorf("ltest: test %s: %w", id, err)
	}
	return &t, nil
}

// Test returns test id.
func (st *Store) Test(id string) (*Test, error) {
	ctx, cancel := opCtx()
	defer cancel()
	return st.getTest(ctx, id)
}

// keys lists the keys matching filter, sorted.
func (st *Store) keys(ctx context.Context, filter string) ([]string, error) {
	l, err := st.kv.ListKeysFiltered(ctx, filter)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ltest: list %s: %w", filter, err)
	}
	defer func() { _ = l.Stop() }()
	var keys []string
	for k := range l.Keys() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// Tests returns every test, newest first.
func (st *Store) Tests() ([]*Test, error) {
	ctx, cancel := opCtx()
	defer cancel()
	keys, err := st.keys(ctx, "test.*")
	if err != nil {
		return nil, err
	}
	ts := make([]*Test, 0, len(keys))
	for _, k := range keys {
		t, err := st.getTest(ctx, strings.TrimPrefix(k, "test."))
		if errors.Is(err, ErrNotFound) {
			continue // deleted since listed
		}
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	slices.SortStableFunc(ts, func(a, b *Test) int { return b.Created.Compare(a.Created) })
	return ts, nil
}

// Delete removes test id, then its ratings and audio.
func (st *Store) Delete(id string) error {
	ctx, cancel := opCtx()
	defer cancel()
	t, err := st.getTest(ctx, id)
	if err != nil {
		return err
	}
	if err := st.kv.Purge(ctx, testKey(id)); err != nil {
		return fmt.Errorf("ltest: delete %s: %w", id, err)
	}
	keys, err := st.keys(ctx, "rating."+id+".>")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := st.kv.Purge(ctx, k); err != nil {
			return fmt.Errorf("ltest: delete %s: %w", id, err)
		}
	}
	audio, _, _ := stimulusAudio(t)
	for _, k := range audio {
		if err := st.audio.Delete(ctx, id+"/"+k); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("ltest: delete %s: audio %s: %w", id, k, err)
		}
	}
	return nil
}

// Audio returns the WAV of side (ChoiceA; ChoiceB too for an A/B test)
// of stimulus sid of test id.
func (st *Store) Audio(id, sid, side string) ([]byte, error) {
	ctx, cancel := opCtx()
	defer cancel()
	t, err := st.getTest(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, ok := t.Stimulus(sid); !ok {
		return nil, fmt.Errorf("%w: test %q has no stimulus %q", ErrNotFound, id, sid)
	}
	if side != ChoiceA && !(side == ChoiceB && t.Kind == KindAB) {
		if t.Kind == KindAB {
			return nil, invalidf("side %q: want %q or %q", side, ChoiceA, ChoiceB)
		}
		return nil, invalidf("side %q: a MOS stimulus has only side %q", side, ChoiceA)
	}
	wav, err := st.audio.GetBytes(ctx, id+"/"+audioKey(sid, side))
	if err != nil {
		return nil, fmt.Errorf("ltest: test %s: audio %s: %w", id, audioKey(sid, side), err)
	}
	return wav, nil
}

func listenerKey(tok string) string { return "listener." + tok }

// NewListener issues a new listener token and records it.
func (st *Store) NewListener() (string, error) {
	tok := newToken()
	ctx, cancel := opCtx()
	defer cancel()
	if _, err := st.kv.Create(ctx, listenerKey(tok), []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		return "", fmt.Errorf("ltest: new listener: %w", err)
	}
	return tok, nil
}

// KnownListener says whether tok is a token NewListener issued.
func (st *Store) KnownListener(tok string) bool {
	if !tokenRe.MatchString(tok) {
		return false
	}
	ctx, cancel := opCtx()
	defer cancel()
	_, err := st.kv.Get(ctx, listenerKey(tok))
	return err == nil
}

// Rating is one listener's judgement of one stimulus: Score (1 to 5) in
// a MOS test, Choice (ChoiceA, ChoiceB or ChoiceNone) in an A/B test.
type Rating struct {
	Score  int    `json:"score,omitempty"`
	Choice string `json:"choice,omitempty"`
	// Updated is when the rating was last set (set by Rate).
	Updated time.Time `json:"updated"`
}

// ratingKey is where listener's rating of stimulus sid of test id is
// stored: the key holds the listener, so a listener writes only their own
// ratings.
func ratingKey(id, sid, listener string) string { return "rating." + id + "." + sid + "." + listener }

// Rate sets listener's rating of stimulus sid of test id, replacing the
// listener's earlier rating of it (and nobody else's). The test and the
// stimulus must exist (ErrNotFound), the listener must have been issued
// by NewListener (ErrUnknownListener), and the rating must fit the
// test's kind (ErrInvalid).
func (st *Store) Rate(id, sid, listener string, r Rating) error {
	ctx, cancel := opCtx()
	defer cancel()
	t, err := st.getTest(ctx, id)
	if err != nil {
		return err
	}
	if _, ok := t.Stimulus(sid); !ok || !sidRe.MatchString(sid) {
		return fmt.Errorf("%w: test %q has no stimulus %q", ErrNotFound, id, sid)
	}
	if !st.KnownListener(listener) {
		return ErrUnknownListener
	}
	switch t.Kind {
	case KindMOS:
		if r.Score < 1 || r.Score > 5 || r.Choice != "" {
			return invalidf("a MOS rating is a score from 1 to 5 (and no choice), got score %d", r.Score)
		}
	case KindAB:
		if (r.Choice != ChoiceA && r.Choice != ChoiceB && r.Choice != ChoiceNone) || r.Score != 0 {
			return invalidf("an A/B rating is a choice %q, %q or %q (and no score), got %q", ChoiceA, ChoiceB, ChoiceNone, r.Choice)
		}
	}
	r.Updated = time.Now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("ltest: %w", err)
	}
	if _, err := st.kv.Put(ctx, ratingKey(id, sid, listener), b); err != nil {
		return fmt.Errorf("ltest: rate: %w", err)
	}
	return nil
}

// Ratings returns listener's ratings of test id by stimulus id.
func (st *Store) Ratings(id, listener string) (map[string]Rating, error) {
	out := map[string]Rating{}
	err := st.eachRating(id, func(_ *Test, sid, l string, r Rating) {
		if l == listener {
			out[sid] = r
		}
	})
	return out, err
}

// eachRating calls f with every rating of test id, in key order
// (stimulus id, then listener).
func (st *Store) eachRating(id string, f func(t *Test, sid, listener string, r Rating)) error {
	ctx, cancel := opCtx()
	defer cancel()
	t, err := st.getTest(ctx, id)
	if err != nil {
		return err
	}
	keys, err := st.keys(ctx, "rating."+id+".>")
	if err != nil {
		return err
	}
	for _, k := range keys {
		parts := strings.Split(k, ".")
		if len(parts) != 4 {
			return fmt.Errorf("ltest: test %s: bad rating key %q", id, k)
		}
		e, err := st.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("ltest: test %s: rating %q: %w", id, k, err)
		}
		var r Rating
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			return fmt.Errorf("ltest: test %s: rating %q: %w", id, k, err)
		}
		f(t, parts[2], parts[3], r)
	}
	return nil
}
