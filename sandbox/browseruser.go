package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
)

// A phone is logged into one WeChat account, and WeChat approves an
// Official Account's snsapi_base for it without a page (reference §5.1).
// The sandbox's stand-in is a browser's current user: a cookie on the
// sandbox's origin, set by GET or POST /sandbox/v1/browser/user?name=NAME
// (docs/sandbox.md "A browser's current WeChat user"). The authorize page
// approves snsapi_base at once for it; snsapi_userinfo and the website QR
// page still ask.

// browserUserCookie names the browser's current test user.
const browserUserCookie = "sandbox_wechat_user"

// browserUser is the browser's current test user, if it still exists.
func (s *Sandbox) browserUser(r *http.Request) string {
	c, err := r.Cookie(browserUserCookie)
	if err != nil || !s.hasUser(c.Value) {
		return ""
	}
	return c.Value
}

func (s *Sandbox) hasUser(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.users[name]
	return ok
}

// setBrowserUser sets (or, for "", forgets) the current user of the
// browser that sent r; an unknown name is ErrNotFound.
func (s *Sandbox) setBrowserUser(w http.ResponseWriter, r *http.Request) (string, error) {
	name := r.URL.Query().Get("name")
	if r.Method == http.MethodPost && name == "" {
		r.Body = http.MaxBytesReader(w, r.Body, maxDecisionBody)
		if err := r.ParseForm(); err != nil {
			return "", fmt.Errorf("malformed form body: %v", err)
		}
		name = r.PostForm.Get("name")
	}
	c := &http.Cookie{Name: browserUserCookie, Value: name, Path: "/sandbox", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	switch {
	case name == "" && r.URL.Query().Has("name"):
		c.MaxAge = -1
	case name == "":
		return s.browserUser(r), nil // GET without name: show it
	case !s.hasUser(name):
		return "", fmt.Errorf("no test user %q: %w", name, ErrNotFound)
	}
	http.SetCookie(w, c)
	return name, nil
}

// browserUserPage serves GET /sandbox/v1/browser/user: with name=NAME
// it makes NAME this browser's current user (name= empty forgets it), and
// it shows the current user and a link per test user to switch, in the
// browser's language.
func (s *Sandbox) browserUserPage(w http.ResponseWriter, r *http.Request) error {
	name, err := s.setBrowserUser(w, r)
	if err != nil {
		return err
	}
	lang := pageLang(r)
	page := browserUserView{Lang: htmlLang(lang), T: pageMessages[lang], Current: name}
	for _, u := range s.Users() {
		page.Users = append(page.Users, u.Name)
	}
	var buf bytes.Buffer
	if err := browserUserTemplate.Execute(&buf, page); err != nil {
		return errors.New("render page: " + err.Error())
	}
	setPageHeaders(w, "")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

// browserUserSet serves POST /sandbox/v1/browser/user (name in the query
// or the form): {"name": NAME}, "" once forgotten.
func (s *Sandbox) browserUserSet(w http.ResponseWriter, r *http.Request) error {
	if !r.URL.Query().Has("name") && r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return errors.New("name is missing: POST ?name=NAME, or a form with name (empty forgets the user)")
	}
	name, err := s.setBrowserUser(w, r)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		Name string `json:"name"`
	}{name})
	return nil
}

type browserUserView struct {
	Lang    string
	T       map[string]string
	Current string
	Users   []string
}

// browserUserTemplate has no script and no style of its own beyond the
// shared one, which needs no nonce here: it is linked from nothing else.
var browserUserTemplate = template.Must(template.New("browseruser").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.user_title}}</title>
</head>
<body>
<main>
<p>{{.T.tag}}</p>
<h1>{{.T.user_heading}}</h1>
<p id="current" data-user="{{.Current}}">{{if .Current}}{{printf .T.user_current .Current}}{{else}}{{.T.user_none}}{{end}}</p>
<ul>
{{- $t := .T}}
{{- range .Users}}
<li><a id="switch-{{.}}" href="?name={{.}}">{{printf $t.user_switch .}}</a></li>
{{- end}}
<li><a id="clear" href="?name=">{{.T.user_clear}}</a></li>
</ul>
</main>
</body>
</html>
`))
