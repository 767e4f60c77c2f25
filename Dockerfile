# syntax=docker/dockerfile:1
# Annex: a release build in four stages. Dependencies are compiled in their own layer
# (cargo-chef), so a change to Annex's code rebuilds only Annex. The runtime image is
# distroless (glibc, CA certificates, no shell) and runs as a non-root user.
# No container engine runs on the development machines: this file and compose.yaml are
# checked in CI by reading (compose.yaml against the Compose schema), not by building.

FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# The dependency recipe: manifests only.
FROM chef AS planner
COPY Cargo.toml Cargo.lock ./
COPY migration ./migration
COPY src ./src
COPY benches ./benches
COPY tests/api/main.rs ./tests/api/main.rs
RUN cargo chef prepare --recipe-path recipe.json

# Dependencies, cached until Cargo.toml or Cargo.lock change.
FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin annex
# What the binary is built from: the code, the migrations with their catalog data, and
# the embedded GraphiQL assets. Tests and benches are not copied; their declared entry
# points get empty files so the manifest loads.
COPY Cargo.toml Cargo.lock ./
COPY migration ./migration
COPY src ./src
COPY assets ./assets
RUN mkdir -p benches/load tests/api \
 && touch benches/load/main.rs tests/api/main.rs \
 && cargo build --release --locked --bin annex \
 && mkdir -p /out/data \
 && cp target/release/annex /out/annex

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/annex /usr/local/bin/annex
# The SQLite default lives here (a volume); with PostgreSQL it stays empty.
COPY --from=build --chown=65532:65532 /out/data /var/lib/annex/data
WORKDIR /var/lib/annex
ENV ANNEX_LISTEN=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///var/lib/annex/data/annex.db?mode=rwc \
    ANNEX_MODE=production
VOLUME ["/var/lib/annex/data"]
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/annex", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/annex"]
CMD ["serve"]
