// Package wechatstatus remembers, per app, WeChat's last refusal that only
// an operator can fix ([wechat.ErrConfiguration]: this server's egress IP
// not allowed, a wrong secret, an account restriction, an answer that was
// not WeChat's), says so once in the log at Error with what to do, and
// forgets it when WeChat next accepts a call for that app. /readyz shows
// what it holds (docs/deploy.md). It owns no WeChat call: it only watches
// the calls the wechat client reports (wechat.Config.Observe).
package wechatstatus
