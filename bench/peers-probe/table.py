import json, re, glob, collections, sys
rows = collections.defaultdict(dict)
for f in glob.glob(sys.argv[1] + '/results/r*-*-c*.txt'):
    m = re.match(r'.*/r(\d)-(before|after|after-tc|fastapi)-(patch|list)-c(\d+)\.txt', f)
    if not m: continue
    t = open(f).read()
    r = json.loads(re.search(r"^RESULT (.*)$", t, re.M)[1])
    b = [int(x) for x in re.search(r"cpu_ticks_before app=(\d+) db=(\d+)", t).groups()]
    a = [int(x) for x in re.search(r"cpu_ticks_after app=(\d+) db=(\d+)", t).groups()]
    load = float(re.search(r"loadavg_before_run (\S+)", t)[1])
    rows[(m[3], int(m[4]), int(m[1]))][m[2]] = dict(rps=r['rps'], p99=r['p99_ms'], app=10*(a[0]-b[0])/r['requests'], db=10*(a[1]-b[1])/r['requests'], bad=r['non2xx']+r['connect_errors']+r['read_errors']+r['write_errors']+r['timeouts'], load=load)
print("| scenario | conns | round | server | req/s | p99 ms | app ms | db ms | load |")
print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
for key in sorted(rows, key=lambda k: (k[0] != 'patch', -k[1], k[2])):
    for v in ['before', 'after-tc', 'after', 'fastapi']:
        if v in rows[key]:
            x = rows[key][v]
            print(f"| {key[0]} | {key[1]} | {key[2]} | {v} | {x['rps']:.0f} | {x['p99']:.0f} | {x['app']:.2f} | {x['db']:.2f} | {x['load']:.0f} |" + (" ERR" if x['bad'] else ""))
print()
print("| scenario | conns | round | after/before req/s | after/FastAPI req/s | after/FastAPI p99 | app ms: before, after, FastAPI | app+db ms: after, FastAPI |")
print("|---|---:|---:|---:|---:|---:|---|---|")
for key in sorted(rows, key=lambda k: (k[0] != 'patch', -k[1], k[2])):
    d = rows[key]
    if not all(v in d for v in ['before','after','fastapi']): continue
    b, a, f = d['before'], d['after'], d['fastapi']
    print(f"| {key[0]} | {key[1]} | {key[2]} | {a['rps']/b['rps']:.2f} | **{a['rps']/f['rps']:.2f}** | {a['p99']/f['p99']:.2f} | {b['app']:.2f}, {a['app']:.2f}, {f['app']:.2f} | {a['app']+a['db']:.2f}, {f['app']+f['db']:.2f} |")
