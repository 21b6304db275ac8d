# RabbitMQ as an ordinary process under a temporary directory, for the relay checks and
# the benchmark. Source it; it defines:
#
#   rabbit_start DIR   start a node (STOMP on $RABBIT_STOMP_PORT, web-stomp on
#                      $RABBIT_WS_PORT) with its own epmd, config, database and logs in DIR;
#                      waits (bounded by $RABBIT_START_TIMEOUT, default 60 s) for the STOMP
#                      port; sets RABBIT_PID and EPMD_PID. Returns non-zero on failure.
#   rabbit_stop        stops the node by its PID (TERM, then KILL after 15 s), then epmd.
#   rabbit_restart     stops and starts the node again on the same ports and database.
#
# Safe under `set -e`. Ports come from $RABBIT_STOMP_PORT, $RABBIT_WS_PORT, $RABBIT_AMQP_PORT,
# $RABBIT_DIST_PORT, $RABBIT_EPMD_PORT (free ones are picked if unset). Nothing is
# installed or started system-wide; the node name is rfc6455-stomp-<pid>@localhost.

RABBIT_SERVER="${RABBIT_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}"
RABBIT_PID=""
EPMD_PID=""

_rabbit_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_rabbit_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

rabbit_start() {
    RABBIT_DIR="$1"
    mkdir -p "$RABBIT_DIR"
    : "${RABBIT_STOMP_PORT:=$(_rabbit_free_port)}"
    : "${RABBIT_WS_PORT:=$(_rabbit_free_port)}"
    : "${RABBIT_AMQP_PORT:=$(_rabbit_free_port)}"
    : "${RABBIT_DIST_PORT:=$(_rabbit_free_port)}"
    : "${RABBIT_EPMD_PORT:=$(_rabbit_free_port)}"
    export RABBIT_STOMP_PORT RABBIT_WS_PORT RABBIT_AMQP_PORT RABBIT_DIST_PORT RABBIT_EPMD_PORT
    cat >"$RABBIT_DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$RABBIT_AMQP_PORT
stomp.listeners.tcp.1 = 127.0.0.1:$RABBIT_STOMP_PORT
web_stomp.tcp.port = $RABBIT_WS_PORT
web_stomp.tcp.ip = 127.0.0.1
loopback_users = none
log.console = true
log.console.level = warning
log.file = false
CONF
    echo '[rabbitmq_stomp,rabbitmq_web_stomp].' >"$RABBIT_DIR/enabled_plugins"
    if [ -z "$EPMD_PID" ] || ! kill -0 "$EPMD_PID" 2>/dev/null; then
        # Our own epmd in the foreground, so that it is ours to stop (a node would
        # otherwise start a daemon that outlives it).
        setsid epmd -port "$RABBIT_EPMD_PORT" -address 127.0.0.1 >"$RABBIT_DIR/epmd.log" 2>&1 </dev/null &
        EPMD_PID=$!
    fi
    (
        export HOME="$RABBIT_DIR" # the Erlang cookie lives here
        export RABBITMQ_NODENAME="rfc6455-stomp-$$@localhost"
        export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
        export RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT" ERL_EPMD_PORT="$RABBIT_EPMD_PORT"
        export RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia" RABBITMQ_LOG_BASE="$RABBIT_DIR/log"
        export RABBITMQ_CONFIG_FILE="$RABBIT_DIR/rabbitmq.conf"
        export RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins"
        export RABBITMQ_PID_FILE="$RABBIT_DIR/rabbitmq.pid"
        exec setsid "$RABBIT_SERVER"
    ) >>"$RABBIT_DIR/rabbitmq.log" 2>&1 </dev/null &
    RABBIT_PID=$!
    local deadline=$((SECONDS + ${RABBIT_START_TIMEOUT:-60}))
    # web-stomp comes up after the STOMP listener: wait for both.
    until _rabbit_listening "$RABBIT_STOMP_PORT" && _rabbit_listening "$RABBIT_WS_PORT"; do
        if ! kill -0 "$RABBIT_PID" 2>/dev/null; then
            echo "rabbitmq-server exited; last log lines:" >&2
            tail -n 30 "$RABBIT_DIR/rabbitmq.log" >&2
            RABBIT_PID=""
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "rabbitmq-server did not listen within ${RABBIT_START_TIMEOUT:-60}s" >&2
            tail -n 30 "$RABBIT_DIR/rabbitmq.log" >&2
            return 1
        fi
        sleep 0.2
    done
}

_rabbit_stop_node() {
    [ -n "$RABBIT_PID" ] || return 0
    # setsid made the node's shell wrapper a group leader: TERM the group (the wrapper and
    # beam.smp), by the PID we recorded.
    kill -TERM -- "-$RABBIT_PID" 2>/dev/null || kill -TERM "$RABBIT_PID" 2>/dev/null || true
    local i
    for i in $(seq 150); do
        kill -0 "$RABBIT_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$RABBIT_PID" 2>/dev/null; then
        echo "rabbitmq-server (pid $RABBIT_PID) ignored TERM for 15 s; KILL" >&2
        kill -KILL -- "-$RABBIT_PID" 2>/dev/null || kill -KILL "$RABBIT_PID" 2>/dev/null || true
    fi
    wait "$RABBIT_PID" 2>/dev/null || true
    RABBIT_PID=""
}

rabbit_stop() {
    _rabbit_stop_node
    if [ -n "$EPMD_PID" ]; then
        kill -TERM -- "-$EPMD_PID" 2>/dev/null || kill -TERM "$EPMD_PID" 2>/dev/null || true
        wait "$EPMD_PID" 2>/dev/null || true
        EPMD_PID=""
    fi
}

rabbit_restart() {
    _rabbit_stop_node
    rabbit_start "$RABBIT_DIR"
}
