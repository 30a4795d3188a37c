# shellcheck shell=sh
# Sends SIGKILL to every process whose environment holds CRAFTASTIC_EXEC=$1 (the marker of
# an exec that outlived its deadline), except this script itself; it works on stopped
# processes too.
for d in /proc/[0-9]*; do
    [ "${d#/proc/}" = "$$" ] && continue
    if tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -qx "CRAFTASTIC_EXEC=$1"; then
        kill -9 "${d#/proc/}" 2>/dev/null
    fi
done
exit 0
