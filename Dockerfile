# otel-audit services: one image, the command picks the role (start | collector | export-service | setup).
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles where no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY contract/package.json contract/
COPY spool/package.json spool/
COPY instrumentation/package.json instrumentation/
COPY store/package.json store/
COPY collector/package.json collector/
COPY exporter-service/package.json exporter-service/
COPY cli/package.json cli/
COPY cli/bin cli/bin
RUN npm ci --no-audit --no-fund
COPY contract contract
COPY spool spool
COPY instrumentation instrumentation
COPY store store
COPY collector collector
COPY exporter-service exporter-service
COPY cli cli
COPY dashboards dashboards
COPY examples examples
# The packages and the web viewer (exporter-service/dist/web); production dependencies only in the image that runs.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production AUDIT_DATA_DIR=/data AUDIT_COLLECTOR_HOST=0.0.0.0 AUDIT_EXPORT_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4317 4318 8080
# One image, several roles: each says which health URL is its own (compose sets it).
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD node -e "fetch(process.env.AUDIT_HEALTHCHECK_URL || 'http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "cli/bin/otel-audit.js"]
CMD ["start"]
