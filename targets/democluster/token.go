package democluster

import (
	"crypto/rand"
	"encoding/hex"
)

// NewToken returns a random bearer token: the members' control token (every
// runtime gives one to its members), or any other secret of a run.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
