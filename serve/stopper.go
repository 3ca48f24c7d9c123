package serve

import "strings"

// stopper cuts generated text at the first stop string. Text that might be the start of a stop
// string is held back until the next piece tells, so no stop string (or its prefix) is ever sent.
type stopper struct {
	stops []string
	text  string // everything generated so far (cut at a stop string once hit)
	sent  int    // bytes of text handed out
}

// add appends a decoded piece and returns the text that can be sent now; hit reports a stop
// string, after which text ends where the stop string began.
func (s *stopper) add(piece string) (emit string, hit bool) {
	s.text += piece
	best := -1
	for _, st := range s.stops {
		if i := strings.Index(s.text[s.sent:], st); i >= 0 && (best < 0 || s.sent+i < best) {
			best = s.sent + i
		}
	}
	if best >= 0 {
		s.text = s.text[:best]
		emit, s.sent = s.text[s.sent:], best
		return emit, true
	}
	hold := 0
	for _, st := range s.stops {
		for k := min(len(st)-1, len(s.text)-s.sent); k > hold; k-- {
			if strings.HasSuffix(s.text, st[:k]) {
				hold = k
				break
			}
		}
	}
	end := len(s.text) - hold
	emit, s.sent = s.text[s.sent:end], end
	return emit, false
}

// flush returns the held-back text (the generation ended without completing a stop string).
func (s *stopper) flush() string {
	emit := s.text[s.sent:]
	s.sent = len(s.text)
	return emit
}
