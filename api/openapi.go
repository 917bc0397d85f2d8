package api

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document of wxauth's HTTP API (openapi.yaml in
// this folder, described in prose by docs/api.md). The server answers it as
// JSON at GET /openapi.json, and the end-to-end tests hold every answer of
// the server to it.
//
//go:embed openapi.yaml
var OpenAPI []byte
