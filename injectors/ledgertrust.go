package injectors

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// UntrustedLedgerError is a ledger file that recovery refuses to read or act
// on: a ledger says which processes to kill and which folder to remove, so
// only one that is the current user's own and private to them is trusted.
type UntrustedLedgerError struct {
	Path    string
	Problem string // what is wrong with it
	Fix     string // what to do about it
}

func (e *UntrustedLedgerError) Error() string {
	return fmt.Sprintf("ledger %s %s; recover trusts only a ledger that is yours and private to you: %s", e.Path, e.Problem, e.Fix)
}

// openPrivateLedger opens the ledger file at path with flag (os.O_RDONLY, or
// os.O_RDWR|os.O_APPEND to add records) and returns an *UntrustedLedgerError
// when it is a symbolic link or not a regular file, is owned by another user,
// or its mode grants group or others any permission.
func openPrivateLedger(path string, flag int) (*os.File, error) {
	// Lstat first: opening a FIFO planted in its place would block.
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	if err := checkPrivateLedger(path, fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, symlinkLedger(path)
		}
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	// Check what was opened too: the name may have been swapped meanwhile.
	if fi, err = f.Stat(); err == nil {
		err = checkPrivateLedger(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func checkPrivateLedger(path string, fi os.FileInfo) error {
	if fi.Mode()&os.ModeSymlink != 0 {
		return symlinkLedger(path)
	}
	if !fi.Mode().IsRegular() {
		return &UntrustedLedgerError{Path: path, Problem: fmt.Sprintf("is not a regular file (%s)", fi.Mode().Type()),
			Fix: "remove it (chaosctl writes its ledgers as regular files)"}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return &UntrustedLedgerError{Path: path, Problem: "has an owner this system does not report", Fix: "remove it"}
	}
	if uid := os.Geteuid(); int64(st.Uid) != int64(uid) {
		return &UntrustedLedgerError{Path: path, Problem: fmt.Sprintf("is owned by uid %d, not by you (uid %d)", st.Uid, uid),
			Fix: fmt.Sprintf("if it is a ledger of yours, chown %d %s and chmod 600 %s; otherwise remove it", uid, path, path)}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return &UntrustedLedgerError{Path: path, Problem: fmt.Sprintf("has mode %04o, which grants group or others access", perm),
			Fix: "chmod 600 " + path}
	}
	return nil
}

func symlinkLedger(path string) error {
	return &UntrustedLedgerError{Path: path, Problem: "is a symbolic link", Fix: "remove it (chaosctl writes its ledgers as regular files)"}
}
