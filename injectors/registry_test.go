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
	want := []string{"bandwidth", "blackhole", "clockSkew", "corrupt", "crash", "http", "latency", "partition", "pause", "reset", "restart"}
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

func TestKindsInOrderKeepsRegistrationOrder(t *testing.T) {
	want := []string{"partition", "latency", "bandwidth", "reset", "blackhole", "http", "crash", "pause", "restart", "clockSkew", "corrupt"}
	if got := injectors.DefaultRegistry().KindsInOrder(); !slices.Equal(got, want) {
		t.Fatalf("KindsInOrder() = %v, want %v", got, want)
	}
	r, err := injectors.NewRegistry(namedInjector("b"), namedInjector("a"))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.KindsInOrder(); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("KindsInOrder() = %v, want [b a]", got)
	}
}

func TestCapabilities(t *testing.T) {
	link := injectors.Capabilities{Links: true}
	member := injectors.Capabilities{MemberState: true}
	tests := map[string]injectors.Capabilities{
		"partition": {Links: true, Groups: true},
		"latency":   link, "bandwidth": link, "reset": link, "blackhole": link, "http": link,
		"crash": member, "pause": member, "restart": member,
		"clockSkew": {StoreNodes: true},
		"corrupt":   {StoreNodes: true, Instant: true},
	}
	r := injectors.DefaultRegistry()
	for _, kind := range r.Kinds() {
		got, ok := r.Capabilities(kind)
		if want, listed := tests[kind]; !ok || !listed || got != want {
			t.Errorf("Capabilities(%q) = %+v, %v; want %+v (listed in this test: %v)", kind, got, ok, want, listed)
		}
	}
	if _, ok := r.Capabilities("meteor"); ok {
		t.Error(`Capabilities("meteor") reports a kind`)
	}
	// An injector that says nothing about itself has no capabilities.
	plain, err := injectors.NewRegistry(namedInjector("plain"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := plain.Capabilities("plain"); !ok || got != (injectors.Capabilities{}) {
		t.Errorf(`Capabilities("plain") = %+v, %v; want the zero value, true`, got, ok)
	}
}

func TestParseKind(t *testing.T) {
	r := injectors.DefaultRegistry()
	for in, want := range map[string]string{
		"partition": "partition", " Latency ": "latency", "clock-skew": "clockSkew",
		"CLOCKSKEW": "clockSkew", "corrupt": "corrupt", "meteor": "", "": "",
	} {
		got, ok := r.ParseKind(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
