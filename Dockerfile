# syntax=docker/dockerfile:1
# p2p-node image: multi-stage, Node 24, non-root, read-only root filesystem friendly.
#   /app/p2p-node       the launcher (execs Node with the bundled program)
#   /app/config.yaml    where the config is mounted (ConfigMap)
#   /data               identity, control socket, blobs, ledger (a volume)
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY tsconfig.json p2p-node ./
COPY scripts ./scripts
COPY src ./src
COPY ui ./ui
RUN sh scripts/image-build.sh

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    P2P_CONFIG_PATH=/app/config.yaml \
    P2P_DATA_DIR=/data
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/p2p-node ./p2p-node
RUN mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
EXPOSE 4001 9090
VOLUME ["/data"]
# the launcher execs Node, so Node is PID 1 and gets SIGTERM itself: a graceful stop, then exit 0
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/p2p-node"]
CMD ["start", "--config", "/app/config.yaml"]
