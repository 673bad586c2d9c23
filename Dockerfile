# otel-audit services: one image, the command picks the role (start | collector | export-service).
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles where no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY contract/package.json contract/
COPY instrumentation/package.json instrumentation/
COPY store/package.json store/
COPY collector/package.json collector/
COPY exporter-service/package.json exporter-service/
COPY cli/package.json cli/
COPY cli/bin cli/bin
RUN npm ci --no-audit --no-fund
COPY contract contract
COPY instrumentation instrumentation
COPY store store
COPY collector collector
COPY exporter-service exporter-service
COPY cli cli
RUN npx tsc -b && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production AUDIT_DATA_DIR=/data AUDIT_COLLECTOR_HOST=0.0.0.0 AUDIT_EXPORT_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4318 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD node -e "Promise.all([4318,8080].map(p=>fetch('http://127.0.0.1:'+p+'/healthz'))).then(r=>process.exit(r.every(x=>x.ok)?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "cli/bin/otel-audit.js"]
CMD ["start"]
