# Parley image: compiled JavaScript and production dependencies only. Run it with a real DATABASE_URL and REDIS_URL;
# the embedded database is for development and production refuses to start without DATABASE_URL.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Applied by the postinstall script (patch-package); see .patches/.
COPY .patches ./.patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Migrations are read from src/db/migrations at start.
COPY --from=build /app/src/db/migrations ./src/db/migrations
COPY package.json ecosystem.config.js* ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
