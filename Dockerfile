# syntax=docker/dockerfile:1
#
# Lexecon container image. Two stages: `build` has the compilers node-gyp needs (better-sqlite3, argon2)
# and the dev dependencies (TypeScript); `runtime` gets only dist/, the production node_modules,
# package.json and the example policies. No keys and no database are ever copied in: both live on the
# /data volume, created at first start (see .dockerignore).
#
# scripts/container-dry-run.sh replays this file's own steps without a container engine (read by the
# script, so keep one instruction per logical line; RUN steps other than npm/node commands must be in
# its documented skip list) and test/docker/dockerfile.test.ts runs it in `npm test`.

FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The oversight console (issue 18): its sources, the esbuild script and its first-load probe (no Chromium in
# this stage: it reports "not measured"); `npm run build` puts the console in dist/console.
COPY console ./console
COPY scripts/build-console.ts ./scripts/build-console.ts
COPY scripts/console-first-load.ts ./scripts/console-first-load.ts
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production LEXECON_DATA_DIR=/data LEXECON_HOST=0.0.0.0 LEXECON_PORT=8000
RUN groupadd --system --gid 10001 lexecon && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin lexecon && mkdir -p /data && chown 10001:10001 /data && chmod 700 /data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY policies ./policies
USER 10001:10001
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LEXECON_PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
