# syntax=docker/dockerfile:1
# btcpipe image: every service (`ingest --mode sbe|rest`, `aggregate`, `sim`) runs from the default target
# (`runtime`); the `lambda` target wraps the same build for AWS Lambda (dist/lambda/*-handler.handler).
#   docker build -t btcpipe .                        # runtime
#   docker build --target lambda -t btcpipe-lambda .
ARG NODE_MAJOR=20

# 1. Build: all dependencies (TypeScript is a dev dependency), then compile src/ to dist/.
FROM node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: `prepare` would compile before the sources are here; the build step below does it.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only.
FROM node:${NODE_MAJOR}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Lambda: the AWS base image (runtime interface client included); the handler is set per function.
FROM public.ecr.aws/lambda/nodejs:${NODE_MAJOR} AS lambda
COPY --from=deps /app/node_modules ${LAMBDA_TASK_ROOT}/node_modules
COPY --from=build /app/dist ${LAMBDA_TASK_ROOT}/dist
COPY package.json ${LAMBDA_TASK_ROOT}/
COPY config ${LAMBDA_TASK_ROOT}/config
ENV CONFIG_FILE=${LAMBDA_TASK_ROOT}/config/aws.yaml
CMD ["dist/lambda/kinesis-handler.handler"]

# 4. Runtime (default): production dependencies, compiled code, configs; runs as the unprivileged `node` user.
FROM node:${NODE_MAJOR}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root config ./config
# The dashboard's page and script, read from the source tree next to dist/.
COPY --chown=root:root src/dashboard/public ./src/dashboard/public
COPY --chown=root:root deploy/docker/healthcheck.mjs ./healthcheck.mjs
# The lake's folder backend (compose) writes under /app/data (a volume there starts with this owner);
# everything else stays read-only to the app.
RUN mkdir -p /app/data/lake && chown -R node:node /app/data
USER node
# health / Prometheus: ingest sbe 8080/9090, ingest rest 8081/9092, aggregate 8082/9091; simulator 8090 (REST),
# 9443 (SBE); dashboard 8088
EXPOSE 8080 8081 8082 8088 8090 9090 9091 9092 9443
# HEALTH_PORT selects the service's health port (default 8080, the SBE ingestor's).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
ENTRYPOINT ["node", "/app/bin/btcpipe.js"]
CMD ["--help"]
