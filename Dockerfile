FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:22-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY schema ./schema
USER node
# The old generation may grow by 50 % between full GCs instead of up to 4x: peak RSS at 1M users ~370 -> ~235 MiB
# at the same sweep time (see BENCHMARKS.md). Node refuses this flag in NODE_OPTIONS, hence on the command line.
ENTRYPOINT ["node", "--heap-growing-percent=50", "dist/src/cli.js"]
