# shellcheck shell=bash
# What an agent session's tmux session runs, with the session's private folder under
# $HOME ($1), the CLI's command ($2), the agent type ($3), a notice line ($4), the CLI's
# arguments that continue its last conversation ($5) and the patterns of the files it
# keeps its conversations in ($6, absolute, space-separated). It sources the folder's env
# file, which holds the credential, starts the CLI if the image has it (with $5 when a
# file matches $6, so that a first start starts afresh), and stays a login shell
# afterwards, so the session outlives the CLI. No secret is ever an argument here: the
# command line names only folders. $7 and $8, when $7 is not empty, are an option and its
# value given to the CLI first: they set its hooks to call craftastic-hook. $9, when not
# empty, is the session's variables file under $HOME (the environment's variables, written
# by start.sh): it is read and removed before the env file, so that the agent's own
# variables win over a variable of the environment of the same name.
dir=$HOME/$1 cli=$2 kind=$3 notice=$4 resume=$5 history=$6 variables=${9:-}
hooks=()
if [ -n "${7:-}" ]; then hooks=("$7" "${8:-}"); fi
# The session watcher reads the agent's screen, with the rules of this agent type.
tmux set-option @craftastic_agent "$kind" 2>/dev/null
if [ -n "$variables" ]; then
    # shellcheck source=/dev/null
    if [ -r "$HOME/$variables" ]; then . "$HOME/$variables"; fi
    rm -f -- "$HOME/$variables"
fi
# The env file is written by the server for this session (see write-private.sh).
# shellcheck source=/dev/null
if [ -r "$dir/env" ]; then . "$dir/env"; fi
if [ -n "$notice" ]; then printf '%s\n\n' "$notice"; fi
args=()
if [ -n "$resume" ]; then
    # The patterns are the server's, made of the session's folder and fixed names.
    # shellcheck disable=SC2086
    for file in $history; do
        if [ -e "$file" ]; then
            read -r -a args <<<"$resume"
            printf 'craftastic: continuing the last conversation of this session (%s %s).\n\n' "$cli" "$resume"
            break
        fi
    done
fi
if [ -z "$cli" ]; then
    :
elif command -v -- "$cli" >/dev/null 2>&1; then
    "$cli" "${hooks[@]}" "${args[@]}"
    status=$?
    tmux set-option -p @craftastic_activity "exited $EPOCHREALTIME status $status" 2>/dev/null
    printf '
craftastic: %s exited (status %s); this shell stays in the session, and %s starts it again.
' "$cli" "$status" "$cli"
else
    printf 'craftastic: the %s CLI (%s) is not installed in this workspace image, so this session starts a shell instead. Install it in the image (see "Agents" in the README) and start the session again.\n' "$kind" "$cli"
fi
exec -l bash
