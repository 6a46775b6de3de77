# nsreport image: multi-stage, Node 24 runtime, production dependencies only, no shell.
# The build stage runs scripts/image-rootfs.sh, which the tests also run to check the same file
# set without a Docker engine (test/e2e/deploy.test.ts).
# The bases are build arguments so that a builder without a registry can substitute local
# equivalents (test/cluster/image.sh does); the defaults are the public images.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12

FROM ${BUILD_IMAGE} AS build
# A CA bundle for npm where TLS to the registry is intercepted (empty by default).
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund --no-update-notifier
COPY scripts/image-rootfs.sh scripts/cri-codec.sh scripts/
COPY src ./src
RUN bash scripts/image-rootfs.sh /out

# distroless: no shell, no package manager; node at /nodejs/bin/node.
FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="nsreport" \
      org.opencontainers.image.description="Reports how every pod container is really isolated: host PID, namespaces, hostNetwork, mount propagation" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
COPY --from=build /out/app /app
WORKDIR /app
# root without capabilities beyond what the chart grants (SYS_PTRACE, DAC_READ_SEARCH): the
# CRI socket is root's.
USER 0
# V8's lite mode (no optimizing compiler, feedback allocated lazily): the agent's median RSS at
# 100 pods is ~18 MiB lower on Node 24, for ~15% more of its small CPU (docs/benchmarks.md).
# A command-line flag: Node does not take it from NODE_OPTIONS.
ENTRYPOINT ["/nodejs/bin/node", "--lite-mode", "/app/dist/src/cli/main.js"]
CMD ["agent"]
