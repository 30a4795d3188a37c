# shellcheck shell=sh
# Prints `/proc/<pid>/environ:CRAFTASTIC_VIEWER=<marker>` for every process marked as a
# viewer's tmux client.
grep -sHoz '^CRAFTASTIC_VIEWER=[0-9a-f]*' /proc/[0-9]*/environ | tr '\0' '\n'
exit 0
