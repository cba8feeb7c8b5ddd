# syntax=docker/dockerfile:1
#
# decoyd container image.
#
# Build:  docker build -t decoyd .
# Run:    docker run --rm --network host -v "$PWD/my.yaml:/etc/decoyd/decoyd.yaml:ro" \
#           decoyd run --config /etc/decoyd/decoyd.yaml --interface eth0
#
# How capture works without root: decoyd runs as the unprivileged user `node`. The node binary
# carries the file capability cap_net_raw (set below with setcap), which is all libpcap needs to
# open an AF_PACKET socket, capture (including promiscuous mode via PACKET_ADD_MEMBERSHIP) and
# inject frames. Requirements at run time:
#   - --network host, so decoyd sees and answers on the real LAN interface;
#   - CAP_NET_RAW must stay in the container's bounding set (it is in Docker's default set: do not
#     --cap-drop NET_RAW or ALL); nothing else is needed, NET_ADMIN included;
#   - do not run with --security-opt no-new-privileges: it makes the kernel ignore file capabilities.
# The capability is deliberately only cap_net_raw: a file with an effective capability outside the
# container's bounding set (e.g. cap_net_admin without --cap-add NET_ADMIN) would make every exec
# of node fail with EPERM. As the only program in this image is decoyd, node holding NET_RAW grants
# nothing beyond what decoyd itself needs.
# Alternative without file capabilities: run as root (--user 0) and pass `--user node` to
# `decoyd run`, which drops root once the capture handle is open.

# ---- build stage: compile the pcap addon and the TypeScript, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap-dev build-essential python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY daemon ./daemon
# npm run build also compiles the Honeyd subsystem helpers (C, daemon/native/) into dist/native/.
COPY scripts/build-native.sh ./scripts/build-native.sh
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime stage: Debian bookworm-slim with Node 20, libpcap and nmap's data files ----
FROM node:20-bookworm-slim
# libpcap0.8: the shared library the pcap addon links to. nmap-common: /usr/share/nmap/nmap-os-db
# and nmap-mac-prefixes, which decoyd reads at run time. libcap2-bin only for setcap, then removed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 nmap-common libcap2-bin \
 && setcap cap_net_raw+ep "$(readlink -f /usr/local/bin/node)" \
 && getcap "$(readlink -f /usr/local/bin/node)" | grep -q cap_net_raw \
 && apt-get purge -y libcap2-bin \
 && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/decoyd
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/daemon ./dist/daemon
# Subsystem shim and launcher; subsystems need decoyd to run as root (see README "Subsystems").
COPY --from=build /src/dist/native ./dist/native
COPY bin ./bin
COPY configs ./configs
COPY personalities ./personalities
ENV NODE_ENV=production
# `node` (uid 1000) comes with the base image.
USER node
ENTRYPOINT ["node", "/opt/decoyd/dist/daemon/src/cli/main.js"]
CMD ["run", "--config", "/opt/decoyd/configs/example.yaml"]
