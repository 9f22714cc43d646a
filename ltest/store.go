package ltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrUnknownListener is a rating from a token the store did not issue.
var ErrUnknownListener = errors.New("ltest: unknown listener")

// The buckets of the database: tests by id (JSON), and per test id a
// nested bucket of audio (audioKey -> WAV) and of ratings
// (ratingKey -> JSON); listeners by token (the time issued).
var (
	bucketTests     = []byte("tests")
	bucketAudio     = []byte("audio")
	bucketRatings   = []byte("ratings")
	bucketListeners = []byte("listeners")
)

// Store holds listening tests, their audio and their ratings in one
// bbolt file. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
}

// Open opens (creating it and its folder if need be) the database file
// name.
func Open(name string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, fmt.Errorf("ltest: %w", err)
	}
	db, err := bolt.Open(name, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("ltest: open %s: %w", name, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketTests, bucketAudio, bucketRatings, bucketListeners} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ltest: open %s: %w", name, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (st *Store) Close() error {
	if err := st.db.Close(); err != nil {
		return fmt.Errorf("ltest: close: %w", err)
	}
	return nil
}

// put stores t and its audio (audioKey -> WAV) in one transaction.
func (st *Store) put(t *Test, wavs map[string][]byte) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("ltest: %w", err)
	}
	err = st.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTests).Put([]byte(t.ID), b); err != nil {
			return err
		}
		ab, err := tx.Bucket(bucketAudio).CreateBucket([]byte(t.ID))
		if err != nil {
			return err
		}
		for k, w := range wavs {
			if err := ab.Put([]byte(k), w); err != nil {
				return err
			}
		}
		_, err = tx.Bucket(bucketRatings).CreateBucket([]byte(t.ID))
		return err
	})
	if err != nil {
		return fmt.Errorf("ltest: store test %s: %w", t.ID, err)
	}
	return nil
}

// getTest reads test id in tx.
func getTest(tx *bolt.Tx, id string) (*Test, error) {
	b := tx.Bucket(bucketTests).Get([]byte(id))
	if b == nil {
		return nil, fmt.Errorf("%w: no test %q", ErrNotFound, id)
	}
	var t Test
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("ltest: test %s: %w", id, err)
	}
	return &t, nil
}

// Test returns test id.
func (st *Store) Test(id string) (*Test, error) {
	var t *Test
	err := st.db.View(func(tx *bolt.Tx) (err error) {
		t, err = getTest(tx, id)
		return err
	})
	return t, err
}

// Tests returns every test, newest first.
func (st *Store) Tests() ([]*Test, error) {
	var ts []*Test
	err := st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTests).ForEach(func(k, v []byte) error {
			var t Test
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("ltest: test %s: %w", k, err)
			}
			ts = append(ts, &t)
			return nil
		})
	})
	slices.SortStableFunc(ts, func(a, b *Test) int { return b.Created.Compare(a.Created) })
	return ts, err
}

// Delete removes test id with its audio and ratings.
func (st *Store) Delete(id string) error {
	return st.db.Update(func(tx *bolt.Tx) error {
		if _, err := getTest(tx, id); err != nil {
			return err
		}
		if err := tx.Bucket(bucketTests).Delete([]byte(id)); err != nil {
			return fmt.Errorf("ltest: delete %s: %w", id, err)
		}
		for _, b := range [][]byte{bucketAudio, bucketRatings} {
			if err := tx.Bucket(b).DeleteBucket([]byte(id)); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return fmt.Errorf("ltest: delete %s: %w", id, err)
			}
		}
		return nil
	})
}

