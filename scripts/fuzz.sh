#!/usr/bin/env bash
# Coverage-guided fuzzing of Coffre's parsers with SharpFuzz and AFL++ (docs/fuzzing.md).
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]     default: all targets, 60 s each
#
# Builds fuzz/Coffre.Fuzz, instruments Coffre's assemblies with sharpfuzz (a copy, under fuzz/.work), runs afl-fuzz
# on each target for SECONDS from its seed corpus fuzz/corpus/<target>/, copies every crash or hang input to
# fuzz/findings/<target>/ (replacing the previous run's), prints one line per target and "fuzz: N targets, C crashes, H hangs", and exits non-zero
# when anything was found. FUZZ_JOBS (default 2) targets run at a time. Needs afl-fuzz (Debian: afl++).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-all}
seconds=${2:-60}
jobs=${FUZZ_JOBS:-2}
work=fuzz/.work
bin=$work/bin

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++ (or run .ci/install-test-deps.sh as root)" >&2; exit 1; }

dotnet tool restore >/dev/null
rm -rf "$bin"
dotnet build fuzz/Coffre.Fuzz -c Release --nologo -v quiet -clp:ErrorsOnly
mkdir -p "$work"
cp -r fuzz/Coffre.Fuzz/bin/Release/net10.0 "$bin"   # instrumented apart: the replay tests use the plain build
# Coverage comes from Coffre's own code: the parsers and what they call.
for assembly in Coffre.Crypto Coffre.Kms Coffre.Server; do
    dotnet tool run sharpfuzz "$bin/$assembly.dll" >/dev/null
done

if [[ $target == all ]]; then
    mapfile -t targets < <(dotnet "$bin/coffre-fuzz.dll" list)
else
    targets=("$target")
fi

# AFL++ drives dotnet, which is not AFL-instrumented itself (SharpFuzz reports coverage); as root without a
# core_pattern change; no screen; several fuzzers on a busy machine without pinning a core each.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export AFL_FORKSRV_INIT_TMOUT=120000   # .NET start-up and JIT on a loaded machine
export DOTNET_TieredPGO=0              # steadier timings between executions

fuzz_one() {
    local t=$1 out=$work/out/$1
    rm -rf "$out" "fuzz/findings/$t"   # findings are those of the latest run
    mkdir -p "$out"
    # -t: one input takes milliseconds, so 5 s means a hang, not a slow machine; except that a seal may ask for up
    # to SealOptions.MaximumIterations of PBKDF2 (seconds, bounded), so sealed-root's hang is beyond that.
    local timeout=5000
    [[ $t == sealed-root ]] && timeout=30000
    local dict=()
    [[ -f fuzz/dict/$t.dict ]] && dict=(-x "fuzz/dict/$t.dict")   # the tokens the parser looks for
    afl-fuzz -i "fuzz/corpus/$t" -o "$out" "${dict[@]}" -t "$timeout" -m none -V "$seconds" -- dotnet "$bin/coffre-fuzz.dll" fuzz "$t" \
        >"$out/afl.log" 2>&1 || { echo "$t: afl-fuzz failed, see $out/afl.log" >&2; tail -20 "$out/afl.log" >&2; return 1; }
}

pids=()
for t in "${targets[@]}"; do
    [[ -d fuzz/corpus/$t ]] || { echo "no seed corpus fuzz/corpus/$t" >&2; exit 1; }
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
    fuzz_one "$t" &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done

crashes=0 hangs=0
for t in "${targets[@]}"; do
    stats=$work/out/$t/default/fuzzer_stats
    [[ -f $stats ]] || continue   # afl-fuzz failed to start: counted above
    stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
    c=$(stat saved_crashes) h=$(stat saved_hangs)
    crashes=$((crashes + c)) hangs=$((hangs + h))
    echo "$t: $(( $(stat last_update) - $(stat start_time) )) s, $(stat execs_done) executions, $(stat corpus_count) inputs in corpus, $(stat bitmap_cvg) coverage, $c crashes, $h hangs"
    for kind in crashes hangs; do
        for f in "$work/out/$t/default/$kind"/id:*; do
            [[ -e $f ]] || continue
            mkdir -p "fuzz/findings/$t"
            cp "$f" "fuzz/findings/$t/$kind-$(sha1sum "$f" | cut -c1-12)"
        done
    done
done
echo "fuzz: ${#targets[@]} targets, $crashes crashes, $hangs hangs, $failed failed to run"
((crashes == 0 && hangs == 0 && failed == 0))
