# shellcheck shell=sh
# Runs "$@" with the variables sessions get exported (CRAFTASTIC_SESSION_ENV, set in a
# devcontainer workspace's container: one NAME=value a line, remoteEnv and a PATH with the
# image's commands first), as lifecycle commands run in the user's environment.
nl='
'
rest=${CRAFTASTIC_SESSION_ENV-}
while [ -n "$rest" ]; do
    pair=${rest%%"$nl"*}
    if [ "$pair" = "$rest" ]; then rest=; else rest=${rest#*"$nl"}; fi
    case $pair in *=*) export "${pair?}" ;; esac
done
exec "$@"
