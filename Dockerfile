# Latchkey in a container. Build stage: `npm ci` (which builds dist/), then the dev dependencies go.
# Runtime stage: the built app only, run as the unprivileged `node` user, with a health check on /readyz.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles against Node's headers when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY policies ./policies
COPY static ./static
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 LATCHKEY_DB=/data/latchkey.db LATCHKEY_POLICIES_DIR=/data/policies
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json /app/package-lock.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/migrations ./migrations
COPY --from=build --chown=root:root /app/policies ./policies
COPY --from=build --chown=root:root /app/static ./static
# The app's files belong to root and are read-only to it; only /data (database, policies) is writable.
RUN mkdir -p /data/policies && chown -R node:node /data
USER node
VOLUME /data
EXPOSE 3000
# Ready = the database answers, the schema is current, policies are loaded (see README "Running several instances").
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
