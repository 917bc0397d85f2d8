package server

// Drain makes /readyz answer 503 from now on, while every other endpoint
// keeps serving: the first step of a clean stop, so the load balancer
// takes the instance out before it closes its listener (docs/deploy.md
// "Restarts and shutdown").
func (s *Server) Drain() { s.draining.Store(true) }

// EndStreams ends every revocation stream, open or opened later, with a
// reconnect event (docs/api.md "GET /v1/revocations"): the subscribers
// reconnect to another instance at once instead of holding this one's
// shutdown until its timeout.
func (s *Server) EndStreams() {
	s.Drain()
	s.endOnce.Do(func() { close(s.endStream) })
}
