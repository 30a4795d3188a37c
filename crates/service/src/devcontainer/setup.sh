# shellcheck shell=sh
# Makes an image ready for Craftastic, as root while the thin layer on top of a
# devcontainer's image is built (with Craftastic's own shell: the image may have none):
# the workspace user $3 (remoteUser; when empty, whoever has uid $1, else a new user `dev`)
# gets uid $1 and gid $2, which own the repositories, as the devcontainer CLI's
# updateRemoteUserUID does; it gets a home and a shell; /workspace is theirs; tmux gets
# Craftastic's configuration unless the image has one, and a UTF-8 locale (glibc's C.UTF-8,
# where the image has none).
# shellcheck disable=SC2016 # awk programs
set -eu
PATH=/opt/craftastic/bin
uid=$1 gid=$2 user=${3-}
[ -d /tmp ] || mkdir -m 1777 /tmp
mkdir -p /etc
touch /etc/passwd /etc/group
# edit FILE AWK-ARGS…: FILE rewritten by awk, in place (the same file, its mode kept).
edit() {
    file=$1
    shift
    awk "$@" "$file" >/tmp/craftastic-setup.$$
    cat /tmp/craftastic-setup.$$ >"$file"
    rm -f /tmp/craftastic-setup.$$
}
if [ -n "$user" ]; then
    grep -q "^$user:" /etc/passwd || {
        echo "remoteUser $user is not a user of the image (it has no line in /etc/passwd)" >&2
        exit 3
    }
    old_uid=$(awk -F: -v u="$user" '$1 == u { print $3; exit }' /etc/passwd)
    edit /etc/passwd -F: -v OFS=: -v u="$user" -v uid="$uid" -v gid="$gid" \
        '$1 == u { $3 = uid; $4 = gid } { print }'
    home=$(awk -F: -v u="$user" '$1 == u { print $6; exit }' /etc/passwd)
    if [ "$old_uid" != "$uid" ] && [ -d "$home" ] && [ "$home" != / ]; then
        chown -R "$uid:$gid" "$home"
    fi
elif ! awk -F: -v uid="$uid" '$3 == uid { found = 1 } END { exit !found }' /etc/passwd; then
    user=dev
    echo "dev:x:$uid:$gid:Craftastic workspace user:/home/dev:/bin/sh" >>/etc/passwd
else
    user=$(awk -F: -v uid="$uid" '$3 == uid { print $1; exit }' /etc/passwd)
fi
awk -F: -v gid="$gid" '$3 == gid { found = 1 } END { exit !found }' /etc/group ||
    echo "$user:x:$gid:" >>/etc/group
# A login shell the image has, else Craftastic's bash.
shell=$(awk -F: -v u="$user" '$1 == u { print $7; exit }' /etc/passwd)
case $shell in
    */nologin | */false | "") shell=/opt/craftastic/bin/bash ;;
    *) [ -x "$shell" ] || shell=/opt/craftastic/bin/bash ;;
esac
[ "$shell" != /bin/sh ] || [ ! -x /bin/bash ] || shell=/bin/bash
[ "$shell" != /bin/sh ] || [ -e /bin/sh ] || shell=/opt/craftastic/bin/bash
edit /etc/passwd -F: -v OFS=: -v u="$user" -v shell="$shell" \
    '$1 == u { $7 = shell } { print }'
home=$(awk -F: -v u="$user" '$1 == u { print $6; exit }' /etc/passwd)
case $home in "" | /) ;; *)
    mkdir -p "$home"
    chown "$uid:$gid" "$home"
    ;;
esac
mkdir -p /workspace /data/repos /data/worktrees
chown "$uid:$gid" /workspace
[ -e /etc/tmux.conf ] || cp /opt/craftastic/etc/tmux.conf /etc/tmux.conf
if [ ! -e /usr/lib/locale/C.utf8 ] && [ ! -e /usr/lib/locale/C.UTF-8 ]; then
    mkdir -p /usr/lib/locale
    cp -R /opt/craftastic/lib/locale/C.utf8 /usr/lib/locale/
fi
echo "workspace user: $user (uid $uid, gid $gid), shell $shell, home ${home:-/}"
