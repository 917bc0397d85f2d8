package wechat

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults used when the matching [Config] field is zero.
const (
	DefaultAPIBase  = "https://api.weixin.qq.com"
	DefaultOpenBase = "https://open.weixin.qq.com"
	// DefaultMPBase serves the pictures of parametric QR codes
	// ([Client.ShowQRCode]).
	DefaultMPBase  = "https://mp.weixin.qq.com"
	DefaultTimeout = 5 * time.Second
	// DefaultRetryBackoff is the wait before the one retry of a call that
	// spends no code, after WeChat answered -1 (reference §1 "Retries").
	DefaultRetryBackoff = 300 * time.Millisecond
)

// maxBody caps how much of an answer is read. WeChat's answers are a few
// hundred bytes; anything past this is not an answer we can use.
const maxBody = 1 << 20

// Config configures a [Client]. The zero Config talks to WeChat itself.
type Config struct {
	// APIBase is the base URL of the server APIs, without a trailing
	// slash; endpoint paths are appended to it. Empty means
	// DefaultAPIBase. For wxauth's sandbox, e.g.
	// "http://127.0.0.1:8080/sandbox/api".
	APIBase string
	// APIBases, if not empty, replaces APIBase with several base URLs
	// tried in order (reference §1 "Hosts": api.weixin.qq.com, then the
	// disaster-recovery host api2.weixin.qq.com). A call moves to the next
	// one when the request could not be sent (DNS failure, connection
	// refused or reset before the request was written, TLS failure); a call
	// that spends no code also moves after a transport failure once sent.
	// A call that spends a code (jscode2session, the OAuth code exchange,
	// getuserphonenumber) never moves once its request was written. Setting
	// both APIBase and APIBases is an error.
	APIBases []string
	// RetryBackoff is the wait before the one retry of a call that spends
	// no code (app tokens, /sns/userinfo, /sns/auth, checksession) after
	// WeChat answered -1. Zero means [DefaultRetryBackoff]; negative is an
	// error. Code exchanges are never retried.
	RetryBackoff time.Duration
	// OpenBase is the base URL of WeChat's browser pages (OAuth consent,
	// QR login). Empty means DefaultOpenBase.
	OpenBase string
	// MPBase is the base URL of mp.weixin.qq.com, which serves the
	// pictures of parametric QR codes. Empty means DefaultMPBase. For
	// wxauth's sandbox, e.g. "http://127.0.0.1:8080/sandbox/mp".
	MPBase string
	// HTTPClient sends the requests. Nil means a client of this package
	// with dial, TLS and overall timeouts that does not follow redirects
	// (never http.DefaultClient).
	HTTPClient *http.Client
	// WrapTransport, if not nil, wraps the transport of the client that
	// sends the requests (HTTPClient's, nil meaning http.DefaultTransport,
	// or this package's), e.g. to trace every call; HTTPClient itself is
	// not changed. Nil: the transport as is.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Timeout bounds each call, body read included, on top of the caller's
	// context. Zero means DefaultTimeout; negative is an error.
	Timeout time.Duration
	// Observe, if not nil, is called after every call to WeChat (not for
	// arguments rejected before a call) with its endpoint, errcode and
	// outcome, e.g. to count calls by endpoint and errcode. It runs on the
	// caller's goroutine, so it must be quick and safe for concurrent use.
	Observe func(Call)
	// Now gives the time from which an app token's expires_in is counted
	// ([Client.Token], [Client.StableToken]). Nil means time.Now.
	Now func() time.Time
}

// Call describes one finished call to WeChat, for [Config.Observe].
type Call struct {
	// Endpoint is the path called, e.g. "/sns/jscode2session".
	Endpoint string
	// Host is the API base URL the attempt went to (one of
	// [Config.APIBases]).
	Host string
	// AppID is the app the call was made for, when the call names it
	// (the calls that present the secret, OAuth refresh); "" for the
	// calls that present only a token.
	AppID string
	// Errcode is WeChat's errcode when an answer was parsed (0 for a
	// success), and 0 when none was (check Err).
	Errcode int
	// Err is the error the call returned, nil on success. It holds no
	// secret and may be logged.
	Err error
	// Duration is the time from sending the request to having the answer
	// decoded.
	Duration time.Duration
}

// Client calls WeChat's server APIs. It is safe for concurrent use.
type Client struct {
	apiBases []string
	backoff  time.Duration
	openBase string
	mpBase   string
	hc       *http.Client
	timeout  time.Duration
	observe  func(Call)
	now      func() time.Time
}

