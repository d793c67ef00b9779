#!/usr/bin/env bash
# Fails if the book points at something that does not exist.
#
# mdbook 0.5.4 only logs an error for an {{#include}} whose file is missing
# and exits 0; for a missing anchor it silently includes nothing. So this
# script checks, for every chapter under book/src:
#   - each {{#include FILE}} / {{#include FILE:ANCHOR}} / {{#rustdoc_include ...}}:
#     FILE exists, and ANCHOR has both an `ANCHOR: name` and an
#     `ANCHOR_END: name` line with something between them, and an anchor in
#     examples/ does not start inside a function (the listing would keep its
#     indent);
#   - each `cargo run --example NAME` names a file examples/NAME.rs;
#   - each `cargo test --test NAME` names a file tests/NAME.rs.
# Usage: book/check.sh   (from anywhere; exit status 1 lists every problem)
set -euo pipefail
cd "$(dirname "$0")"

perl -e '
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Find;

my @chapters;
find(sub { push @chapters, $File::Find::name if /\.md$/ }, "src");
my ($problems, $includes) = (0, 0);
sub problem { print STDERR "book/$_[0]: $_[1]\n"; $problems++; }

for my $md (sort @chapters) {
    open my $fh, "<", $md or die "$md: $!";
    my $text = do { local $/; <$fh> };
    close $fh;
    my $dir = dirname($md);
    # An escaped \{{#include}} is shown, not expanded: skip it.
    while ($text =~ /(?<!\\)\{\{#(?:include|rustdoc_include)\s+([^}\s]+)\s*\}\}/g) {
        my $target = $1;
        $includes++;
        my ($file, $rest) = split /:/, $target, 2;
        my $path = "$dir/$file";
        if (!-f $path) { problem($md, "missing file $file (for {{#include $target}})"); next; }
        next if !defined $rest || $rest =~ /^[0-9:]*$/;    # whole file or a line range
        open my $in, "<", $path or die "$path: $!";
        my @lines = <$in>;
        close $in;
        my ($start) = grep { $lines[$_] =~ /ANCHOR:\s*\Q$rest\E\b/ } 0 .. $#lines;
        my ($end) = grep { $lines[$_] =~ /ANCHOR_END:\s*\Q$rest\E\b/ } 0 .. $#lines;
        if (!defined $start) { problem($md, "no `ANCHOR: $rest` in $file"); next; }
        if (!defined $end) { problem($md, "no `ANCHOR_END: $rest` in $file"); next; }
        problem($md, "anchor $rest in $file is empty") if $end <= $start + 1;
        # A listing cut from inside a function would show its indent: anchor
        # the whole item (all of an example `fn main`) instead.
        if ($file =~ m{(^|/)examples/}) {
            my @body = grep { /\S/ } @lines[$start + 1 .. $end - 1];
            my ($indent) = sort { $a <=> $b } map { /^( *)/; length $1 } @body;
            problem($md, "anchor $rest in $file is indented by $indent spaces; anchor the enclosing item")
                if @body && $indent > 0;
        }
    }
    while ($text =~ /cargo run (?:-q |--quiet |--release )*--example ([A-Za-z0-9_]+)/g) {
        problem($md, "no examples/$1.rs (for `cargo run --example $1`)") unless -f "../examples/$1.rs";
    }
    while ($text =~ /cargo test (?:-q |--quiet |--release )*--test ([A-Za-z0-9_]+)/g) {
        problem($md, "no tests/$1.rs (for `cargo test --test $1`)") unless -f "../tests/$1.rs";
    }
}
print STDERR "book/check.sh: $problems problem(s) in ", scalar(@chapters), " chapters, $includes includes\n";
exit($problems ? 1 : 0);
'
