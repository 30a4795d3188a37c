# shellcheck shell=bash
# Shared helpers of the run and test commands. Sourced, not run.

if [ -t 2 ]; then
    say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
else
    say() { printf '==> %s\n' "$*" >&2; }
fi
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt_install PACKAGE...: installs the Debian packages that are missing.
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them; install them by hand"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "missing packages ${missing[*]}; install them as root (apt-get install ${missing[*]})"
        sudo=(sudo)
    fi
    say "installing ${missing[*]} with apt-get"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 || true
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" \
            || die "apt-get could not install ${missing[*]}"
    }
}

require_cargo() {
    if ! command -v cargo >/dev/null; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null || die "cargo is not installed; install Rust from https://rustup.rs and run this again"
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

# require_node: Node.js 20 or newer with npm, installed from Debian's packages when missing.
require_node() {
    command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    [ "$major" -ge 20 ] || die "building the web UI needs Node.js 20 or newer (found $(node --version 2>/dev/null || echo none)); install it and run this again"
}

# build_web: installs the web UI's packages when package-lock.json changed, and builds it into
# web/dist, which the craftastic binary serves (embedded in release builds).
build_web() {
    require_node
    if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
        say "installing the web UI's packages (npm ci)"
        (cd web && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in web/"
    fi
    say "building the web UI"
    (cd web && npm run --silent build >/dev/null) || die "building the web UI failed (cd web && npm run build)"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_docker: installs Docker when missing and starts dockerd when no engine answers.
ensure_docker() {
    if [ -n "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1; then
        return 0
    fi
    command -v docker >/dev/null && command -v dockerd >/dev/null || apt_install docker.io
    docker info >/dev/null 2>&1 && return 0
    say "no Docker engine answers: starting dockerd (log: /var/log/craftastic-dockerd.log)"
    as_root sh -c 'nohup dockerd >/var/log/craftastic-dockerd.log 2>&1 &' \
        || die "could not start dockerd; start Docker yourself and run this again"
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    tail -n 5 /var/log/craftastic-dockerd.log >&2 || true
    die "dockerd did not come up in 30 s (see /var/log/craftastic-dockerd.log)"
}

# ensure_sandbox_image CRAFTASTIC_BINARY: builds the sandbox image when it is missing or was
# built from other sandbox files than the binary's, from debian:bookworm-slim when that can be
# pulled, else from a base image made with debootstrap.
ensure_sandbox_image() {
    local bin=$1 image=${SANDBOX_IMAGE:-craftastic/sandbox:latest} base=${SANDBOX_BASE_IMAGE:-}
    local want have
    want=$("$bin" image digest) || die "could not compute the sandbox digest"
    have=$(docker image inspect -f '{{index .Config.Labels "craftastic.sandbox.digest"}}' "$image" 2>/dev/null || true)
    [ "$have" = "$want" ] && return 0
    [ -z "$have" ] || say "the sandbox image $image was built from other sandbox files: building it again"
    if [ -z "$base" ]; then
        base=debian:bookworm-slim
        if ! docker image inspect "$base" >/dev/null 2>&1 && ! timeout 120 docker pull -q "$base" >/dev/null 2>&1; then
            say "no registry answers: building a Debian base image with debootstrap instead"
            scripts/base-image craftastic/base:bookworm
            base=craftastic/base:bookworm
        fi
    fi
    # The image trusts the certificates this machine added to its own trust store, so that
    # npm (and git in workspaces) get through the same TLS-intercepting proxy as the host.
    local extra_ca=() bundle=""
    if [ -z "${SANDBOX_CA_CERTIFICATES:-}" ] && compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        bundle=$(mktemp)
        cat /usr/local/share/ca-certificates/*.crt >"$bundle"
        say "the sandbox image will trust this machine's own CA certificates too (/usr/local/share/ca-certificates)"
        extra_ca=(--ca-certificates "$bundle")
    fi
    say "building the sandbox image $image on $base"
    local built=0
    "$bin" image build --base-image "$base" "${extra_ca[@]}" || built=$?
    [ -z "$bundle" ] || rm -f "$bundle"
    [ "$built" -eq 0 ] || die "building the sandbox image failed"
}

# start_postgres: starts a throwaway PostgreSQL server (fast and unsafe: no fsync) in a
# temporary dir, installing PostgreSQL when missing, and sets PG_URL to its database
# `postgres`. stop_postgres stops it and removes the dir.
start_postgres() {
    local bin initdb
    initdb=$(command -v initdb || ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$initdb" ]; then
        apt_install postgresql
        initdb=$(ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
        [ -n "$initdb" ] || die "PostgreSQL is installed but initdb is not found under /usr/lib/postgresql"
    fi
    bin=$(dirname "$(readlink -f "$initdb")")
    PG_DIR=$(mktemp -d -t craftastic-pg.XXXXXX)
    local port run=()
    port=$(free_port)
    if [ "$(id -u)" -eq 0 ]; then
        # PostgreSQL refuses to run as root.
        id postgres >/dev/null 2>&1 || die "running as root, and there is no postgres user to run PostgreSQL as"
        chown postgres "$PG_DIR"
        run=(runuser -u postgres --)
    fi
    PG_CTL=("${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data")
    say "starting a throwaway PostgreSQL ($("$bin/postgres" --version | awk '{print $3}')) on 127.0.0.1:$port"
    "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" --auth=trust --username=craftastic -E UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    "${PG_CTL[@]}" -l "$PG_DIR/server.log" -w -t 30 \
        -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
        start >/dev/null || { cat "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
    # shellcheck disable=SC2034  # read by the scripts that source this file
    PG_URL="postgres://craftastic@127.0.0.1:$port/postgres"
}

stop_postgres() {
    if [ -n "${PG_DIR:-}" ]; then
        "${PG_CTL[@]}" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}
