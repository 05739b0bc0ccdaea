package domain

import (
	"crypto/sha256"
	"encoding/binary"
)

// UserID identifies a user key (SPEC §2.8) in stored events and credits: the first 128 bits of the SHA-256 of the
// namespaced key. It has a fixed size whatever the key's length, is the same in every process and store, and two
// distinct keys share one only with a probability of about n²/2¹²⁹ for n keys (10⁻²² for a billion users), so
// UNIQUE counts over UserIDs are exact counts of user keys.
type UserID struct {
	Hi, Lo uint64
}

// HashUser returns the UserID of a namespaced user key.
func HashUser(key string) UserID {
	sum := sha256.Sum256([]byte(key))
	return UserID{Hi: binary.BigEndian.Uint64(sum[0:8]), Lo: binary.BigEndian.Uint64(sum[8:16])}
}

// IsZero reports whether u is the zero UserID (no user key hashed yet).
func (u UserID) IsZero() bool { return u.Hi == 0 && u.Lo == 0 }

// Less orders UserIDs.
func (u UserID) Less(v UserID) bool { return u.Hi < v.Hi || (u.Hi == v.Hi && u.Lo < v.Lo) }
