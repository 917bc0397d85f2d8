package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DevApps are the apps `wxauth dev` configures against its sandbox
// (docs/configuration.md "wxauth dev"). Their appids are fixed so that openids stay stable
// across restarts on the same data folder.
func DevApps() []App {
	return []App{
		{Name: "mp", Kind: KindMiniProgram, AppID: "wxd0000000000000a1", Secret: "sandbox-secret-mp-0000000000000001"},
		{Name: "oa", Kind: KindOfficialAccount, AppID: "wxd0000000000000b2", Secret: "sandbox-secret-oa-0000000000000002",
			// The sandbox pushes its scans here in safe mode (docs/follow-login.md).
			PushToken: "sandboxpushtoken0000000000000002", PushAESKey: "sandboxPushAESKey00000000000000000000000002"},
		{Name: "web", Kind: KindWebsite, AppID: "wxd0000000000000c3", Secret: "sandbox-secret-web-000000000000003"},
		{Name: "app", Kind: KindMobileApp, AppID: "wxd0000000000000a9", Secret: "sandbox-secret-app-000000000000009"},
	}
}

// FillDev completes a `wxauth dev` configuration once the listening address
// is known: whatever the environment did not set points at this process
// (issuer, the mounted sandbox) and at the data folder (SQLite), and the
// server's own origin joins the redirect allow-list.
func (c *Config) FillDev(origin, dataDir string) {
	if len(c.Apps) == 0 {
		c.Apps = DevApps()
	}
	if c.Issuer == "" {
		c.Issuer = origin
	}
	if c.WeChat.APIBase == "" || c.WeChat.APIBase == Defaults().WeChat.APIBase {
		c.WeChat.APIBase = origin + "/sandbox/api"
	}
	if c.WeChat.OpenBase == "" || c.WeChat.OpenBase == Defaults().WeChat.OpenBase {
		c.WeChat.OpenBase = origin + "/sandbox/open"
	}
	if c.WeChat.MPBase == "" || c.WeChat.MPBase == Defaults().WeChat.MPBase {
		c.WeChat.MPBase = origin + "/sandbox/mp"
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(dataDir, "wxauth.db")
	}
	self := strings.TrimSuffix(origin, "/") + "/"
	for _, r := range c.Redirects {
		if r == self {
			return
		}
	}
	c.Redirects = append(c.Redirects, self)
}

// LoadOrCreateSecret reads the secret kept at path, or generates 32 random
// bytes (base64, 44 characters) and keeps them there (mode 0600). It is how
// `wxauth dev` gets a stable secret without asking for one.
func LoadOrCreateSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return "", fmt.Errorf("secret file %s: shorter than 32 bytes", path)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("secret file: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	s := base64.StdEncoding.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	return s, nil
}
