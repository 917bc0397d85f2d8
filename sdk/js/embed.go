// Package sdkjs exists so that Go servers can serve the JavaScript SDK
// (wxauth-client, this folder) to browser pages without a build step: FS
// holds the ES module as published, index.js beside src/, so a page that
// loads <prefix>/index.js as a module finds its imports. wxauth's demo page
// (internal/demo) serves it under /demo/sdk/.
//
// Only the code a browser runs is embedded: not the types, the tests or
// package.json.
package sdkjs

import "embed"

// FS is the SDK's browser code: index.js and src/*.js.
//
//go:embed index.js src
var FS embed.FS
