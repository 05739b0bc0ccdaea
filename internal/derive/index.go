package derive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// userIndex keeps what attribution needs per user, ordered by (workspace, user, time), in an embedded LSM key-value
// store (github.com/cockroachdb/pebble): every interaction and held-out view, and every user event whose name is a
// goal event name. A lookup is a range scan over one user's keys, so its cost does not depend on how many events
// are stored; memory is Pebble's block cache and memtables, set by configuration.
//
// Keys: kind byte ('I' interaction, 'G' goal event) | len(ws) | ws | user Hi | user Lo | time | uuid, integers
// big-endian (time with its sign bit flipped, so that byte order is time order). Values: the fields attribution
// reads; an interaction's strings (campaign, platform, locale, variation) as references to the index's string
// dictionary (strings.go). The key "\x00through" holds the last log Seq indexed.
type userIndex struct {
	db   *pebble.DB
	dict *stringDict
}

const (
	kindInteraction = 'I'
	kindGoal        = 'G'
)

var throughKey = []byte("\x00through")

// indexOptions are the Pebble options of the index: cache and memtable sizes bound its memory. Keys split into a
// user prefix (kind, workspace, user) and a suffix (time, uuid); every level keeps a Bloom filter of the prefixes
// of each table, so that a user's lookup (SeekPrefixGE) reads only the tables that hold the user instead of one
// block of every table its key range overlaps. Tables are not compressed: with dictionary-coded values Snappy saved
// little, and decoding it was a tenth of the lookups' time (the block cache holds uncompressed blocks either way).
func indexOptions(cacheBytes int64) *pebble.Options {
	opts := &pebble.Options{Cache: pebble.NewCache(cacheBytes), MemTableSize: uint64(max(cacheBytes/2, 4<<20)),
		Comparer: indexComparer, Logger: quietLogger{}}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	return opts
}

// indexComparer orders keys bytewise, as Pebble's default comparer does, and splits entry keys after the user.
var indexComparer = func() *pebble.Comparer {
	c := *pebble.DefaultComparer
	c.Name = "campaignstats.userindex.v2"
	c.Split = splitUserKey
	return &c
}()

// splitUserKey returns the length of an entry key's user prefix (kind, len(ws), ws, 16-byte user); other keys are
// all prefix. Prefixes of different lengths differ before the shorter one ends (at the workspace length byte), so
// ordering by prefix then suffix is the bytewise order Pebble requires.
func splitUserKey(k []byte) int {
	if len(k) >= 2 && (k[0] == kindInteraction || k[0] == kindGoal) {
		if n := 2 + int(k[1]) + 16; len(k) >= n {
			return n
		}
	}
	return len(k)
}

// quietLogger drops Pebble's informational log lines; errors reach callers as errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func openIndex(dir string, cacheBytes int64) (*userIndex, error) {
	opts := indexOptions(cacheBytes)
	defer opts.Cache.Unref()
	db, err := pebble.Open(dir, opts)
	if err != nil && strings.Contains(err.Error(), "comparer name") {
		// An index written by an earlier layout: it is a cache of the log, so it is dropped and rebuilt.
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			return nil, fmt.Errorf("derive: drop the old user index in %s: %w", dir, rmErr)
		}
		db, err = pebble.Open(dir, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("derive: open the user index in %s: %w", dir, err)
	}
	dict, err := loadStringDict(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &userIndex{db: db, dict: dict}, nil
}

func (x *userIndex) close() error { return x.db.Close() }

// through returns the last log Seq indexed (0 for a new index).
func (x *userIndex) through() (store.Seq, error) {
	v, closer, err := x.db.Get(throughKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("derive: read the index's progress: %w", err)
	}
	defer closer.Close()
	return store.Seq(binary.BigEndian.Uint64(v)), nil
}

// userPrefix is the key prefix of one user's entries of one kind.
func userPrefix(kind byte, ws string, u domain.UserID) []byte {
	k := make([]byte, 0, 2+len(ws)+16+8+40)
	k = append(k, kind, byte(len(ws)))
	k = append(k, ws...)
	k = binary.BigEndian.AppendUint64(k, u.Hi)
	return binary.BigEndian.AppendUint64(k, u.Lo)
}

func appendTime(k []byte, ms int64) []byte {
	return binary.BigEndian.AppendUint64(k, uint64(ms)^(1<<63))
}

