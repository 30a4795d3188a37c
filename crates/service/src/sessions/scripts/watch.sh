# shellcheck shell=bash
# The session watcher of a container: one long-lived process that looks at the container's
# tmux sessions every $3 seconds (1 by default) and prints a report when what it saw
# changed, at least every $1 seconds, and at once whenever the server writes a line to its
# standard input. Each report is
#     report<TAB>TOKEN
#     s<TAB>NAME          one line a tmux session (none when no tmux server runs)
#     p<TAB>NAME<TAB>PANE<TAB>DEAD<TAB>OUTPUT<TAB>AGENT<TAB>COMMAND<TAB>HOOK
#                         one line a pane: its id, whether its process ended (1 or 0),
#                         when its window last printed (seconds since the epoch), the agent
#                         type its launcher set (- for none), its foreground command, and
#                         what the agent's hooks last wrote on it (@craftastic_activity)
#     screen<TAB>NAME     the screen of an agent's pane, when it changed since the last
#     |LINE                 report: each line after a |, then
#     endscreen
#     end<TAB>TOKEN
# with a line `unknown` instead of the sessions when tmux could not be asked (no process
# left to fork, say), so that a failure is never taken for sessions that ended. A line may
# get more fields, and a report more kinds of lines; the server ignores what it does not
# know. The last two fields of a pane come from programs of the container and may hold
# anything; they mislead nothing but their own session. TOKEN is the last number the server
# wrote to standard input ($2 at first), so the server can tell a report begun after it
# wrote it.
#
# When it starts, it records the tmux sessions of the server's naming (cs-…) that run
# unrecorded, such as those that ran before the server started: `record`, defined before
# this script (see record.sh), with the limit $4 and the recorder $5. It looks every $3
# seconds (1 by default).
#
# It ends when its standard input ends: the engine closes it when the server drops the
# exec or goes away. Its environment carries CRAFTASTIC_WATCHER; it ends every other
# process marked so in the container first (a watcher left by a server that crashed, or
# that the server gave up on), so that a container has one watcher at a time.
period=$1 token=$2 tick=${3:-1} limit=${4:-0} recorder=${5:-}
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
declare -A screens
last='' sent=-1000000
while :; do
    # tmux prints nothing on standard error when it lists the sessions, and one of these
    # two sentences when no tmux server runs (its socket is missing, or left by a server
    # that ended); anything else, or no tmux at all, leaves the sessions unknown.
    if listed=$(tmux list-sessions -F $'s\t#{session_name}' \; list-panes -a -F \
        $'p\t#{session_name}\t#{pane_id}\t#{pane_dead}\t#{window_activity}\t#{?@craftastic_agent,#{@craftastic_agent},-}\t#{pane_current_command}\t#{@craftastic_activity}' 2>&1); then
        :
    else
        case $listed in
        'no server running on '* | 'error connecting to '*' (No such file or directory)') listed= ;;
        *) listed=unknown ;;
        esac
    fi
    shots=
    seen=()
    # The fields read here come first and are never empty (tabs between empty fields would
    # run together).
    while IFS=$'\t' read -r kind name pane dead _ agent _; do
        if [ "$kind" != p ] || [ "$dead" != 0 ] || [ "$agent" = - ] || [ "${pane#%}" = "$pane" ]; then
            continue
        fi
        seen+=("$pane")
        screen=$(tmux capture-pane -p -t "$pane" 2>/dev/null) || continue
        [ "${screens[$pane]-}" = "$screen" ] && continue
        screens[$pane]=$screen
        shots+=$'screen\t'"$name"$'\n|'"${screen//$'\n'/$'\n'|}"$'\nendscreen\n'
    done <<<"$listed"
    # Forget the screens of panes that are gone.
    for pane in "${!screens[@]}"; do
        case " ${seen[*]} " in *" $pane "*) ;; *) unset "screens[$pane]" ;; esac
    done
    if [ -n "$shots" ] || [ "$token$listed" != "$last" ] || [ $((SECONDS - sent)) -ge "$period" ]; then
        printf 'report\t%s\n' "$token"
        [ -z "$listed" ] || printf '%s\n' "$listed"
        printf '%s' "$shots"
        printf 'end\t%s\n' "$token"
        last=$token$listed sent=$SECONDS
    fi
    read -r -t "$tick" line
    status=$?
    if [ "$status" -eq 0 ]; then
        case $line in '' | *[!0-9]*) ;; *) token=$line ;; esac
    elif [ "$status" -le 128 ]; then
        exit 0
    fi
done
