#!/usr/bin/env bash
# Runs the AMQP 0-9-1 benchmark scenarios (cmd/amqpbench) against mqgate and
# then against RabbitMQ on the same machine, each broker alone on loopback on
# a free port with a temporary data directory, and prints both results and
# their ratios: the median of ROUNDS runs of each scenario. RabbitMQ is
# Debian's rabbitmq-server (apt-get install rabbitmq-server); without it only
# mqgate is measured.
#
#   protocols/amqp/bench/compare.sh            # 3 rounds of 200000 messages per scenario
#   N=500000 ROUNDS=5 protocols/amqp/bench/compare.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."

N="${N:-200000}"
ROUNDS="${ROUNDS:-3}"
RABBIT="${RABBIT:-/usr/lib/rabbitmq/bin/rabbitmq-server}"
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# free_port prints a TCP port nothing listens on.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

# wait_port waits until something listens on port $1, for up to $2 seconds.
wait_port() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $1 after $2s" >&2
    return 1
}

go build -o "$work/mqgate" ./cmd/mqgate
go build -o "$work/amqpbench" ./cmd/amqpbench

echo "# $(nproc) CPUs, $(go version | cut -d' ' -f3), median of $ROUNDS rounds of $N messages of 100 octets per scenario"

# mqgate, durable store, AMQP door only.
port="$(free_port)"
mkdir -p "$work/mqgate-data"
cat >"$work/mqgate.yaml" <<EOF
data_dir: $work/mqgate-data
storage: durable
log_level: warn
listeners:
  amqp: {enabled: true, addr: "127.0.0.1:$port"}
  mqtt: {enabled: false}
  stomp: {enabled: false}
  web_stomp: {enabled: false}
  web_mqtt: {enabled: false}
  http_api: {enabled: false}
  management: {enabled: false}
EOF
"$work/mqgate" --config "$work/mqgate.yaml" 2>"$work/mqgate.log" &
mq=$!
pids+=("$mq")
wait_port "$port" 30
bench() { # url out
    local i
    for ((i = 0; i < ROUNDS; i++)); do "$work/amqpbench" -url "$1" -n "$N" >>"$2"; done
}
bench "amqp://guest:guest@127.0.0.1:$port/" "$work/mqgate.tsv"
kill "$mq"
wait "$mq" 2>/dev/null || true

have_rabbit=0
if [[ -x $RABBIT ]]; then
    rport="$(free_port)"
    rdir="$work/rabbit"
    mkdir -p "$rdir"
    printf 'listeners.tcp.1 = 127.0.0.1:%s\n' "$rport" >"$rdir/rabbitmq.conf"
    echo '[].' >"$rdir/enabled_plugins"
    eport="$(free_port)"
    (
        export HOME="$rdir" RABBITMQ_NODENAME="bench$$@localhost" RABBITMQ_NODE_PORT="$rport" \
            RABBITMQ_DIST_PORT="$(free_port)" ERL_EPMD_PORT="$eport" \
            RABBITMQ_MNESIA_BASE="$rdir/mnesia" RABBITMQ_LOG_BASE="$rdir/log" \
            RABBITMQ_CONFIG_FILE="$rdir/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$rdir/enabled_plugins" \
            RABBITMQ_PID_FILE="$rdir/pid"
        exec "$RABBIT" >"$rdir/out.log" 2>&1
    ) &
    rb=$!
    pids+=("$rb")
    if wait_port "$rport" 120; then
        bench "amqp://guest:guest@127.0.0.1:$rport/" "$work/rabbit.tsv"
        have_rabbit=1
        echo "# RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo '?')"
    else
        tail -20 "$rdir/out.log" >&2
    fi
    # SIGTERM makes RabbitMQ's script stop the node gracefully; then the
    # Erlang port mapper it started on our port goes too.
    kill "$rb" 2>/dev/null || true
    wait "$rb" 2>/dev/null || true
    ERL_EPMD_PORT="$eport" epmd -kill >/dev/null 2>&1 || true
else
    echo "# $RABBIT not found: install Debian's rabbitmq-server to compare; mqgate only"
fi

# medians FILE prints, per scenario, the median messages, msg/s, p50 and
# p99 of its rounds (tab-separated, like amqpbench's lines).
medians() {
    local sc col
    for sc in $(cut -f1 "$1" | sort -u); do
        printf '%s' "$sc"
        for col in 2 3 4 5; do
            printf '\t%s' "$(awk -F'\t' -v s="$sc" -v c="$col" '$1 == s { print $c }' "$1" | sort -n |
                awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
        done
        printf '\n'
    done
}

if ((have_rabbit)); then
    printf '%-36s %12s %12s %7s %10s %10s %10s %10s\n' scenario "mqgate msg/s" "rabbit msg/s" ratio \
        "mqgate p50" "rabbit p50" "mqgate p99" "rabbit p99"
    join -t $'\t' <(medians "$work/mqgate.tsv") <(medians "$work/rabbit.tsv") |
        awk -F'\t' '{ printf "%-36s %12d %12d %6.2fx %8dus %8dus %8dus %8dus\n", $1, $3, $7, $3 / $7, $4, $8, $5, $9 }'
else
    printf '%-36s %12s %10s %10s\n' scenario "msg/s" "p50" "p99"
    medians "$work/mqgate.tsv" | awk -F'\t' '{ printf "%-36s %12d %8dus %8dus\n", $1, $3, $4, $5 }'
fi
