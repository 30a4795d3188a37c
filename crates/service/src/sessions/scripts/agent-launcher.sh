# shellcheck shell=bash
# What an agent session's tmux session runs, with the session's private folder under
# $HOME ($1), the CLI's command ($2), the agent type ($3) and a notice line ($4). It sources
# the folder's env file, which holds the credential, starts the CLI if the image has it,
# and stays a login shell afterwards, so the session outlives the CLI. No secret is ever an
# argument here: the command line names only the folder.
dir=$HOME/$1 cli=$2 kind=$3 notice=$4
# The session watcher reads the agent's screen, with the rules of this agent type.
tmux set-option @craftastic_agent "$kind" 2>/dev/null
# The env file is written by the server for this session (see write-private.sh).
# shellcheck source=/dev/null
if [ -r "$dir/env" ]; then . "$dir/env"; fi
if [ -n "$notice" ]; then printf '%s\n\n' "$notice"; fi
if [ -z "$cli" ]; then
    :
elif command -v -- "$cli" >/dev/null 2>&1; then
    "$cli"
    status=$?
    tmux set-option -p @craftastic_activity "exited $EPOCHREALTIME status $status" 2>/dev/null
    printf '\ncraftastic: %s exited (status %s); this shell stays in the session, and %s starts it again.\n' "$cli" "$status" "$cli"
else
    printf 'craftastic: the %s CLI (%s) is not installed in this workspace image, so this session starts a shell instead. Install it in the image (see "Agents" in the README) and start the session again.\n' "$kind" "$cli"
fi
exec -l bash
