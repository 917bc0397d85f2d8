// Package bind owns the bind-or-register flow of docs/api.md "Binding":
// when the registration policy is bind_phone and a WeChat identity has no
// user yet, the login hands the identity to [Service.IssueTicket] instead of
// creating a user, and the front end proves a phone number with
// [Service.SendCode] and [Service.Bind] (an SMS code, or a mini program
// getPhoneNumber code). Bind links the identity to the user who has that
// phone, or creates one with it, and opens the session.
//
// It keeps bind tickets and SMS codes in a storage.OneTime (shared by every
// instance in production), hashed; it delivers codes through a pluggable
// [Sender] ([DevSender] writes them to the log and to a hook, the sandbox's
// inbox in development). It applies the SMS limits of docs/api.md with
// package ratelimit. The HTTP shape is package server's; the WeChat login
// that produces tickets is package login's.
package bind
