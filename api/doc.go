// Package api holds the wire types of wxauth's HTTP contract (docs/api.md):
// the token response, the error body and its codes, the access-token claims,
// and the shapes of /v1/me and /v1/sessions; and the whole contract as an
// OpenAPI 3.1 document ([OpenAPI], openapi.yaml), which the server serves at
// /openapi.json and the end-to-end tests hold every answer to.
//
// It imports nothing of wxauth's own, so that the server, the Go client and
// the resource-server middleware can share these types without pulling in
// each other.
package api
