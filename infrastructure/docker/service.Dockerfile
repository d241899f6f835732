# One image per service: docker build -f infrastructure/docker/service.Dockerfile --build-arg SERVICE=order .
FROM node:20-bookworm-slim
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build arg SERVICE is required (order, inventory, payment, menu, loyalty, analytics)" && false)
ENV SERVICE=$SERVICE NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
COPY services ./services
RUN npm ci --omit=dev --workspace "@cloudcafe/$SERVICE" --include-workspace-root --no-audit --no-fund
COPY infrastructure/docker/entrypoint.sh /usr/local/bin/cloudcafe-entrypoint
USER node
ENTRYPOINT ["/usr/local/bin/cloudcafe-entrypoint"]
CMD ["sh", "-c", "exec node --import tsx services/$SERVICE/src/server.ts"]
