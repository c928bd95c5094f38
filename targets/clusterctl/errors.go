package clusterctl

import "errors"

// InputError is an error in what the caller asked for (a bad fault request,
// a taken or malformed cluster name, an ambiguous choice of cluster): nothing
// was started or applied. Every other error of this package is the
// environment's (no cluster running, a failure inside it).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// inputError wraps err as an *InputError.
func inputError(err error) error { return &InputError{Err: err} }

// IsInputError reports whether err is, or wraps, an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
