// Package metrics defines wxauth's Prometheus metrics in one place, on a
// registry of the caller's (never the global one, so that tests and several
// servers in one process do not collide).
package metrics

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wxauth/wxauth/wechat"
)

// Metrics holds every collector wxauth updates.
type Metrics struct {
	reg *prometheus.Registry

	Requests        *prometheus.CounterVec   // route, status
	RequestDuration *prometheus.HistogramVec // route
	Logins          *prometheus.CounterVec   // app, result
	Refreshes       *prometheus.CounterVec   // outcome
	ReuseDetected   prometheus.Counter
	WeChatCalls     *prometheus.CounterVec   // endpoint, errcode
	WeChatDuration  *prometheus.HistogramVec // endpoint
	AppTokenFetches *prometheus.CounterVec   // appid: app tokens fetched from WeChat (the daily quota used)
	AppTokenServed  *prometheus.CounterVec   // app: tokens handed to other services
	// SMSBudgetExhausted counts SMS sends refused because the day's budget
	// (sms.daily_budget) is spent: alert on any increase.
	SMSBudgetExhausted prometheus.Counter
	// AuditEvents counts the audit events recorded, by type; AuditDropped
	// those lost before the database, by reason (audit.DropQueueFull…).
	AuditEvents  *prometheus.CounterVec // type
	AuditDropped *prometheus.CounterVec // reason
}

// New registers wxauth's metrics (and the Go and process collectors) on a
// fresh registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxauth_http_requests_total", Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "status"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wxauth_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxauth_logins_total", Help: "Logins by app and result (new_user, returning_user, or the error code).",
		}, []string{"app", "result"}),
		Refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxauth_refreshes_total", Help: "Refresh-token uses by outcome: ok (a rotation or a grace replay), reused, invalid_grant, rate_limited, error.",
		}, []string{"outcome"}),
		ReuseDetected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wxauth_refresh_reuse_detected_total", Help: "Refresh tokens replayed after rotation; each revoked a session.",
		}),
		WeChatCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxauth_wechat_calls_total", Help: "Calls to WeChat by endpoint and errcode (\"transport\" when no answer came).",
		}, []string{"endpoint", "errcode"}),
		WeChatDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wxauth_wechat_call_duration_seconds", Help: "Latency of calls to WeChat by endpoint.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint"}),
		AppTokenFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxauth_app_token_fetches_total", Help: "App access tokens fetched from WeChat by this instance, by appid: the daily quota used (2000/day for /cgi-bin/token).",
		}, []string{"appid"}),
		AppTokenServed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxauth_app_token_served_total", Help: "App access tokens handed to other services through /v1/wechat/access_token, by app.",
		}, []string{"app"}),
		SMSBudgetExhausted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wxauth_sms_budget_exhausted_total", Help: "SMS sends refused (503) because the daily SMS budget (sms.daily_budget) is spent; any increase wants an operator.",
		}),
		AuditEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxauth_audit_events_total", Help: "Security events recorded in the audit trail, by type (docs/operations.md \"Audit trail\").",
		}, []string{"type"}),
		AuditDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxauth_audit_dropped_total", Help: "Audit events lost before the database, by reason: queue_full, write_failed, closed; any increase wants an operator.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.Requests, m.RequestDuration, m.Logins, m.Refreshes, m.ReuseDetected,
		m.WeChatCalls, m.WeChatDuration, m.AppTokenFetches, m.AppTokenServed, m.SMSBudgetExhausted,
		m.AuditEvents, m.AuditDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is the registry the metrics live on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveWeChat counts one WeChat call; pass it as wechat.Config.Observe.
func (m *Metrics) ObserveWeChat(c wechat.Call) {
	code := strconv.Itoa(c.Errcode)
	var apiErr *wechat.APIError
	if c.Err != nil && c.Errcode == 0 && !errors.As(c.Err, &apiErr) {
		code = "transport"
	}
	m.WeChatCalls.WithLabelValues(c.Endpoint, code).Inc()
	m.WeChatDuration.WithLabelValues(c.Endpoint).Observe(c.Duration.Seconds())
}
