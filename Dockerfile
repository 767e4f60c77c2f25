# Multi-stage build: compile with the Rust image, run as a non-root user on a slim base.
# (No Docker engine runs on the development machines; this file is kept correct by reading.)
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY migration ./migration
COPY src ./src
COPY benches ./benches
COPY tests ./tests
COPY schema.graphql README.md ./
RUN cargo build --release --locked --bin annex

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/annex --create-home annex
COPY --from=build /src/target/release/annex /usr/local/bin/annex
USER annex
WORKDIR /var/lib/annex
ENV ANNEX_LISTEN=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///var/lib/annex/data/annex.db?mode=rwc \
    ANNEX_MODE=production
VOLUME ["/var/lib/annex/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/annex"]
CMD ["serve"]
