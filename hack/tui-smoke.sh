#!/usr/bin/env bash
# hack/tui-smoke.sh: the TUI smoke check. Builds mlscale (or uses
# $MLSCALE_BIN), starts `mlscale replay` on the bundled run in a private
# tmux server (120x40), sends keys, captures the pane after each, asserts
# what must be on screen, quits with q and checks the exit status and that
# the alternate screen was left. Needs tmux (Debian package tmux).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run=$root/internal/cli/testdata/watch/flapping.json
work=$(mktemp -d)
T=(tmux -S "$work/tmux.sock")
s=mlscale-smoke
cleanup() { "${T[@]}" kill-server >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

command -v tmux >/dev/null || { echo "tui-smoke: tmux is not installed" >&2; exit 2; }
bin=${MLSCALE_BIN:-}
if [ -z "$bin" ]; then
	(cd "$root" && go build -o "$work/mlscale" ./cmd/mlscale)
	bin=$work/mlscale
fi

"${T[@]}" -f /dev/null new-session -d -s "$s" -x 120 -y 40 \
	"env TERM=xterm-256color '$bin' replay '$run'; echo EXIT=\$?; sleep 60"

pane() { "${T[@]}" capture-pane -p -t "$s"; }
step() { echo "tui-smoke: $*"; }
wait_for() {
	for _ in $(seq 1 100); do
		if pane | grep -qF -- "$1"; then return 0; fi
		sleep 0.1
	done
	echo "tui-smoke: FAIL: \"$1\" not on screen; the pane:" >&2
	pane >&2
	exit 1
}
keys() { "${T[@]}" send-keys -t "$s" "$@"; }

step "starts";                 wait_for "mlscale replay"; wait_for "edge"; wait_for "REPLICAS~"
step "n jumps to a scaling event"; keys n; wait_for "scaling event at"
step "b jumps to an SLO breach";   keys b; wait_for "SLO BREACH"
step "step forward";           keys Right; wait_for "paused"
step "enter opens the detail"; keys Enter; wait_for "Decisions so far"
step "esc goes back";          keys Escape; wait_for "REPLICAS~"
step "? shows the help";       keys '?'; wait_for "next SLO breach"
step "any key closes it";      keys x; wait_for "REPLICAS~"
step "/ filters";              keys / e d g; wait_for "/edg"; keys Enter; wait_for 'filter "edg": 1 of 1'
step "space plays";            keys Space; wait_for "playing"
step "q quits";                keys q; wait_for "EXIT=0"
if pane | grep -qF "REPLICAS~"; then
	echo "tui-smoke: FAIL: the table is still on screen after quitting (alternate screen not left)" >&2
	pane >&2
	exit 1
fi
echo "tui-smoke: ok: mlscale replay started, navigated and quit cleanly"
