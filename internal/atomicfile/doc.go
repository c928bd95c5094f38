// Package atomicfile writes a file whole or not at all, without following a
// link an attacker planted.
//
// The content goes to a temporary file that os.CreateTemp makes in the
// destination's folder (a random name, created exclusively with mode 0600,
// so a symbolic link or file planted under any name is never written
// through), is synced to disk, given its mode, and renamed over the
// destination. A reader sees the old file or the new one, never half of
// one; a crash leaves at most a stray temporary file beside it.
//
//	// A state file holding a token: private to its owner.
//	if err := atomicfile.Write(path, data, 0o600); err != nil {
//		return fmt.Errorf("write state: %w", err)
//	}
//
//	// A large file written as it streams (a failed write leaves path as it was).
//	err := atomicfile.WriteWith(path, 0o644, func(w io.Writer) error {
//		_, err := io.Copy(w, archive)
//		return err
//	})
package atomicfile
