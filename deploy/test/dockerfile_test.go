package test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile: the image cannot be built here (no registry), so its
// promises are read from the Dockerfile: the build stage runs
// scripts/build.sh (the binary the tests run: internal/prodtest builds
// with it and checks it is static), and the final stage is a static base,
// non-root, with the binary's own HEALTHCHECK.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Instructions, continuation lines joined, comments dropped.
	text := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(raw), "")
	var stages [][]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before FROM: %q", line)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], line)
	}
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a build stage and the final one", len(stages))
	}
	has := func(stage []string, re string) bool {
		for _, l := range stage {
			if regexp.MustCompile(re).MatchString(l) {
				return true
			}
		}
		return false
	}
	build, final := stages[0], stages[1]
	for _, re := range []string{`^FROM golang:\S+ AS build$`, `^RUN sh scripts/build.sh /out/wxauth "\$VERSION"$`} {
		if !has(build, re) {
			t.Errorf("the build stage has no line like %s:\n%s", re, strings.Join(build, "\n"))
		}
	}
	for _, re := range []string{
		`^FROM (gcr.io/distroless/static\S*|scratch)$`,
		`^COPY --from=build /out/wxauth /wxauth$`,
		`^USER 65532(:65532)?$`,
		`^EXPOSE 8080\b`,
		`^HEALTHCHECK .*CMD \["/wxauth", "healthcheck"\]$`,
		`^ENTRYPOINT \["/wxauth"\]$`,
	} {
		if !has(final, re) {
			t.Errorf("the final stage has no line like %s:\n%s", re, strings.Join(final, "\n"))
		}
	}
	if has(final, `^RUN `) {
		t.Error("the final stage runs a command: it has no shell")
	}
}