// New returns a Client for cfg, or an error naming the first bad field.
func New(cfg Config) (*Client, error) {
	c := &Client{
		backoff:  cfg.RetryBackoff,
		openBase: cfg.OpenBase,
		mpBase:   cmp.Or(cfg.MPBase, DefaultMPBase),
		hc:       cfg.HTTPClient,
		timeout:  cfg.Timeout,
		observe:  cfg.Observe,
		now:      cfg.Now,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.openBase == "" {
		c.openBase = DefaultOpenBase
	}
	var err error
	switch {
	case len(cfg.APIBases) > 0 && cfg.APIBase != "":
		return nil, errors.New("wechat: Config.APIBase and Config.APIBases are both set: use one")
	case len(cfg.APIBases) > 0:
		for i, b := range cfg.APIBases {
			b, err := checkBase(fmt.Sprintf("APIBases[%d]", i), b)
			if err != nil {
				return nil, err
			}
			c.apiBases = append(c.apiBases, b)
		}
	default:
		b, err := checkBase("APIBase", cmp.Or(cfg.APIBase, DefaultAPIBase))
		if err != nil {
			return nil, err
		}
		c.apiBases = []string{b}
	}
	if c.backoff < 0 {
		return nil, fmt.Errorf("wechat: Config.RetryBackoff %v: must not be negative", c.backoff)
	}
	if c.backoff == 0 {
		c.backoff = DefaultRetryBackoff
	}
	if c.openBase, err = checkBase("OpenBase", c.openBase); err != nil {
		return nil, err
	}
	if c.mpBase, err = checkBase("MPBase", c.mpBase); err != nil {
		return nil, err
	}
	if c.timeout < 0 {
		return nil, fmt.Errorf("wechat: Config.Timeout %v: must not be negative", c.timeout)
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient(c.timeout)
	}
	if cfg.WrapTransport != nil {
		hc := *c.hc
		hc.Transport = cfg.WrapTransport(hc.Transport)
		c.hc = &hc
	}
	return c, nil
}

// checkBase validates a base URL and returns it without trailing slashes.
func checkBase(field, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("wechat: Config.%s: %w", field, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("wechat: Config.%s %q: scheme must be http or https", field, raw)
	case u.Host == "":
		return "", fmt.Errorf("wechat: Config.%s %q: no host", field, raw)
	case u.User != nil:
		return "", fmt.Errorf("wechat: Config.%s: must not hold user info", field)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("wechat: Config.%s %q: must not have a query or fragment", field, raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// defaultHTTPClient is used when Config.HTTPClient is nil. It does not follow
// redirects: WeChat's APIs never redirect, and a redirect is reported as an
// [*HTTPError].
func defaultHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.MaxIdleConnsPerHost = 16
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// request is one call to an api.weixin.qq.com endpoint.
type request struct {
	method   string
	endpoint string     // path, e.g. "/sns/jscode2session"
	query    url.Values // secrets and access_token included (reference §1)
	// appID is the app the call is for, for [Call.AppID]; empty means
	// the query's appid.
	appID string
	body  any // marshalled to JSON when not nil
	// secrets are values sent in body that must never appear in an
	// error (the query's are found by name, see sensitiveParams).
	secrets []string
	// idempotent marks a call that spends no code and changes nothing
	// WeChat keeps: it is retried once after -1, and moves to the next
	// host even after its request was written. The endpoints of
	// idempotentEndpoints are so whatever this says.
	idempotent bool
	// picture, when not nil, receives a success answer that is not JSON
	// (a mini program code's bytes, up to maxPicture); a JSON answer is
	// read as usual.
	picture *[]byte
}

// idempotentEndpoints spend no code and change nothing WeChat keeps
// (reference §1 "Retries": wxauth retries only calls that spend no code).
// /cgi-bin/stable_token is so without force_refresh (StableToken says).
// The code exchanges (jscode2session, /sns/oauth2/access_token,
// getuserphonenumber) are not, nor is the OAuth refresh or
// resetusersessionkey, which change state.
var idempotentEndpoints = map[string]bool{
	endpointToken:        true,
	endpointUserInfo:     true,
	endpointOAuthCheck:   true,
	endpointCheckSession: true,
	"/cgi-bin/user/info": true,
}

// validator is implemented by response types that must check a success
// answer (errcode 0) for required fields.
type validator interface {
	validate() error
}

// getJSON calls GET endpoint?query and decodes a success answer into out.
func (c *Client) getJSON(ctx context.Context, endpoint string, query url.Values, out any) error {
	return c.do(ctx, request{method: http.MethodGet, endpoint: endpoint, query: query}, out)
}

// postJSON calls POST endpoint?query with body as JSON (the access_token
// stays in query, reference §1) and decodes a success answer into out.
func (c *Client) postJSON(ctx context.Context, endpoint string, query url.Values, body, out any) error {
	return c.do(ctx, request{method: http.MethodPost, endpoint: endpoint, query: query, body: body}, out)
}

// do makes the call, reports each attempt to Observe, and returns an
// error classified as the package documentation says. It tries the hosts
// in order as [Config.APIBases] says, and retries an idempotent call once
// after -1 (reference §1 "Retries"); a code exchange is never retried. out
// may be nil; if it implements validator, a success answer is validated.
func (c *Client) do(ctx context.Context, req request, out any) error {
	req.idempotent = req.idempotent || idempotentEndpoints[req.endpoint]
	err := c.doHosts(ctx, req, out)
	if err == nil || !req.idempotent || !errors.Is(err, ErrBusy) {
		return err
	}
	t := time.NewTimer(c.backoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return err
	case <-t.C:
	}
	return c.doHosts(ctx, req, out)
}

// doHosts makes one attempt, host after host while the request could not
// be sent (or, for an idempotent call, failed in transport).
func (c *Client) doHosts(ctx context.Context, req request, out any) error {
	for i, base := range c.apiBases {
		start := time.Now()
		a, err := c.roundTrip(ctx, base, req, out)
		if c.observe != nil {
			appID := req.appID
			if appID == "" {
				appID = req.query.Get("appid")
			}
			c.observe(Call{Endpoint: req.endpoint, AppID: appID, Host: base, Errcode: a.errcode, Err: err, Duration: time.Since(start)})
		}
		if err == nil || i == len(c.apiBases)-1 || ctx.Err() != nil || !a.transport || (a.sent && !req.idempotent) {
			return err
		}
	}
	panic("unreachable: no API base")
}

// status is the part of every answer that says whether it failed. A missing
// errcode is 0 (reference §1).
type status struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// attempt describes one HTTP exchange for doHosts.
type attempt struct {
	errcode int // WeChat's errcode, when an answer was parsed
	// transport: the exchange itself failed (no answer at all).
	transport bool
	// sent: the request was written, so WeChat may have acted on it.
	sent bool
}

// roundTrip makes one HTTP exchange with base.
func (c *Client) roundTrip(ctx context.Context, base string, req request, out any) (a attempt, err error) {
	r := newRedactor(req.query, req.secrets...)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { sent.Store(true) },
	})

	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return a, fmt.Errorf("wechat: %s: encode request body: %w", req.endpoint, err)
		}
		body = bytes.NewReader(b)
	}
	u := base + req.endpoint
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return a, transportError(ctx, req.endpoint, err, r)
	}
	hreq.Header.Set("Accept", "application/json")
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.hc.Do(hreq)
	if err != nil {
		a.transport, a.sent = true, sent.Load()
		return a, transportError(ctx, req.endpoint, err, r)
	}
	a.sent = true
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// WeChat's errors come with 200 (reference §1); whatever this
		// body says, it is not WeChat's answer.
		return a, &HTTPError{Endpoint: req.endpoint, Status: resp.StatusCode}
	}
	limit := maxBody
	if req.picture != nil {
		limit = maxPicture
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return a, transportError(ctx, req.endpoint, err, r)
	}
	if len(data) > limit {
		return a, unexpected(req.endpoint, fmt.Sprintf("body larger than %d bytes", limit), nil, r)
	}
	if req.picture != nil && !isJSONAnswer(resp.Header.Get("Content-Type"), data) {
		if len(data) == 0 {
			return a, unexpected(req.endpoint, "empty picture", nil, r)
		}
		*req.picture = data
		return a, nil
	}

	// JSON whatever the Content-Type: WeChat often says text/plain (reference §1).
	var st status
	if err := json.Unmarshal(data, &st); err != nil {
		if credentialEndpoints[req.endpoint] && !json.Valid(data) {
			return a, notWeChat(req.endpoint, resp.Header.Get("Content-Type"), len(data), err, r)
		}
		return a, unexpected(req.endpoint, "body is not a JSON object", err, r)
	}
	if st.Errcode != 0 {
		a.errcode = st.Errcode
		return a, &APIError{Endpoint: req.endpoint, Code: st.Errcode, Msg: r.redact(st.Errmsg)}
	}
	if req.picture != nil {
		return a, unexpected(req.endpoint, "a JSON success without a picture", nil, r)
	}
	if out == nil {
		return a, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return a, unexpected(req.endpoint, "decode body", err, r)
	}
	if v, ok := out.(validator); ok {
		if err := v.validate(); err != nil {
			return a, unexpected(req.endpoint, err.Error(), nil, r)
		}
	}
	return a, nil
}

// errMissingField is returned by validate methods; unexpected wraps it.
func errMissingField(name string) error {
	return errors.New("success without " + name)
}
