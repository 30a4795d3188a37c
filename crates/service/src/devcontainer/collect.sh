# shellcheck shell=sh
# Gathers Craftastic's own tools from the sandbox image (where it runs, as the sandbox
# user) into the layout they get in every devcontainer workspace, /opt/craftastic, and
# prints it as a tar on standard output: the programs the server's scripts and sessions
# call (bin/), those that need a wrapper (libexec/: git finds its helpers and perl its
# modules there, tmux always speaks UTF-8), every shared library they load and the
# dynamic loader (lib/), perl's core modules, git's helpers, terminfo entries and the tmux
# configuration. The server then points each program at lib/ (patchelf), so that none of
# them loads anything of the image it runs in.
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
root=$out/opt/craftastic
mkdir -p "$root/bin" "$root/libexec" "$root/lib/git-core" "$root/lib/perl-base" \
    "$root/share/terminfo" "$root/etc"

for c in dash bash gzip grep sed find xargs tr cat mkdir mv rm rmdir chmod chown cut head tail \
    sort uniq id env dirname basename date stat ls sleep timeout du wc touch ln cp readlink \
    realpath true false test kill ps pgrep pkill nohup setsid tee mawk jq uname mktemp od \
    base64 nproc expr seq tac printf whoami less; do
    [ -e "/usr/bin/$c" ] && cp -L "/usr/bin/$c" "$root/bin/$c"
done
ln -s dash "$root/bin/sh"
ln -s mawk "$root/bin/awk"
ln -s test "$root/bin/["
for c in tmux git perl; do cp -L "/usr/bin/$c" "$root/libexec/$c"; done

# git's builtins run inside git itself (their names in git-core lead to git); the helpers
# that are other programs or scripts (git-remote-https, git-submodule, …) come along.
for f in /usr/lib/git-core/*; do
    if [ -L "$f" ]; then
        [ "$(readlink "$f")" = git ] || cp -P "$f" "$root/lib/git-core/"
    elif [ -f "$f" ] && [ "${f##*/}" != git ]; then
        cp "$f" "$root/lib/git-core/"
    fi
done
cp -a /usr/lib/x86_64-linux-gnu/perl-base/. "$root/lib/perl-base/"
# The recorder's clock, from perl's larger module set.
for hires in /usr/lib/x86_64-linux-gnu/perl/5.*/Time/HiRes.pm; do
    [ -f "$hires" ] || continue
    lib=${hires%/Time/HiRes.pm}
    mkdir -p "$root/lib/perl-base/Time" "$root/lib/perl-base/auto/Time"
    cp "$hires" "$root/lib/perl-base/Time/"
    cp -a "$lib/auto/Time/HiRes" "$root/lib/perl-base/auto/Time/"
    break
done

w() {
    printf '#!/opt/craftastic/bin/sh\n%s\n' "$2" >"$root/bin/$1"
    chmod 755 "$root/bin/$1"
}
w git 'exec /opt/craftastic/libexec/git --exec-path=/opt/craftastic/lib/git-core "$@"'
w perl 'exec /opt/craftastic/libexec/perl -I/opt/craftastic/lib/perl-base "$@"'
w tmux 'exec /opt/craftastic/libexec/tmux -u "$@"'
# git runs "git" from its helpers' folder first.
cp "$root/bin/git" "$root/lib/git-core/git"
sed '1s|^#!/bin/sh|#!/opt/craftastic/bin/sh|' /usr/local/bin/craftastic-hook >"$root/bin/craftastic-hook"
chmod 755 "$root/bin/craftastic-hook"

for t in /lib/terminfo/* /usr/share/terminfo/t /usr/share/terminfo/s; do
    [ -d "$t" ] && cp -a "$t" "$root/share/terminfo/"
done
cp /etc/tmux.conf "$root/etc/tmux.conf"
# tmux needs a UTF-8 locale; images without one get glibc's C.UTF-8 (see setup.sh).
mkdir -p "$root/lib/locale"
cp -a /usr/lib/locale/C.utf8 "$root/lib/locale/"

# Every library any of these programs loads, and the loader itself.
find "$root" -type f | while read -r f; do
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    ldd "$f" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'
done | sort -u | while read -r lib; do
    cp -L "$lib" "$root/lib/$(basename "$lib")"
done
[ -e "$root/lib/ld-linux-x86-64.so.2" ] || {
    echo "the dynamic loader /lib64/ld-linux-x86-64.so.2 was not found: only x86-64 sandbox images are supported" >&2
    exit 3
}
tar -C "$out" -cf - opt
