package prodtest

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestReleaseBinary: the binary scripts/build.sh makes (the Dockerfile's)
// is static — no interpreter, no shared library, so it runs on
// distroless/static or scratch — and its healthcheck, the image's
// HEALTHCHECK, exits 0 for a live server and 1 for none.
func TestReleaseBinary(t *testing.T) {
	bin := wxauthBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v program header: not a static binary", bin, p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", bin, libs)
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || strings.TrimSpace(string(out)) != "wxauth prodtest" {
		t.Errorf("wxauth version = %q, %v; want the version scripts/build.sh was given", out, err)
	}

	// `wxauth sandbox` alone (what docker-compose.yml runs for WeChat), then
	// the healthcheck against it.
	port := freePort(t)
	sb := exec.Command(bin, "sandbox", "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	stdout, err := sb.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Process.Kill(); sb.Wait() })
	if sc := bufio.NewScanner(stdout); !sc.Scan() || !strings.HasPrefix(sc.Text(), "WeChat sandbox on") {
		t.Fatalf("wxauth sandbox did not start: %q", sc.Text())
	}
	for _, tc := range []struct {
		url  string
		code int
	}{
		{fmt.Sprintf("http://127.0.0.1:%d/sandbox/v1/apps", port), 0},
		{fmt.Sprintf("http://127.0.0.1:%d/nothing-here", port), 1},
		{fmt.Sprintf("http://127.0.0.1:%d/healthz", freePort(t)), 1},
	} {
		err := exec.Command(bin, "healthcheck", "--url", tc.url).Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("wxauth healthcheck --url %s exited %d, want %d", tc.url, code, tc.code)
		}
	}
}
