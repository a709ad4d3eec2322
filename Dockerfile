# carebridge: one stateless process; PostgreSQL through DATABASE_URL (see compose.yaml),
# or the embedded PGlite database under /data when DATABASE_URL is unset.
FROM node:22-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/data

# Dependencies first, so a source change does not reinstall them. The runtime needs no
# dev dependency (esbuild, which compiles the TypeScript sources as they load, and tsx,
# which runs the CLI, are runtime dependencies).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Sources stay owned by root: the node user can read them but not change them.
COPY . .

RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

USER node
EXPOSE 8080

# The image has no curl: ask node itself. /readyz answers 200 once the database is reachable.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["npm", "start"]
