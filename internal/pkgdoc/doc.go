// Package pkgdoc holds only a test: every package of the module must say
// in a doc comment what it owns (../../docs/development.md, "Habits").
package pkgdoc
