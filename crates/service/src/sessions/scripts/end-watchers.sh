# shellcheck shell=sh
# Ends every session watcher in the container (processes marked CRAFTASTIC_WATCHER, see
# watch.sh): at start-up, in containers where the server starts none, those a crashed
# server may have left behind.
grep -lsz '^CRAFTASTIC_WATCHER=' /proc/[0-9]*/environ | while IFS= read -r f; do
    p=${f#/proc/}
    kill "${p%/environ}" 2>/dev/null
done
exit 0
