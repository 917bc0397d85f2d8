package audit

import "context"

type ipKey struct{}

// WithIP returns ctx carrying the client address of its request, so that
// the packages that record events deep in a flow (login, oidc) stamp it
// without every request struct carrying it. The server sets it once per
// request.
func WithIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

// IP is the client address ctx carries, or "".
func IP(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}

// Or is r, or Discard when r is nil: what a Config's nil Recorder means.
func Or(r Recorder) Recorder {
	if r == nil {
		return Discard
	}
	return r
}
