package serve

import (
	"strings"
	"testing"
)

// TestStopperCutsAtTheFirstStopStringAndNeverSendsItsPrefix feeds pieces one byte and several bytes
// at a time and checks the sent text is the text before the first stop string.
func TestStopperCutsAtTheFirstStopStringAndNeverSendsItsPrefix(t *testing.T) {
	cases := []struct {
		stops  []string
		pieces []string
		want   string
		hit    bool
	}{
		{[]string{"\n\n"}, []string{"ab", "\n", "c\n", "\n", "d"}, "ab\nc", true},
		{[]string{"END", "##"}, []string{"x#", "y E", "N", "Dz"}, "x#y ", true},
		{[]string{"abc"}, []string{"a", "b", "x", "ab"}, "abxab", false},
		{nil, []string{"a", "b"}, "ab", false},
		{[]string{"b", "abc"}, []string{"zab"}, "za", true},
	}
	for i, c := range cases {
		st := &stopper{stops: c.stops}
		var sent strings.Builder
		hit := false
		for _, p := range c.pieces {
			e, h := st.add(p)
			for _, s := range c.stops {
				if strings.Contains(sent.String()+e, s) {
					t.Fatalf("case %d: sent %q containing stop %q", i, sent.String()+e, s)
				}
			}
			sent.WriteString(e)
			if h {
				hit = true
				break
			}
		}
		if !hit {
			sent.WriteString(st.flush())
		}
		if sent.String() != c.want || hit != c.hit {
			t.Errorf("case %d: sent %q (hit %v), want %q (hit %v)", i, sent.String(), hit, c.want, c.hit)
		}
	}
}
