// Package login turns a WeChat login code into a wxauth session: it asks
// WeChat who the code belongs to, finds or creates the user behind that
// identity (linking by unionid across the apps of one Open Platform
// account), and opens a session with package token that keeps what WeChat
// handed over server-side (the session_key, sealed).
//
// It owns the rules of docs/api.md "Mini program" login; the HTTP shape is
// package server's, the token rules package token's.
package login