func entryKey(kind byte, ws string, u domain.UserID, ms int64, uuid string) []byte {
	return append(appendTime(userPrefix(kind, ws, u), ms), uuid...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes length-prefixed values and references to the string dictionary.
type reader struct {
	b    []byte
	strs []string // the dictionary, for ref
	err  error
}

func (r *reader) str() string {
	n, w := binary.Uvarint(r.b)
	if w <= 0 || uint64(len(r.b)-w) < n {
		r.err = errors.New("derive: corrupt index value")
		return ""
	}
	s := string(r.b[w : w+int(n)])
	r.b = r.b[w+int(n):]
	return s
}

func (r *reader) byte1() byte {
	if len(r.b) < 1 {
		r.err = errors.New("derive: corrupt index value")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// interaction is an indexed campaign event that can explain goal events.
type interaction struct {
	unit              string
	uuid              string
	timeMS            int64
	class             domain.InteractionClass
	counter           domain.Counter
	channels          domain.ChannelSet
	platform          string
	pdef              domain.PlatformDefault
	locale, variation string
}

// goalEvent is an indexed user event.
type goalEvent struct {
	uuid       string
	timeMS     int64
	code, name string
	attributes []byte
}

// put adds an event to the index batch: campaign events of an interaction class always; user events when goal
// reports that one of their names is a goal event name (indexed is true then).
func (x *userIndex) put(b *pebble.Batch, e *store.StoredEvent, goal func(name string) bool) (indexed bool, err error) {
	if e.Campaign {
		if e.Class == domain.ClassNone {
			return false, nil
		}
		v := make([]byte, 0, 24)
		var err error
		if v, err = x.dict.appendRef(v, e.CampaignID); err != nil {
			return false, err
		}
		v = append(v, byte(e.Class), byte(e.Counter))
		v = binary.BigEndian.AppendUint16(v, uint16(e.Channels))
		if v, err = x.dict.appendRef(v, e.Platform); err != nil {
			return false, err
		}
		v = append(v, byte(e.PlatformDefault))
		if v, err = x.dict.appendRef(v, e.Locale); err != nil {
			return false, err
		}
		if v, err = x.dict.appendRef(v, e.Variation); err != nil {
			return false, err
		}
		return false, b.Set(entryKey(kindInteraction, e.WorkspaceID, e.User, e.TimeMS, e.UUID), v, nil)
	}
	if !(e.Name != "" && goal(e.Name)) && !(e.Code != "" && goal(e.Code)) {
		return false, nil
	}
	v := make([]byte, 0, 32+len(e.Attributes))
	v = appendString(v, e.Code)
	v = appendString(v, e.Name)
	v = append(v, e.Attributes...)
	return true, b.Set(entryKey(kindGoal, e.WorkspaceID, e.User, e.TimeMS, e.UUID), v, nil)
}

// parseEntryKey returns the workspace, user and time of an entry key.
func parseEntryKey(k []byte) (string, domain.UserID, int64, bool) {
	if len(k) < 2 || len(k) < 2+int(k[1])+24 {
		return "", domain.UserID{}, 0, false
	}
	n := int(k[1])
	ws := string(k[2 : 2+n])
	rest := k[2+n:]
	u := domain.UserID{Hi: binary.BigEndian.Uint64(rest), Lo: binary.BigEndian.Uint64(rest[8:])}
	return ws, u, int64(binary.BigEndian.Uint64(rest[16:]) ^ (1 << 63)), true
}

// cursor reads users' entries through one iterator. Lookups made in key order (users ascending) reuse what the
// previous one loaded: the tables' iterators, their index blocks and the data block it ended in, so a batch's
// lookups cost about the blocks they read instead of a new iterator each.
type cursor struct {
	it   *pebble.Iterator
	key  []byte   // the seek key, reused
	strs []string // the string dictionary as of the cursor's creation
}

// cursor returns a cursor over r (the index, or a batch of it that sees its own writes). Close it when done.
func (x *userIndex) cursor(r pebble.Reader) (*cursor, error) {
	it, err := r.NewIter(nil)
	if err != nil {
		return nil, fmt.Errorf("derive: index scan: %w", err)
	}
	return &cursor{it: it, strs: x.dict.snapshot()}, nil
}

func (c *cursor) close() error { return c.it.Close() }

// scan calls fn with the key suffix (time, uuid) and value of a user's entries of one kind with from ≤ time ≤ to.
func (c *cursor) scan(kind byte, ws string, u domain.UserID, from, to int64, fn func(ms int64, uuid string, v []byte) error) error {
	c.key = append(c.key[:0], kind, byte(len(ws)))
	c.key = append(c.key, ws...)
	c.key = binary.BigEndian.AppendUint64(c.key, u.Hi)
	c.key = binary.BigEndian.AppendUint64(c.key, u.Lo)
	n := len(c.key)
	c.key = appendTime(c.key, from)
	// SeekPrefixGE: the tables' Bloom filters skip other users, and iteration ends with the user's entries.
	for valid := c.it.SeekPrefixGE(c.key); valid; valid = c.it.Next() {
		k := c.it.Key()
		if len(k) < n+8 || !bytes.Equal(k[:n], c.key[:n]) {
			continue
		}
		ms := int64(binary.BigEndian.Uint64(k[n:]) ^ (1 << 63))
		if ms > to {
			break
		}
		v, err := c.it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("derive: index scan: %w", err)
		}
		if err := fn(ms, string(k[n+8:]), v); err != nil {
			return err
		}
	}
	if err := c.it.Error(); err != nil {
		return fmt.Errorf("derive: index scan: %w", err)
	}
	return nil
}

// interactions returns a user's indexed interactions with from ≤ time ≤ to.
func (c *cursor) interactions(ws string, u domain.UserID, from, to int64) ([]interaction, error) {
	var out []interaction
	err := c.scan(kindInteraction, ws, u, from, to, func(ms int64, uuid string, v []byte) error {
		r := reader{b: v, strs: c.strs}
		in := interaction{uuid: uuid, timeMS: ms}
		in.unit = r.ref()
		in.class = domain.InteractionClass(r.byte1())
		in.counter = domain.Counter(r.byte1())
		if len(r.b) < 2 {
			return errors.New("derive: corrupt index value")
		}
		in.channels = domain.ChannelSet(binary.BigEndian.Uint16(r.b))
		r.b = r.b[2:]
		in.platform = r.ref()
		in.pdef = domain.PlatformDefault(r.byte1())
		in.locale = r.ref()
		in.variation = r.ref()
		if r.err != nil {
			return r.err
		}
		out = append(out, in)
		return nil
	})
	return out, err
}

func decodeGoal(ms int64, uuid string, v []byte) (goalEvent, error) {
	r := reader{b: v}
	g := goalEvent{uuid: uuid, timeMS: ms}
	g.code = r.str()
	g.name = r.str()
	if len(r.b) > 0 {
		g.attributes = append([]byte(nil), r.b...)
	}
	return g, r.err
}

// goals returns a user's indexed goal events with from ≤ time ≤ to.
func (c *cursor) goals(ws string, u domain.UserID, from, to int64) ([]goalEvent, error) {
	var out []goalEvent
	err := c.scan(kindGoal, ws, u, from, to, func(ms int64, uuid string, v []byte) error {
		g, err := decodeGoal(ms, uuid, v)
		out = append(out, g)
		return err
	})
	return out, err
}

// eachGoal calls fn with every indexed goal event of a workspace and its user.
func (x *userIndex) eachGoal(ws string, fn func(u domain.UserID, g goalEvent) error) error {
	prefix := append([]byte{kindGoal, byte(len(ws))}, ws...)
	upper := prefixEnd(prefix) // not prefix+0xff: a user's hash may start with 0xff
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("derive: index scan: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		rest := k[len(prefix):]
		if len(rest) < 24 {
			continue
		}
		u := domain.UserID{Hi: binary.BigEndian.Uint64(rest), Lo: binary.BigEndian.Uint64(rest[8:])}
		ms := int64(binary.BigEndian.Uint64(rest[16:]) ^ (1 << 63))
		g, err := decodeGoal(ms, string(rest[24:]), it.Value())
		if err != nil {
			return err
		}
		if err := fn(u, g); err != nil {
			return err
		}
	}
	return it.Error()
}

// prefixEnd returns the smallest key greater than every key that starts with prefix (nil when there is none).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i]++; end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// commit writes a batch with the new indexed-through Seq. It does not wait for the disk: the index is a cache of
// the log — after a crash it resumes from the last Seq it holds (each batch is atomic, so what survives is a
// prefix), and the worker re-indexes the events after it (Worker.catchUpIndex).
func (x *userIndex) commit(b *pebble.Batch, through store.Seq) error {
	if err := b.Set(throughKey, binary.BigEndian.AppendUint64(nil, uint64(through)), nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("derive: commit the user index: %w", err)
	}
	return nil
}
