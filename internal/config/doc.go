// Package config reads wxauth's configuration (docs/configuration.md): one YAML
// file, each key overridable by a WXAUTH_* environment variable, validated
// as a whole so that a bad value stops start-up with a message naming the
// key. Only cmd/wxauth reads files and the environment; everything else gets
// a typed Config.
package config
