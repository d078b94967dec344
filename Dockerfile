# syntax=docker/dockerfile:1
#
# The heysummon-server image: the release binary on Debian slim, as a non-root user.
#
#   docker build -t heysummon .
#   docker run -d -p 8080:8080 -v heysummon-data:/data heysummon
#
# Written to convention; not built in this repository's CI (it has no container engine).

# ---- build -------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the crates and compiled dependencies between builds (BuildKit); the
# binary is copied out of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release -p heysummon-server --locked \
    && cp target/release/heysummon-server /usr/local/bin/heysummon-server

# ---- runtime -----------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 heysummon \
    && useradd --system --uid 10001 --gid heysummon --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin heysummon \
    && mkdir /data \
    && chown heysummon:heysummon /data
COPY --from=build /usr/local/bin/heysummon-server /usr/local/bin/heysummon-server

# SQLite by default, in the volume; set HEYSUMMON_DATABASE_URL=postgres://… for PostgreSQL.
ENV HEYSUMMON_LISTEN=0.0.0.0:8080 \
    HEYSUMMON_DATABASE_URL=sqlite:///data/heysummon.db
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 8080
# No HEALTHCHECK: the image has no HTTP client. Probe GET /health from outside (the proxy in
# compose.yaml does).
ENTRYPOINT ["heysummon-server"]
CMD ["serve"]
