package api

import (
	"fmt"
	"net/url"
	"strconv"
)

// Range queries (scatter-gather). A client asks a gateway
//
//	GET /kv?from=A&to=B&limit=N   → 200 ScanAnswer (JSON)
//
// for the live keys in [A, B) in bytewise order, at most N of them with their
// newest values. The gateway lists the range on every store node that can own
// keys of it (RangePath, the replica API, behind the peer token) and merges
// the listings: the newest version of each key wins and deleted keys drop
// out. When a node's listing does not arrive within the per-shard deadline
// the answer is 503 with HeaderPartial naming the shards that missed (scan
// policy fail) or 200 with the same header and ScanAnswer.Partial (policy
// allow).
const (
	// ScanPath is the gateway's range query path (GET only, with a query).
	ScanPath = "/kv"
	// RangePath is a store node's listing of its own records in a range
	// (GET ?from=&to=&limit=, peer token required): a RangeListing.
	RangePath = "/internal/v1/range"
	// HeaderPartial, on a scan's answer, lists (comma-separated) the shards
	// whose listing is missing from it.
	HeaderPartial = "X-Chaos-Partial"
)

// Limits of a range query.
const (
	DefaultScanLimit = 100  // keys per answer when the query gives no limit
	MaxScanLimit     = 1000 // the largest limit a query may ask for
)

// ScanQuery is a range query: keys in [From, To), at most Limit of them. An
// empty From starts at the first key; an empty To has no upper bound.
type ScanQuery struct {
	From  string
	To    string
	Limit int
}

// ParseScanQuery reads and checks the from, to and limit parameters. Errors
// say which parameter is wrong and why (the caller answers 400).
func ParseScanQuery(q url.Values) (ScanQuery, error) {
	s := ScanQuery{From: q.Get("from"), To: q.Get("to"), Limit: DefaultScanLimit}
	for _, b := range []struct{ name, v string }{{"from", s.From}, {"to", s.To}} {
		if len(b.v) > MaxKeyLen {
			return s, fmt.Errorf("%s is %d bytes; range bounds are at most %d bytes", b.name, len(b.v), MaxKeyLen)
		}
	}
	if s.To != "" && s.To <= s.From {
		return s, fmt.Errorf("to %q is not after from %q; the range is [from, to)", s.To, s.From)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxScanLimit {
			return s, fmt.Errorf("limit %q: must be an integer from 1 to %d", l, MaxScanLimit)
		}
		s.Limit = n
	}
	return s, nil
}

// Encode returns the query string of s (without "?").
func (s ScanQuery) Encode() string {
	v := url.Values{}
	if s.From != "" {
		v.Set("from", s.From)
	}
	if s.To != "" {
		v.Set("to", s.To)
	}
	v.Set("limit", strconv.Itoa(s.Limit))
	return v.Encode()
}

// RangeItem is one record of a node's listing: the node's own copy of Key,
// which may be a tombstone (a delete). Checksum lets the receiver verify the
// record in transit.
type RangeItem struct {
	Key       string `json:"k"`
	Version   string `json:"v"`
	Tombstone bool   `json:"t,omitempty"`
	Checksum  uint32 `json:"c"`
	Value     []byte `json:"d,omitempty"`
}

// RangeListing is a node's answer on RangePath: its records in the range in
// key order, at most the limit; More says the limit cut the listing short
// (records after the last item were left out).
type RangeListing struct {
	Items []RangeItem `json:"items"`
	More  bool        `json:"more"`
}

// ScanItem is one live key of a scan's answer. Value is base64 in JSON.
type ScanItem struct {
	Key     string `json:"key"`
	Value   []byte `json:"value"`
	Version string `json:"version"`
}

// ScanAnswer is the JSON body of a gateway's scan answer. Next, when set,
// is where the range continues: the answer may have left out keys from Next
// on (the limit was reached, or a node's listing was cut at its own limit),
// and the same query with from=Next fetches them. Partial lists the shards
// whose listing is missing (policy allow): keys they alone hold are absent.
type ScanAnswer struct {
	Items   []ScanItem `json:"items"`
	Next    string     `json:"next,omitempty"`
	Partial []string   `json:"partial,omitempty"`
}
