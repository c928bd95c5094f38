package clusterctl

import (
	"slices"

	"github.com/chaosctl/chaosctl/injectors"
)

// registry is where the kinds a Request takes, and what each acts on, come
// from; Up applies faults through the same default registry.
var registry = injectors.DefaultRegistry()

// Kinds returns the fault kinds a Request takes, in the order help lists
// them. An http fault is written in an experiment file only: its match and
// action have no request fields (yet).
func Kinds() []string {
	return slices.DeleteFunc(registry.KindsInOrder(), func(k string) bool { return k == injectors.KindHTTP })
}

// CanonicalKind maps what people type (any case, clock-skew) to a kind.
func CanonicalKind(s string) (string, bool) {
	k, ok := registry.ParseKind(s)
	if k == injectors.KindHTTP {
		return "", false
	}
	return k, ok
}

// capabilities says what faults of kind act on.
func capabilities(kind string) injectors.Capabilities {
	c, _ := registry.Capabilities(kind)
	return c
}

// linkKinds returns the kinds that act on the fault plane's links, in the
// order help lists them.
func linkKinds() []string {
	return slices.DeleteFunc(Kinds(), func(k string) bool { return !capabilities(k).Links })
}
