// Package admin holds the operator's actions on accounts (docs/operations.md
// "The admin CLI and API"): find a user, show its identities and live
// sessions, end one session or all of them. The HTTP admin API and
// `wxauth admin` both call it, so each action is written and audited once.
// It ends sessions through the token service, whose revocation push reaches
// every running instance; storing the audit trail is the Recorder's concern.
package admin
