package jwt

import "encoding/json"

// parseClaims reads the claims. wxauth's own encoding ([SignEdDSA]: this
// key order, no whitespace, printable ASCII strings without escapes,
// non-negative integer times) is read by a scanner that reads such a
// document exactly as encoding/json would (FuzzParseClaims); anything
// else, nbf included, goes through encoding/json.
func parseClaims(b []byte) (*Claims, error) {
	if c := scanClaims(b); c != nil {
		return c, nil
	}
	c := new(Claims)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	return c, nil
}

func scanClaims(b []byte) *Claims {
	// One string for all the values, which are substrings of it.
	sc := claimScanner{b: b}
	var iss, aud, sub, sid, jti, app [2]int
	tc := new(Claims)
	c := &tc.Claims
	ok := sc.lit(`{"iss":`) && sc.str(&iss) &&
		sc.lit(`,"aud":`) && sc.str(&aud) &&
		sc.lit(`,"sub":`) && sc.str(&sub) &&
		sc.lit(`,"sid":`) && sc.str(&sid) &&
		sc.lit(`,"iat":`) && sc.num(&c.IssuedAt) &&
		sc.lit(`,"exp":`) && sc.num(&c.Expiry) &&
		sc.lit(`,"jti":`) && sc.str(&jti) &&
		sc.lit(`,"app":`) && sc.str(&app) &&
		sc.lit(`}`) && sc.i == len(b)
	if !ok {
		return nil
	}
	all := string(b)
	c.Issuer, c.Audience, c.Subject = all[iss[0]:iss[1]], all[aud[0]:aud[1]], all[sub[0]:sub[1]]
	c.SessionID, c.ID, c.App = all[sid[0]:sid[1]], all[jti[0]:jti[1]], all[app[0]:app[1]]
	return tc
}

type claimScanner struct {
	b []byte
	i int
}

func (s *claimScanner) lit(l string) bool {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

// str reads a JSON string of printable ASCII without quote or backslash,
// recording where its content starts and ends.
func (s *claimScanner) str(span *[2]int) bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			*span = [2]int{start, j}
			s.i = j + 1
			return true
		case c < 0x20 || c > 0x7e || c == '\\':
			return false
		}
	}
	return false
}

// num reads a JSON integer in [0, 10^18): digits, no leading zero.
func (s *claimScanner) num(n *int64) bool {
	start, v := s.i, int64(0)
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		v = v*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > 18 || digits > 1 && s.b[start] == '0' {
		return false
	}
	*n = v
	return true
}
