# shellcheck shell=sh
# Redraws the screen of the tmux client carrying the marker $1 (CRAFTASTIC_VIEWER=$1), for all
# the viewers that share it: tmux names its clients by terminal, and the marker is in the
# client's environment.
tmux list-clients -F '#{client_pid} #{client_tty}' 2>/dev/null |
    while read -r pid tty; do
        if grep -qsxzF "CRAFTASTIC_VIEWER=$1" "/proc/$pid/environ"; then
            tmux refresh-client -t "$tty"
        fi
    done
exit 0
