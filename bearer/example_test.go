package bearer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/wxauth/wxauth/bearer"
)

// A service that accepts wxauth's access tokens, refuses revoked sessions'
// tokens at once, and asks wxauth per request while the push is down.
func Example() {
	v, err := bearer.New(bearer.Config{
		Issuer:            "https://auth.example.com",
		ServiceKey:        "one-of-wxauth's-service_keys",
		OnLostRevocations: bearer.Introspect,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := v.Start(ctx); err != nil {
		log.Printf("wxauth not ready yet, serving anyway: %v", err)
	}
	cancel()

	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := bearer.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "orders of user %s (session %s)\n", claims.Subject, claims.SessionID)
	})))
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// Verify serves where there is no net/http handler: a gRPC interceptor, a
// WebSocket upgrade, a queue consumer.
func ExampleVerifier_Verify() {
	v, err := bearer.New(bearer.Config{Issuer: "https://auth.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	var accessToken string // from the message
	claims, err := v.Verify(context.Background(), accessToken)
	switch {
	case errors.Is(err, bearer.ErrTokenExpired):
		// tell the client to refresh
	case errors.Is(err, bearer.ErrUnavailable):
		// retry later
	case err != nil:
		// refuse
	default:
		fmt.Println("user", claims.Subject)
	}
}
