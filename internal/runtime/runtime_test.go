package runtime

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		desc string
		spec InstanceSpec
		want []string // substrings of the error; none means valid
	}{
		{"valid", InstanceSpec{ID: "web-v2.1_a", App: "web", Release: "v2"}, nil},
		{"everything missing", InstanceSpec{}, []string{"id: must not be empty", "app:", "release:"}},
		{"path", InstanceSpec{ID: "../etc", App: "a", Release: "r"}, []string{`id: "../etc"`}},
		{"leading dash", InstanceSpec{ID: "-x", App: "a", Release: "r"}, []string{"id:"}},
		{"slash", InstanceSpec{ID: "a/b", App: "a", Release: "r"}, []string{"id:"}},
		{"too long", InstanceSpec{ID: strings.Repeat("a", MaxIDLen+1), App: "a", Release: "r"}, []string{"at most 128"}},
	} {
		err := tc.spec.Validate()
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: Validate = %v, want nil", tc.desc, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Validate = nil, want errors %q", tc.desc, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate = %q, want it to mention %q", tc.desc, err, w)
			}
		}
	}
}
