# shellcheck shell=sh
# Hangs up the processes carrying any of the markers "$@" (CRAFTASTIC_VIEWER=<marker>): one
# grep over every process's environment for all of them, so that it stays cheap in a
# container running hundreds of processes (the patterns of one -e, separated by newlines,
# are each a fixed string), and one kill for all it found.
#
# HUP, not KILL: a client hung up tells its tmux server it is leaving, and the server lets
# go of the client's terminal before the client exits. A killed client exits first, and
# Docker then waits up to 2 s for that exec's streams, one exec after another in each
# container: killing 100 clients at once held up the execs started there meanwhile for up
# to a minute.
patterns=
for m; do patterns="$patterns
CRAFTASTIC_VIEWER=$m"; done
pids=$(grep -lsxzF -e "${patterns#?}" /proc/[0-9]*/environ |
    sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p')
# shellcheck disable=SC2086 # one word per pid
[ -z "$pids" ] || kill -HUP $pids 2>/dev/null
exit 0
