# One image per service: docker build -f platforms/aws/image/service.Dockerfile --build-arg SERVICE=order .
# Node 24, the active LTS line (Node 20 reached its end of life in April 2026). The services run
# from their TypeScript sources through tsx, which is a runtime dependency of the root package
# for that reason, so `npm ci --omit=dev` installs everything the CMD needs. The steps below are
# performed in a clean folder, and the service started and asked for its health, by
# platforms/aws/test/image.integration.test.ts (no Docker engine needed).
FROM node:24-bookworm-slim
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build arg SERVICE is required (order, inventory, payment, menu, loyalty, analytics)" && false)
ENV SERVICE=$SERVICE NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
RUN npm ci --omit=dev --workspace "@cloudcafe/$SERVICE" --include-workspace-root --no-audit --no-fund
COPY platforms/aws/image/entrypoint.sh /usr/local/bin/cloudcafe-entrypoint
USER node
ENTRYPOINT ["/usr/local/bin/cloudcafe-entrypoint"]
CMD ["sh", "-c", "exec node --import tsx services/$SERVICE/src/server.ts"]
