# Latchkey in a container: the same two commands as on a machine (npm ci builds; npm start serves).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY policies ./policies
COPY static ./static
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 LATCHKEY_DB=/data/latchkey.db LATCHKEY_POLICIES_DIR=/data/policies
COPY --from=build /app /app
VOLUME /data
EXPOSE 3000
CMD ["node", "dist/main.js"]
