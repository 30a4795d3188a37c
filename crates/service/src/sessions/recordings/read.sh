# shellcheck shell=sh
# Prints the recording of the tmux session $1 (see recorder.sh), at most $2 bytes of it and
# the newest ones: `cur`, then the numbered segments from the newest, as long as each fits
# whole (of `cur`, which is not compressed, its end fits). Each part goes out oldest first
# as a line `part NAME LENGTH` and LENGTH bytes. Files are opened without following links
# or waiting on a pipe, and only regular files are read. Exits 3 when there is no
# recording folder.
# shellcheck disable=SC2016
exec perl -e '
use strict;
use warnings;
use Fcntl qw(:mode O_RDONLY O_NOFOLLOW O_NONBLOCK SEEK_SET);

my ($name, $budget) = @ARGV;
exit 2 unless defined $budget && $name =~ /\A[A-Za-z0-9_-]{1,64}\z/ && $budget =~ /\A[0-9]{1,12}\z/;
$0 = "craftastic-recording-reader $name";
my $dir = "$ENV{HOME}/.craftastic/recordings/$name";
my @st = lstat $dir;
exit 3 unless @st && S_ISDIR($st[2]);
opendir(my $d, $dir) or exit 3;
my @segments = sort { $b <=> $a } map { /\A([0-9]{1,12})\.gz\z/ ? $1 : () } readdir $d;
closedir $d;

my (@parts, $used);
$used = 0;
for my $file ("cur", map { "$_.gz" } @segments) {
    my $left = $budget - $used;
    last if $left <= 0;
    sysopen(my $fh, "$dir/$file", O_RDONLY | O_NOFOLLOW | O_NONBLOCK) or next;
    my @fst = stat $fh;
    next unless @fst && S_ISREG($fst[2]);
    my $want = $fst[7];
    if ($want > $left) {
        last if $file ne "cur";
        sysseek($fh, $want - $left, SEEK_SET) or next;
        $want = $left;
    }
    my $data = "";
    while (length($data) < $want) {
        my $n = sysread($fh, $data, $want - length($data), length($data));
        last unless $n;
    }
    unshift @parts, [$file, $data];
    $used += length $data;
}
binmode STDOUT;
print "part $_->[0] ", length($_->[1]), "\n", $_->[1] for @parts;
' -- "$@"
