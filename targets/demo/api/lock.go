package api

import (
	"bytes"
	"strconv"
	"strings"
)

// The lock service and the fenced resource (see docs/demo-cluster.md).
//
//	POST /lock/{name}?op=acquire&owner=O&lease=2s        → 200 LockState; 409 held by another
//	POST /lock/{name}?op=renew&owner=O&token=T&lease=2s  → 200 LockState; 409 not held by O with T
//	POST /lock/{name}?op=release&owner=O&token=T         → 200 LockState; 409 not held by O with T
//	GET  /lock/{name}                                    → 200 LockState
//	PUT  /kv/{key} with X-Fencing-Token: T               → 204; 409 when T is older than the newest seen
const (
	LockPrefix         = "/lock/"
	HeaderFencingToken = "X-Fencing-Token"
)

// Lock operations (the op query parameter).
const (
	LockAcquire = "acquire"
	LockRenew   = "renew"
	LockRelease = "release"
)

// LockState is a lock record as the lock API answers it. Token is the
// fencing token of the current (or last) holder: the lock record's version
// time when it was acquired, so every acquisition of a name gets a larger one.
// Expires is the lease's end, Unix nanoseconds on the coordinator's clock.
type LockState struct {
	Name    string `json:"name"`
	Owner   string `json:"owner,omitempty"`
	Token   int64  `json:"token"`
	Expires int64  `json:"expires,omitempty"`
}

// LockKey is the store key that holds lock name's record.
func LockKey(name string) string { return "lock." + name }

// LockNameFromPath extracts the name of a /lock/{name} path.
func LockNameFromPath(path string) (string, bool) {
	if !strings.HasPrefix(path, LockPrefix) {
		return "", false
	}
	return path[len(LockPrefix):], true
}

// fencedMagic starts the stored value of a key written with a fencing token.
var fencedMagic = []byte("\x00fenced:")

// EncodeFenced is the stored form of a value written with a fencing token:
// the newest token seen and the value, one record, so that the token check
// and the write are one compare-and-set.
func EncodeFenced(token int64, value []byte) []byte {
	out := make([]byte, 0, len(fencedMagic)+20+1+len(value))
	out = append(out, fencedMagic...)
	out = strconv.AppendInt(out, token, 10)
	out = append(out, '\n')
	return append(out, value...)
}

// DecodeFenced splits a stored value into its newest token and value; ok is
// false for a value written without a token.
func DecodeFenced(stored []byte) (token int64, value []byte, ok bool) {
	rest, found := bytes.CutPrefix(stored, fencedMagic)
	if !found {
		return 0, stored, false
	}
	num, value, found := bytes.Cut(rest, []byte{'\n'})
	if !found {
		return 0, stored, false
	}
	t, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return 0, stored, false
	}
	return t, value, true
}
