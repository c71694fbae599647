#!/usr/bin/env bash
# Fuzzes every parser of user input (scenario TOML/JSON, units and gate conditions, --set,
# result.json) with cargo-fuzz (libFuzzer). Runs on the stable toolchain without a sanitizer
# (-s none; RUSTC_BOOTSTRAP lets cargo-fuzz pass its flags); a panic is a finding.
#
#   bash scripts/fuzz.sh            # 90 s per target
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh
#
# Seeds are in fuzz/seeds/<target>; the growing corpus goes to fuzz/corpus/<target> (ignored by
# git); a crashing input lands in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-90}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for t in scenario units set_override result_json engine_reply; do
  mkdir -p "fuzz/corpus/$t"
  echo "== $t ($seconds s)"
  log="fuzz/corpus/$t.log"
  status=0
  cargo fuzz run -s none -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -max_len=4096 >"$log" 2>&1 || status=$?
  grep -E "Done [0-9]+ runs|DONE|ERROR|panicked|crash-" "$log" | tail -2 || true
  if [ "$status" != 0 ]; then
    echo "error: fuzzing $t failed (exit $status): a finding is in fuzz/artifacts/$t/, the log in $log" >&2
    exit 1
  fi
done
