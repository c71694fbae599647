# kbench in a container: built from source (librdkafka, OpenSSL and zstd from their vendored
# sources), shipped on a slim Debian with only the binary.
#   docker build -t kbench:latest .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/kbench

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/kbench /usr/local/bin/kbench
ENTRYPOINT ["kbench"]
