package derive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// stringDict numbers the strings of the index's interaction values (campaign ids, platforms, locales, variations),
// so that an entry holds a small integer instead of each string: the index is smaller, more of it fits the block
// cache, and decoding an entry allocates no strings. Entry i is stored under dictKeyPrefix + i (big-endian) and is
// never changed. Its size is bounded: past maxDictStrings strings are written inline in the entries that use them
// (a reference's low bit tells which), so event values that are never repeated do not grow it.
//
// Strings are added only by the worker's goroutine; cursors read a snapshot (the slice only grows, and what it
// holds never changes).
type stringDict struct {
	db   *pebble.DB
	mu   sync.Mutex
	ids  map[string]uint32
	strs []string
	max  int // maxDictStrings but in tests
}

const maxDictStrings = 1 << 16

var dictKeyPrefix = []byte("\x00str")

func dictKey(id uint32) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), dictKeyPrefix...), id)
}

// loadStringDict reads the dictionary of an index.
func loadStringDict(db *pebble.DB) (*stringDict, error) {
	d := &stringDict{db: db, ids: map[string]uint32{}, max: maxDictStrings}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: dictKeyPrefix, UpperBound: prefixEnd(dictKeyPrefix)})
	if err != nil {
		return nil, fmt.Errorf("derive: read the string dictionary: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()[len(dictKeyPrefix):]
		if len(k) != 4 || binary.BigEndian.Uint32(k) != uint32(len(d.strs)) {
			return nil, errors.New("derive: corrupt string dictionary")
		}
		s := string(it.Value())
		d.ids[s] = uint32(len(d.strs))
		d.strs = append(d.strs, s)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("derive: read the string dictionary: %w", err)
	}
	return d, nil
}

// appendRef appends a reference to s: 2·id+1 for a dictionary string, else 2·len(s) and s. A string new to the
// dictionary is written to the index before any batch that refers to it can commit (writes reach Pebble's log in
// order, so what survives a crash never refers to a lost string).
func (d *stringDict) appendRef(b []byte, s string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.ids[s]
	if !ok && len(d.strs) < d.max {
		id = uint32(len(d.strs))
		if err := d.db.Set(dictKey(id), []byte(s), pebble.NoSync); err != nil {
			return nil, fmt.Errorf("derive: add to the string dictionary: %w", err)
		}
		d.ids[s] = id
		d.strs = append(d.strs, s)
		ok = true
	}
	if ok {
		return binary.AppendUvarint(b, uint64(id)<<1|1), nil
	}
	b = binary.AppendUvarint(b, uint64(len(s))<<1)
	return append(b, s...), nil
}

// snapshot returns the strings added so far.
func (d *stringDict) snapshot() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.strs[:len(d.strs):len(d.strs)]
}

// ref decodes a reference written by appendRef.
func (r *reader) ref() string {
	v, w := binary.Uvarint(r.b)
	if w <= 0 {
		r.err = errors.New("derive: corrupt index value")
		return ""
	}
	r.b = r.b[w:]
	if v&1 == 1 {
		if v>>1 >= uint64(len(r.strs)) {
			r.err = errors.New("derive: index value refers to an unknown string")
			return ""
		}
		return r.strs[v>>1]
	}
	n := v >> 1
	if uint64(len(r.b)) < n {
		r.err = errors.New("derive: corrupt index value")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
