# The fault sweeper's image (manifests/base/fault-sweeper.yaml):
#   docker build -f platforms/kubernetes/image/sweeper.Dockerfile -t cloudcafe/fault-sweeper .
# Like the service image (platforms/aws/image/service.Dockerfile): the sources run through tsx,
# a runtime dependency of the root package, on the active Node LTS line. The steps below are
# performed in a clean folder, and the CMD run against a real control plane with the sweeper's
# own ServiceAccount token, by chaos/test/drivers/kubernetes.integration.test.ts.
FROM node:24-bookworm-slim
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY platforms/kubernetes ./platforms/kubernetes
RUN npm ci --omit=dev --workspace @cloudcafe/kubernetes-platform --include-workspace-root --no-audit --no-fund
USER node
CMD ["node", "--import", "tsx", "platforms/kubernetes/src/sweeper.ts"]
