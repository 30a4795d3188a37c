# shellcheck shell=bash
# The session watcher of a container: one long-lived process that reports the container's
# tmux sessions every $1 seconds, and at once whenever the server writes a line to its
# standard input. Each report is
#     report<TAB>TOKEN
#     s<TAB>NAME          one line a tmux session (none when no tmux server runs)
#     end<TAB>TOKEN
# with a line `unknown` instead of the sessions when tmux could not be asked (no process
# left to fork, say), so that a failure is never taken for sessions that ended. A session line may get more fields after its name,
# and a report more kinds of lines; the server ignores what it does not know. TOKEN is the
# last number the server wrote to standard input ($2 at first), so the server can tell a
# report begun after it wrote it.
#
# When it starts, it records the tmux sessions of the server's naming (cs-…) that run
# unrecorded, such as those that ran before the server started: `record`, defined before
# this script (see record.sh), with the limit $3 and the recorder $4.
#
# It ends when its standard input ends: the engine closes it when the server drops the
# exec or goes away. Its environment carries CRAFTASTIC_WATCHER; it ends every other
# process marked so in the container first (a watcher left by a server that crashed, or
# that the server gave up on), so that a container has one watcher at a time.
period=$1 token=$2 limit=${3:-0} recorder=${4:-}
grep -sHoz '^CRAFTASTIC_WATCHER=[0-9a-f]*' /proc/[0-9]*/environ | tr '\0' '\n' |
    while IFS= read -r found; do
        [ "${found#*:}" = "CRAFTASTIC_WATCHER=$CRAFTASTIC_WATCHER" ] && continue
        pid=${found#/proc/}
        kill "${pid%%/*}" 2>/dev/null
    done
if [ -n "$recorder" ]; then
    tmux list-sessions -F '#{session_name}' 2>/dev/null | while IFS= read -r name; do
        case $name in cs-*) record "$name" "$limit" "$recorder" ;; esac
    done
fi
while :; do
    printf 'report\t%s\n' "$token"
    # tmux prints nothing on standard error when it lists the sessions, and one of these
    # two sentences when no tmux server runs (its socket is missing, or left by a server
    # that ended); anything else, or no tmux at all, leaves the sessions unknown.
    if sessions=$(tmux list-sessions -F $'s\t#{session_name}' 2>&1); then
        [ -z "$sessions" ] || printf '%s\n' "$sessions"
    else
        case $sessions in
        'no server running on '* | 'error connecting to '*' (No such file or directory)') ;;
        *) printf 'unknown\n' ;;
        esac
    fi
    printf 'end\t%s\n' "$token"
    read -r -t "$period" line
    status=$?
    if [ "$status" -eq 0 ]; then
        case $line in '' | *[!0-9]*) ;; *) token=$line ;; esac
    elif [ "$status" -le 128 ]; then
        exit 0
    fi
done
