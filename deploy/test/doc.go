// Package test checks the deployment files against their real parsers:
// docker-compose.yml with compose-go (as `docker compose` loads it), the
// Helm chart through `helm lint` and `helm template`, each rendered
// manifest strictly decoded into its Kubernetes API type. It is a module
// of its own so that compose-go and k8s.io/api stay out of wxauth's
// module graph; .ci/run runs it (cd deploy/test && go test ./...).
package test
