package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults used when the matching [Config] field is zero.
const (
	DefaultAPIBase  = "https://api.weixin.qq.com"
	DefaultOpenBase = "https://open.weixin.qq.com"
	DefaultTimeout  = 5 * time.Second
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
	// OpenBase is the base URL of WeChat's browser pages (OAuth consent,
	// QR login). Empty means DefaultOpenBase.
	OpenBase string
	// HTTPClient sends the requests. Nil means a client of this package
	// with dial, TLS and overall timeouts that does not follow redirects
	// (never http.DefaultClient).
	HTTPClient *http.Client
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
	apiBase  string
	openBase string
	hc       *http.Client
	timeout  time.Duration
	observe  func(Call)
	now      func() time.Time
}

// New returns a Client for cfg, or an error naming the first bad field.
func New(cfg Config) (*Client, error) {
	c := &Client{
		apiBase:  cfg.APIBase,
		openBase: cfg.OpenBase,
		hc:       cfg.HTTPClient,
		timeout:  cfg.Timeout,
		observe:  cfg.Observe,
		now:      cfg.Now,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.apiBase == "" {
		c.apiBase = DefaultAPIBase
	}
	if c.openBase == "" {
		c.openBase = DefaultOpenBase
	}
	var err error
	if c.apiBase, err = checkBase("APIBase", c.apiBase); err != nil {
		return nil, err
	}
	if c.openBase, err = checkBase("OpenBase", c.openBase); err != nil {
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

// do makes the call, reports it to Observe, and returns an error classified
// as the package documentation says. It never retries. out may be nil; if
// it implements validator, a success answer is validated.
func (c *Client) do(ctx context.Context, req request, out any) error {
	start := time.Now()
	errcode, err := c.roundTrip(ctx, req, out)
	if c.observe != nil {
		appID := req.appID
		if appID == "" {
			appID = req.query.Get("appid")
		}
		c.observe(Call{Endpoint: req.endpoint, AppID: appID, Errcode: errcode, Err: err, Duration: time.Since(start)})
	}
	return err
}

// status is the part of every answer that says whether it failed. A missing
// errcode is 0 (reference §1).
type status struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

func (c *Client) roundTrip(ctx context.Context, req request, out any) (errcode int, err error) {
	r := newRedactor(req.query, req.secrets...)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return 0, fmt.Errorf("wechat: %s: encode request body: %w", req.endpoint, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.apiBase + req.endpoint
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return 0, transportError(ctx, req.endpoint, err, r)
	}
	hreq.Header.Set("Accept", "application/json")
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.hc.Do(hreq)
	if err != nil {
		return 0, transportError(ctx, req.endpoint, err, r)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// WeChat's errors come with 200 (reference §1); whatever this
		// body says, it is not WeChat's answer.
		return 0, &HTTPError{Endpoint: req.endpoint, Status: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, transportError(ctx, req.endpoint, err, r)
	}
	if len(data) > maxBody {
		return 0, unexpected(req.endpoint, fmt.Sprintf("body larger than %d bytes", maxBody), nil, r)
	}

	// JSON whatever the Content-Type: WeChat often says text/plain (reference §1).
	var st status
	if err := json.Unmarshal(data, &st); err != nil {
		if credentialEndpoints[req.endpoint] && !json.Valid(data) {
			return 0, notWeChat(req.endpoint, resp.Header.Get("Content-Type"), len(data), err, r)
		}
		return 0, unexpected(req.endpoint, "body is not a JSON object", err, r)
	}
	if st.Errcode != 0 {
		return st.Errcode, &APIError{Endpoint: req.endpoint, Code: st.Errcode, Msg: r.redact(st.Errmsg)}
	}
	if out == nil {
		return 0, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return 0, unexpected(req.endpoint, "decode body", err, r)
	}
	if v, ok := out.(validator); ok {
		if err := v.validate(); err != nil {
			return 0, unexpected(req.endpoint, err.Error(), nil, r)
		}
	}
	return 0, nil
}

// errMissingField is returned by validate methods; unexpected wraps it.
func errMissingField(name string) error {
	return errors.New("success without " + name)
}
