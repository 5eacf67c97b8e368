# syntax=docker/dockerfile:1.7
# The reservation service image: `ticketing-service` on a distroless glibc runtime, user 65532, no shell.
# Built from the repository root by .github/workflows/release.yml:
#   docker build -f docker/service.Dockerfile .
#checkov:skip=CKV_DOCKER_2: The runtime has no shell or HTTP client for a HEALTHCHECK; Kubernetes probes /livez and /readyz instead.

# Builder and runtime share Debian 12 (bookworm), so the binary links against the same glibc it runs on.
FROM docker.io/library/rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p ticketing-service \
    && install -D -m 0755 target/release/ticketing-service /out/bin/ticketing-service \
    && install -d -m 0750 /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/bin/ticketing-service /usr/local/bin/ticketing-service
# The embedded SQLite default writes here; the chart mounts an emptyDir over it.
COPY --from=build --chown=65532:65532 /out/data /var/lib/ticketing
USER 65532:65532
ENV TICKETING_BIND=0.0.0.0:8080 \
    TICKETING_DATA_DIR=/var/lib/ticketing
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ticketing-service"]
CMD ["serve"]
