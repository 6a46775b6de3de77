# nsreport image: multi-stage, Node 24 runtime, production dependencies only, no shell.
# (No Docker engine runs on the development machines; scripts for checking the runtime file set
# without one come with the deployment work.)
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && mkdir -p dist/src/cri && cp -r src/cri/proto dist/src/cri/ \
 && npm ci --omit=dev --no-audit --no-fund

FROM gcr.io/distroless/nodejs24-debian12:nonroot
LABEL org.opencontainers.image.title="nsreport" \
      org.opencontainers.image.description="Reports how every pod container is really isolated: host PID, namespaces, hostNetwork, mount propagation" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
USER 0
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/src/cli/main.js"]
CMD ["agent"]
