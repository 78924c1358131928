# The service image. Build stage: install, compile with tsc (Lua ships inside the compiled code, see
# src/generated/), drop dev dependencies. Runtime stage: the compiled service only; configuration is mounted or
# given through the environment (see README "Deploying"). scripts/check-image-build.sh runs the build stage's steps
# without a Docker engine, in CI.
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The events package (the Kafka contract the service builds its records with) is a workspace: npm ci links it and
# its prepare script compiles it.
COPY packages/events/package.json packages/events/tsconfig.json ./packages/events/
COPY packages/events/src ./packages/events/src
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:${NODE_VERSION}-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="presence-poller" \
      org.opencontainers.image.description="Polls Tencent Cloud Chat online status at the API cap and publishes every transition to Kafka" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="UNLICENSED" \
      org.opencontainers.image.base.name="docker.io/library/node:${NODE_VERSION}-slim"
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# node_modules/@presence-poller/events links here: its compiled code and manifest only.
COPY --from=build /app/packages/events/package.json ./packages/events/package.json
COPY --from=build /app/packages/events/dist ./packages/events/dist
COPY package.json ./
COPY schema ./schema
# An empty presence.yaml at the default path: an environment-only deployment needs no file of its own.
COPY deploy/image-presence.yaml ./config/presence.yaml
USER node
# /metrics, /healthz, /readyz (http.port).
EXPOSE 9464
# Liveness without curl (the slim image has none): node itself asks /healthz on the configured port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PRESENCE__HTTP__PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The old generation may grow by 50 % between full GCs instead of up to 4x, and the young generation stays at Node
# 20's size (Node 24 lets it reach 192 MB): a much lower peak RSS at 1M users at the same sweep time (BENCHMARKS.md
# has the figures). Node refuses the first flag in NODE_OPTIONS, hence on the command line.
# kafkajs 2.2.4 asks for negative timeouts, which Node 24 warns about on stderr before clamping them to 1 ms (older
# Node clamped them silently): the warning is noise in a JSON log.
ENTRYPOINT ["node", "--heap-growing-percent=50", "--max-semi-space-size=16", "--disable-warning=TimeoutNegativeWarning", "dist/src/cli.js"]
CMD ["--help"]
