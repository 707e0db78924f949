import json, re, sys
t = open(sys.argv[1]).read()
m = re.search(r"^RESULT (.*)$", t, re.M)
if not m:
    print(sys.argv[1], "NO RESULT"); sys.exit()
r = json.loads(m[1])
b = [int(x) for x in re.search(r"cpu_ticks_before app=(\d+) db=(\d+)", t).groups()]
a = [int(x) for x in re.search(r"cpu_ticks_after app=(\d+) db=(\d+)", t).groups()]
load = re.search(r"loadavg_before_run (\S+)", t)[1]
print(f"{sys.argv[1].rsplit('/', 1)[1]:34} load {load:>5} {r['rps']:7.0f} req/s p99 {r['p99_ms']:7.1f} ms bad {r['non2xx']} "
      f"app {10*(a[0]-b[0])/r['requests']:.2f} db {10*(a[1]-b[1])/r['requests']:.2f} ms/req", flush=True)
