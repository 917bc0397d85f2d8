package login

import (
	"fmt"
	"net/netip"
	"strings"
)

// describeBrowser is a short description of a User-Agent for the phone's
// confirm page ("Chrome on Windows"): enough for its user to recognise
// their own computer, nothing that identifies it.
func describeBrowser(ua string) string {
	browser := "A browser"
	for _, b := range []struct{ token, name string }{
		{"MicroMessenger", "WeChat"}, {"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"}, {"Chromium/", "Chromium"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Mac OS X", "macOS"},
		{"Android", "Android"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}

// maskIP keeps the network of an address and hides the host
// ("203.0.113.*", "2001:db8:1::*"); "" for none.
func maskIP(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.*", b[0], b[1], b[2])
	}
	p, _ := a.Prefix(48)
	return strings.TrimSuffix(p.Addr().String(), "::") + "::*"
}
