#!/usr/bin/env bash
# GPU smoke test for `mlscale run` on a machine with NVIDIA GPUs.
#
# It builds mlscale with cgo, benchmarks one NVML sample of all GPUs, then
# runs `mlscale run --gpu nvml` for DURATION seconds (default 60) on a profile
# that scales on GPU utilisation, with a dummy worker (python3; it loads its
# GPU with matmuls for LOAD_SECONDS when PyTorch is installed). Every 10 s it
# prints what NVML reported and what was decided (from /metrics), then the
# decision log, and checks that the GPU series exist and are in range.
#
# Without NVML it stops after the first step with a clear message and exit
# code 4 (mlscale run's "no GPU telemetry" code).
#
#   hack/gpu-smoke.sh            # 60 s
#   DURATION=20 hack/gpu-smoke.sh
#   GPU=fake:2 DURATION=20 hack/gpu-smoke.sh   # the script itself, on simulated GPUs
set -u
DURATION=${DURATION:-60}
LOAD_SECONDS=${LOAD_SECONDS:-25}
PORT=${PORT:-19464}
GPU=${GPU:-nvml}
cd "$(dirname "$0")/.." || exit 1
work=$(mktemp -d)
runpid=
cleanup() {
	if [ -n "$runpid" ] && kill -0 "$runpid" 2>/dev/null; then
		kill -TERM "$runpid" 2>/dev/null
		wait "$runpid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

export CGO_ENABLED=1 CGO_CFLAGS="${CGO_CFLAGS:--O2 -g -Wno-deprecated-declarations}"
echo "== build (cgo)"
go build -o "$work/mlscale" ./cmd/mlscale || { echo "FAIL: build"; exit 1; }

if command -v nvidia-smi >/dev/null 2>&1; then
	echo "== nvidia-smi -L"
	nvidia-smi -L
fi

cat >"$work/profile.yaml" <<'YAML'
apiVersion: mlscale.dev/v1alpha1
kind: WorkloadProfile
metadata: {name: gpu-smoke, namespace: default}
spec:
  container:
    image: local/gpu-smoke:dev
    ports: {http: 8080}
    readinessPath: /ready
  resources:
    requests: {cpu: "1", memory: 1Gi}
    gpu: {count: 1}
  serving: {concurrency: 1, serviceTime: 1s}
  scaling:
    mode: hpa
    replicas: {min: 1, max: 2}
    metrics:
      gpuUtilization: {target: 50}
YAML

echo "== probe NVML (mlscale run --gpu "$GPU" --dry-run)"
"$work/mlscale" run -f "$work/profile.yaml" --gpu "$GPU" --dry-run --duration 1s --listen "" -- true >"$work/probe.out" 2>"$work/probe.err"
rc=$?
if [ "$rc" -eq 4 ]; then
	echo "NO GPU: NVML is not available on this machine, so there is nothing to smoke-test here."
	sed 's/^/  /' "$work/probe.err"
	exit 4
fi
if [ "$rc" -ne 0 ]; then
	echo "FAIL: probe exited $rc"
	cat "$work/probe.err"
	exit 1
fi
sed -n '1,20p' "$work/probe.err" | grep -E 'mlscale run:|GPU ' | sed 's/^/  /'

echo "== NVML sample of all GPUs (goal: < 5 ms)"
go test -run XXX -bench BenchmarkRealNVML -benchtime 200x ./internal/gpu/nvmlsource | grep -E 'Benchmark|SKIP|FAIL'

cat >"$work/worker.py" <<'PY'
import http.server, os, threading, time
load = int(os.environ.get("LOAD_SECONDS", "0"))
def burn():
    try:
        import torch
    except Exception as e:
        print("no torch (%s): the worker stays idle on its GPU" % e, flush=True)
        return
    if not torch.cuda.is_available():
        print("torch sees no CUDA device", flush=True)
        return
    a = torch.randn(4096, 4096, device="cuda")
    end = time.time() + load
    while time.time() < end:
        (a @ a).sum().item()
    print("load done", flush=True)
threading.Thread(target=burn, daemon=True).start()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/ready":
            body = b"ok\n"
        elif self.path == "/metrics":
            body = b"# TYPE inference_queue_depth gauge\ninference_queue_depth 0\n"
        else:
            self.send_response(404); self.end_headers(); return
        self.send_response(200); self.end_headers(); self.wfile.write(body)
print("worker on port", os.environ["PORT"], "CUDA_VISIBLE_DEVICES=" + os.environ.get("CUDA_VISIBLE_DEVICES", ""), flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
PY

echo "== mlscale run for ${DURATION}s (sync 5 s)"
LOAD_SECONDS=$LOAD_SECONDS "$work/mlscale" run -f "$work/profile.yaml" --gpu "$GPU" --duration "${DURATION}s" \
	--sync-period 5s --tick 1s --listen "127.0.0.1:$PORT" --explain -- python3 "$work/worker.py" \
	>"$work/run.out" 2>"$work/run.log" &
runpid=$!
ok_util=0
for t in $(seq 10 10 $((DURATION - 1))); do
	sleep 10
	kill -0 "$runpid" 2>/dev/null || break
	echo "-- t=${t}s"
	curl -fsS "http://127.0.0.1:$PORT/metrics" >"$work/metrics.txt" 2>/dev/null || { echo "  /metrics not answering"; continue; }
	grep -E '^mlscale_(gpu_utilization|gpu_fb_used|gpu_power_usage|gpu_temp|gpu_processes|gpu_lost|desired_replicas|spec_replicas|ready_replicas|metric_value)' "$work/metrics.txt" |
		sed -E 's/GPU_I_ID="",GPU_I_PROFILE="",//; s/,modelName="[^"]*",pci_bus_id="[^"]*"//' | sed 's/^/  /'
	if awk '/^mlscale_gpu_utilization\{/ { if ($NF < 0 || $NF > 100) bad=1; n++ } END { exit !(n > 0 && !bad) }' "$work/metrics.txt"; then
		ok_util=1
	fi
done
wait "$runpid"
rc=$?
runpid=
echo "== decisions and worker events"
grep -E 'mlscale run:|  GPU |scale |hpa:|worker |SuccessfulRescale|Failed|Warning' "$work/run.log" | sed 's/^/  /' | head -80
echo "== summary"
cat "$work/run.out"
if [ "$rc" -ne 0 ]; then
	echo "FAIL: mlscale run exited $rc"
	tail -20 "$work/run.log"
	exit 1
fi
if [ "$ok_util" -ne 1 ]; then
	echo "FAIL: no mlscale_gpu_utilization series in [0,100] was exported"
	exit 1
fi
echo "PASS"
