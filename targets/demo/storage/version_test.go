package storage

import (
	"math"
	"testing"
)

func TestVersionCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b Version
		want int
	}{
		{name: "equal", a: Version{5, 1, 2, 3}, b: Version{5, 1, 2, 3}, want: 0},
		{name: "time first", a: Version{6, 0, 0, 0}, b: Version{5, 9, 9, 9}, want: 1},
		{name: "then logical", a: Version{5, 1, 0, 0}, b: Version{5, 2, 0, 0}, want: -1},
		{name: "then node", a: Version{5, 1, 3, 0}, b: Version{5, 1, 2, 99}, want: 1},
		{name: "then seq", a: Version{5, 1, 2, 3}, b: Version{5, 1, 2, 4}, want: -1},
		{name: "zero is oldest", a: Version{}, b: Version{0, 0, 0, 1}, want: -1},
		{name: "negative time", a: Version{Time: -1}, b: Version{}, want: -1},
		{name: "unsigned fields use their full range", a: Version{Logical: math.MaxUint32}, b: Version{Logical: 1}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Compare(tt.b); got != tt.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := tt.b.Compare(tt.a); got != -tt.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
			if tt.a.Newer(tt.b) != (tt.want > 0) {
				t.Errorf("%v.Newer(%v) disagrees with Compare", tt.a, tt.b)
			}
		})
	}
	if !(Version{}).IsZero() || (Version{Seq: 1}).IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestVersionStringAndParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr bool
	}{
		{in: "1700000000000000000.3.2.17", want: Version{1700000000000000000, 3, 2, 17}},
		{in: "0.0.0.0", want: Version{}},
		{in: "42.0.1.7", want: Version{Time: 42, Node: 1, Seq: 7}},
		{in: "-3.0.0.0", want: Version{Time: -3}},
		{in: "9223372036854775807.4294967295.4294967295.4294967295", want: Version{math.MaxInt64, math.MaxUint32, math.MaxUint32, math.MaxUint32}},
		{in: "", wantErr: true},
		{in: "1.2.3", wantErr: true},
		{in: "1.2.3.4.5", wantErr: true},
		{in: "1.2.3.", wantErr: true},
		{in: "1..3.4", wantErr: true},
		{in: "a.2.3.4", wantErr: true},
		{in: "1.-2.3.4", wantErr: true},
		{in: "1.2.4294967296.4", wantErr: true},
		{in: "1.2.3.4 ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseVersion(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseVersion(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseVersion(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1700000000000000000.3.2.17", "0.0.0.0", "-1.2.3.4", "1.2.3", "+1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		back, err := ParseVersion(v.String())
		if err != nil || back != v {
			t.Fatalf("ParseVersion(%q) = %v; its String %q parses to %v, %v", s, v, v.String(), back, err)
		}
	})
}
