# syntax=docker/dockerfile:1.7
# The operator image: `ticketing-operator` on a distroless glibc runtime, user 65532, no shell.
# Built from the repository root by .github/workflows/release.yml:
#   docker build -f docker/operator.Dockerfile .
#checkov:skip=CKV_DOCKER_2: The runtime has no shell or HTTP client for a HEALTHCHECK; Kubernetes probes /livez and /readyz instead.

# Builder and runtime share Debian 12 (bookworm), so the binary links against the same glibc it runs on.
FROM docker.io/library/rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p ticketing-operator \
    && install -D -m 0755 target/release/ticketing-operator /out/bin/ticketing-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/bin/ticketing-operator /usr/local/bin/ticketing-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ticketing-operator"]
CMD ["run"]
