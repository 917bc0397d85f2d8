// Package pkgdoc holds only tests of the repository's documentation: every
// package of the module must say in a doc comment what it owns
// (../../docs/development.md, "Habits"), and the READMEs and docs/ link
// only to files inside the repository, every link resolving.
package pkgdoc
