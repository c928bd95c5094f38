package injectors

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// A run's fault-plane token is not written in its ledger: it sits beside it,
// in <state>/ledger/<run>.plane-token, a file private to the user like the
// ledger (0600 in a 0700 folder, refused by readers otherwise), removed when
// the run ends. Only `chaosctl halt` reads it, to revert a live run's
// faults through its plane even when that chaosctl is wedged; recovery of a
// dead run needs no token (an embedded plane died with chaosctl, a
// container's or pod's is removed by label).

// planeTokenPath is where the plane token of the ledger at ledgerPath goes.
func planeTokenPath(ledgerPath string) string {
	return strings.TrimSuffix(ledgerPath, ".ndjson") + ".plane-token"
}

// PlaneToken writes the token of the run's fault plane beside the ledger,
// private to the user ("" writes nothing: a user's own toxiproxy has none).
func (l *Ledger) PlaneToken(token string) error {
	if token == "" {
		return nil
	}
	path := planeTokenPath(l.path)
	_ = os.Remove(path) // a stale one of a reused run id
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("record the plane token: %w", err)
	}
	_, err = io.WriteString(f, token)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("record the plane token: %w", err)
	}
	return nil
}

// RemovePlaneToken removes the run's plane token (the run ended).
func (l *Ledger) RemovePlaneToken() { RemovePlaneTokenOf(l.path) }

// RemovePlaneTokenOf removes the plane token beside the ledger at
// ledgerPath, if any: for a run recovery finished after its chaosctl was
// killed.
func RemovePlaneTokenOf(ledgerPath string) {
	_ = os.Remove(planeTokenPath(ledgerPath))
}

// readPlaneToken reads the plane token beside the ledger at ledgerPath: ""
// when there is none. One that is not private to the user is refused, as a
// ledger would be.
func readPlaneToken(ledgerPath string) (string, error) {
	path := planeTokenPath(ledgerPath)
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	f, err := openPrivateLedger(path, os.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return "", fmt.Errorf("read the plane token %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
