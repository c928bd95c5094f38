package democluster

import "github.com/chaosctl/chaosctl/internal/httpcall"

// NewToken returns a random bearer token: the members' control token (every
// runtime gives one to its members), or any other secret of a run.
func NewToken() string { return httpcall.NewToken() }
