package kubernetes_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	k8s "github.com/chaosctl/chaosctl/targets/kubernetes"
)

// Run ids carry the experiment's name (up to 63 characters) and a time
// stamp: the names and labels made of them must still be valid.
func TestLongRunIDsMakeValidNames(t *testing.T) {
	dnsLabel := regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	long := strings.Repeat("a", 63) + "-20261127t030405-abc123"
	for _, run := range []string{"r1", "quickstart-20261127t030405-abc123", long} {
		ns, label := k8s.NamespaceName(run), k8s.RunLabel(run)
		if len(ns) > 63 || !dnsLabel.MatchString(ns) {
			t.Errorf("namespace of %q: %q is not a DNS label", run, ns)
		}
		if len(label) > 63 || !dnsLabel.MatchString(label) {
			t.Errorf("label of %q: %q is not a label value", run, label)
		}
	}
	if k8s.RunLabel(long) == k8s.RunLabel(long+"x") {
		t.Error("two long run ids share a label")
	}
	if k8s.RunLabel("r1") != "r1" || k8s.NamespaceName("r1") != "chaosctl-r1" {
		t.Error("short ids are kept as they are")
	}
}

func TestCheckNamespace(t *testing.T) {
	for _, tc := range []struct {
		ns    string
		owned bool
		allow []string
		ok    bool
	}{
		{"chaosctl-r1", true, nil, true},
		{"team-a", false, nil, false},
		{"team-a", false, []string{"team-a"}, true},
		{"kube-system", true, []string{"kube-system"}, false},
		{"kube-node-lease", false, []string{"kube-node-lease"}, false},
		{"", true, nil, false},
	} {
		err := k8s.CheckNamespace(tc.ns, tc.owned, tc.allow)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, k8s.ErrForbidden)) {
			t.Errorf("CheckNamespace(%q, %v, %v) = %v", tc.ns, tc.owned, tc.allow, err)
		}
	}
}
