package clusterctl

import (
	"slices"

	"github.com/chaosctl/chaosctl/injectors"
)

// registry is where the kinds a Request takes, and what each acts on, come
// from; Up applies faults through the same default registry.
var registry = injectors.DefaultRegistry()

// Kinds returns the fault kinds a Request takes, in the order help lists them.
func Kinds() []string { return registry.KindsInOrder() }

// CanonicalKind maps what people type (any case, clock-skew) to a kind.
func CanonicalKind(s string) (string, bool) { return registry.ParseKind(s) }

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
