package injectors_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
)

func TestDefaultRegistryHoldsEveryKind(t *testing.T) {
	r := injectors.DefaultRegistry()
	want := []string{"bandwidth", "blackhole", "clockSkew", "corrupt", "crash", "latency", "partition", "pause", "reset", "restart"}
	if got := r.Kinds(); !slices.Equal(got, want) {
		t.Fatalf("Kinds() = %v, want %v", got, want)
	}
	for _, k := range want {
		inj, err := r.Lookup(k)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", k, err)
		}
		if inj.Kind() != k {
			t.Errorf("Lookup(%q) returned an injector of kind %q", k, inj.Kind())
		}
	}
}

// namedInjector is an injector of any kind, for registry tests.
type namedInjector string

func (n namedInjector) Kind() string { return string(n) }
func (n namedInjector) Inject(context.Context, targets.Target, injectors.Fault) (injectors.Revert, error) {
	return nil, errors.New("not for use")
}

func TestNewRegistry(t *testing.T) {
	tests := []struct {
		name    string
		injs    []injectors.Injector
		wantErr string
		kinds   []string
	}{
		{"empty", nil, "", nil},
		{"sorted kinds", []injectors.Injector{namedInjector("b"), namedInjector("a")}, "", []string{"a", "b"}},
		{"duplicate kind", []injectors.Injector{injectors.Latency{}, namedInjector("latency")}, `kind "latency" registered twice`, nil},
		{"no kind", []injectors.Injector{namedInjector("")}, "has no kind", nil},
		{"nil injector", []injectors.Injector{nil}, "is nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := injectors.NewRegistry(tt.injs...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewRegistry error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Kinds(); !slices.Equal(got, tt.kinds) {
				t.Fatalf("Kinds() = %v, want %v", got, tt.kinds)
			}
		})
	}
}

func TestLookupUnknownKindListsValidOnes(t *testing.T) {
	_, err := injectors.DefaultRegistry().Lookup("meteor")
	if !errors.Is(err, injectors.ErrUnknownKind) {
		t.Fatalf("Lookup(meteor) error = %v, want ErrUnknownKind", err)
	}
	for _, k := range []string{`"meteor"`, "partition", "latency", "clockSkew", "corrupt"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error %q does not mention %s", err, k)
		}
	}
}
