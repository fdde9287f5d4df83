# syntax=docker/dockerfile:1
# usersvc: one instance per container; run several behind nginx (compose.yaml).

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the base image is already Node 24, so the pinned `node` package's binary
# is not needed; @node-rs/argon2 ships prebuilt binaries as optional dependencies.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
# UV_THREADPOOL_SIZE is left to src/runtime.ts: cores + 2, unless set.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8443
WORKDIR /app
# /shared: the volume compose uses for the local CA and nginx's rendered config.
RUN mkdir -p /app/data /shared && chown node:node /app/data /shared
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
COPY deploy ./deploy
USER node
EXPOSE 8443
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "scripts/healthcheck.ts"]
CMD ["node", "src/cli.ts", "serve"]
