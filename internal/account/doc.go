// Package account owns what a user or an operator does to a whole account:
// deleting it (docs/operations.md "Account deletion and data export"),
// exporting what is held about it, and disabling or enabling it
// ("Disabling a user"). The HTTP endpoints (DELETE /v1/me, GET
// /v1/me/export) and the admin API and CLI call it; storage and token
// revocation stay in their own packages.
package account
