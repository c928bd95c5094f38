package httpcall

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// RequireToken wraps next so that every request must carry token, as
// "Authorization: Bearer <token>" (what NewRequest sends) or as the password
// of HTTP basic authentication (what a client that only takes a URL sends
// for http://chaosctl:<token>@host:port). The comparison takes constant
// time. Any other request is answered 401 and refused is called (nil: not
// counted); next never sees it.
func RequireToken(token string, refused func(), next http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" || subtle.ConstantTimeCompare([]byte(presented(r)), want) != 1 {
			if refused != nil {
				refused()
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="chaosctl"`)
			http.Error(w, "missing or wrong token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// presented is the token a request carries ("" for none).
func presented(r *http.Request) string {
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return tok
	}
	return ""
}

// NewToken returns a random bearer token (128 bits, hex).
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