// Audio returns the WAV of side (ChoiceA; ChoiceB too for an A/B test)
// of stimulus sid of test id.
func (st *Store) Audio(id, sid, side string) ([]byte, error) {
	var wav []byte
	err := st.db.View(func(tx *bolt.Tx) error {
		t, err := getTest(tx, id)
		if err != nil {
			return err
		}
		if _, ok := t.Stimulus(sid); !ok {
			return fmt.Errorf("%w: test %q has no stimulus %q", ErrNotFound, id, sid)
		}
		if side != ChoiceA && !(side == ChoiceB && t.Kind == KindAB) {
			if t.Kind == KindAB {
				return invalidf("side %q: want %q or %q", side, ChoiceA, ChoiceB)
			}
			return invalidf("side %q: a MOS stimulus has only side %q", side, ChoiceA)
		}
		ab := tx.Bucket(bucketAudio).Bucket([]byte(id))
		if ab == nil {
			return fmt.Errorf("ltest: test %s has no audio", id)
		}
		wav = bytes.Clone(ab.Get([]byte(audioKey(sid, side))))
		if wav == nil {
			return fmt.Errorf("ltest: test %s: no audio for %s", id, audioKey(sid, side))
		}
		return nil
	})
	return wav, err
}

// NewListener issues a new listener token and records it.
func (st *Store) NewListener() (string, error) {
	tok := newToken()
	err := st.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketListeners).Put([]byte(tok), []byte(time.Now().UTC().Format(time.RFC3339)))
	})
	if err != nil {
		return "", fmt.Errorf("ltest: new listener: %w", err)
	}
	return tok, nil
}

// KnownListener says whether tok is a token NewListener issued.
func (st *Store) KnownListener(tok string) bool {
	ok := false
	_ = st.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketListeners).Get([]byte(tok)) != nil
		return nil
	})
	return ok
}

// Rating is one listener's judgement of one stimulus: Score (1 to 5) in
// a MOS test, Choice (ChoiceA, ChoiceB or ChoiceNone) in an A/B test.
type Rating struct {
	Score  int    `json:"score,omitempty"`
	Choice string `json:"choice,omitempty"`
	// Updated is when the rating was last set (set by Rate).
	Updated time.Time `json:"updated"`
}

// ratingKey is where listener's rating of stimulus sid is stored: the
// key holds the listener, so a listener writes only their own ratings.
func ratingKey(sid, listener string) []byte { return []byte(sid + "\x00" + listener) }

// Rate sets listener's rating of stimulus sid of test id, replacing the
// listener's earlier rating of it (and nobody else's). The test and the
// stimulus must exist (ErrNotFound), the listener must have been issued
// by NewListener (ErrUnknownListener), and the rating must fit the
// test's kind (ErrInvalid).
func (st *Store) Rate(id, sid, listener string, r Rating) error {
	return st.db.Update(func(tx *bolt.Tx) error {
		t, err := getTest(tx, id)
		if err != nil {
			return err
		}
		if _, ok := t.Stimulus(sid); !ok {
			return fmt.Errorf("%w: test %q has no stimulus %q", ErrNotFound, id, sid)
		}
		if listener == "" || tx.Bucket(bucketListeners).Get([]byte(listener)) == nil {
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
		rb := tx.Bucket(bucketRatings).Bucket([]byte(id))
		if rb == nil {
			return fmt.Errorf("ltest: test %s has no ratings bucket", id)
		}
		if err := rb.Put(ratingKey(sid, listener), b); err != nil {
			return fmt.Errorf("ltest: rate: %w", err)
		}
		return nil
	})
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
	return st.db.View(func(tx *bolt.Tx) error {
		t, err := getTest(tx, id)
		if err != nil {
			return err
		}
		rb := tx.Bucket(bucketRatings).Bucket([]byte(id))
		if rb == nil {
			return nil
		}
		return rb.ForEach(func(k, v []byte) error {
			sid, l, ok := bytes.Cut(k, []byte{0})
			if !ok {
				return fmt.Errorf("ltest: test %s: bad rating key %q", id, k)
			}
			var r Rating
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("ltest: test %s: rating %q: %w", id, k, err)
			}
			f(t, string(sid), string(l), r)
			return nil
		})
	})
}
