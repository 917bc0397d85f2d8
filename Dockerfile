# wxauth's container image: `docker build -t wxauth .` (docs/deploy.md).
# The build stage runs scripts/build.sh, the script CI and the production
# tests (internal/prodtest) build their binary with: a static binary
# (CGO_ENABLED=0), -trimpath, the version from --build-arg VERSION.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN sh scripts/build.sh /out/wxauth "$VERSION"

# distroless/static: CA certificates (WeChat's API is https), /etc/passwd
# with the nonroot user, no shell, no libc, no tzdata (wxauth keeps UTC).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wxauth /wxauth
USER 65532:65532
EXPOSE 8080 9464
# No curl in the image: the binary checks itself (exit 0 healthy, 1 not).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/wxauth", "healthcheck"]
ENTRYPOINT ["/wxauth"]
CMD ["serve", "--config", "/etc/wxauth/wxauth.yaml"]
