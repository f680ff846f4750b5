# Parley image: compiled JavaScript and production dependencies, on the current Node.js LTS (24), as a non-root user.
# By default one container is one sized PM2 cluster (pm2-runtime with ecosystem.config.js): the instance count
# follows the container's CPU quota (cgroup cpu.max, `--cpus`), memory marks its memory limit (src/capacity/machine.ts).
# For orchestrators that scale containers instead (Kubernetes, deploy/k8s/), run one process:
#   docker run ... parley node dist/main.js
# Both need a real DATABASE_URL and REDIS_URL; production refuses the embedded database.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The postinstall script applies the @socket.io/sticky patch where the @socket.io/pm2 daemon needs it; see .patches/.
COPY .patches ./.patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
# pm2 is a runtime dependency: the image runs the PM2 the tests ran, from node_modules/.bin.
ENV NODE_ENV=production PORT=3000 PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Migrations are read from src/db/migrations at start.
COPY --from=build /app/src/db/migrations ./src/db/migrations
COPY package.json ecosystem.config.js ./
USER node
EXPOSE 3000
# Liveness only: a database outage turns readiness 503, and that must take the container out of the load
# balancer, not get every container killed and restarted at once. Readiness (/health/ready) belongs to the LB.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# pm2-runtime stays in the foreground, forwards SIGTERM/SIGINT to the workers (each drains), and exits with them.
CMD ["pm2-runtime", "ecosystem.config.js", "--env", "production"]
